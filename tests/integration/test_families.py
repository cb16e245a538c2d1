"""test_families.py - barge run, one happy path per model family, on the
built-in simulator: outputs in input order, native modelOutput shapes,
manifest counts and tokens that agree with the records."""
import json
import os

from lib import *


def run_family(d, model, inputs, extra=(), config=None):
    inp = write_jsonl(os.path.join(d, "in.jsonl"), inputs)
    out = os.path.join(d, "out")
    args = ["run", inp, "--model", model, "--output", out, "--state", os.path.join(d, "st"),
            "--json"] + list(extra)
    if config:
        args += ["--config", config]
    r = barge(*args)
    assert r.rc == 0, r
    summary = r.json()
    assert summary["status"] == "Completed", summary
    lines = read_jsonl(os.path.join(job_dir(out), "in.jsonl.out"))
    assert_exactly_once(lines, [x["recordId"] for x in inputs])
    m = manifest(out)
    assert m["totalRecordCount"] == len(inputs)
    assert m["processedRecordCount"] == len(inputs)
    assert m["successRecordCount"] == len(inputs)
    assert m["errorRecordCount"] == 0
    for k in ("totalRecordCount", "successRecordCount", "inputTokenCount", "outputTokenCount"):
        assert summary[k] == m[k], (k, summary, m)
    return lines, m


def test_anthropic_messages(d):
    recs = claude_records(300)
    recs[5]["modelInput"]["system"] = "You are terse."
    recs[6]["modelInput"]["messages"] = [
        {"role": "user", "content": [{"type": "text", "text": "Part one."}]},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "Part two."}]
    lines, m = run_family(d, HAIKU, recs)
    ins = outs = 0
    for l in lines:
        o = l["modelOutput"]
        assert o["type"] == "message" and o["role"] == "assistant"
        assert o["content"][0]["type"] == "text"
        assert o["content"][0]["text"].startswith("[simulated]")
        assert o["stop_reason"] in ("end_turn", "max_tokens")
        assert o["usage"]["output_tokens"] <= 64
        ins += o["usage"]["input_tokens"]
        outs += o["usage"]["output_tokens"]
    assert m["inputTokenCount"] == ins and m["outputTokenCount"] == outs
    # Prices of the built-in catalog: batch is half of on-demand.
    c = m["cost"]
    assert abs(c["onDemandCost"] - (ins * 0.0008 + outs * 0.004) / 1000) < 1e-6
    assert abs(c["batchCost"] * 2 - c["onDemandCost"]) < 2e-6


def test_llama(d):
    recs = [{"recordId": "L%d" % i, "modelInput": {
        "prompt": "<|begin_of_text|>Classify item %d" % i, "max_gen_len": 32,
        "temperature": 0.2}} for i in range(100)]
    lines, m = run_family(d, LLAMA, recs)
    ins = outs = 0
    for l in lines:
        o = l["modelOutput"]
        assert o["generation"].startswith("[simulated]")
        assert o["stop_reason"] in ("stop", "length")
        assert o["generation_token_count"] <= 32
        ins += o["prompt_token_count"]
        outs += o["generation_token_count"]
    assert (m["inputTokenCount"], m["outputTokenCount"]) == (ins, outs)


def test_mistral(d):
    recs = [{"recordId": "M%d" % i, "modelInput": {
        "prompt": "<s>[INST] Translate sentence %d [/INST]" % i, "max_tokens": 40,
        "stop": ["\n\n"], "top_k": 20}} for i in range(100)]
    lines, m = run_family(d, MISTRAL, recs)
    for l in lines:
        o = l["modelOutput"]
        assert o["outputs"][0]["text"].startswith("[simulated]")
        assert o["outputs"][0]["stop_reason"] in ("stop", "length")
    # Mistral bodies carry no token counts: the manifest still has them.
    assert m["inputTokenCount"] > 0 and m["outputTokenCount"] > 0


def test_titan_text(d):
    recs = [{"recordId": "T%d" % i, "modelInput": {
        "inputText": "Write a product blurb for item %d" % i,
        "textGenerationConfig": {"maxTokenCount": 50, "temperature": 0.5}}} for i in range(50)]
    lines, m = run_family(d, TITAN, recs)
    outs = 0
    for l in lines:
        o = l["modelOutput"]
        assert o["results"][0]["outputText"].startswith("[simulated]")
        assert o["results"][0]["completionReason"] in ("FINISH", "LENGTH")
        assert o["inputTextTokenCount"] > 0
        outs += o["results"][0]["tokenCount"]
    assert m["outputTokenCount"] == outs


def test_nova(d):
    recs = [{"recordId": "N%d" % i, "modelInput": {
        "schemaVersion": "messages-v1", "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": "Question %d" % i}]}],
        "inferenceConfig": {"maxTokens": 30, "temperature": 0.3}}} for i in range(50)]
    lines, m = run_family(d, NOVA, recs)
    ins = 0
    for l in lines:
        o = l["modelOutput"]
        assert o["output"]["message"]["role"] == "assistant"
        assert o["output"]["message"]["content"][0]["text"].startswith("[simulated]")
        assert o["stopReason"] in ("end_turn", "max_tokens")
        u = o["usage"]
        assert u["totalTokens"] == u["inputTokens"] + u["outputTokens"]
        ins += u["inputTokens"]
    assert m["inputTokenCount"] == ins


def test_converse(d):
    recs = [{"recordId": "C%d" % i, "modelInput": {
        "messages": [{"role": "user", "content": [{"text": "Question %d" % i}]}],
        "inferenceConfig": {"maxTokens": 30}}} for i in range(50)]
    lines, m = run_family(d, NOVA, recs, extra=["--invocation-type", "Converse"])
    for l in lines:
        o = l["modelOutput"]
        assert o["output"]["message"]["content"][0]["text"].startswith("[simulated]")
        assert "latencyMs" in o["metrics"]


def test_titan_embed(d):
    recs = [{"recordId": "E%d" % i, "modelInput": {"inputText": "embed me %d" % i,
                                                   "dimensions": 256, "normalize": True}}
            for i in range(50)]
    lines, m = run_family(d, EMBED, recs)
    for l in lines:
        v = l["modelOutput"]["embedding"]
        assert len(v) == 256
        assert abs(sum(x * x for x in v) - 1.0) < 1e-3
        assert l["modelOutput"]["inputTextTokenCount"] > 0
    assert m["outputTokenCount"] == 0


OPENAI_CONFIG = """
[model.local-chat]
family = openai-chat
backend = sim
upstream_model = my-chat
input_price_per_1k = 0.001
output_price_per_1k = 0.002

[model.local-complete]
family = openai-completions
backend = sim

[model.local-embed]
family = openai-embeddings
backend = sim
"""


def test_openai_chat(d):
    cfg = write_config(os.path.join(d, "c.ini"), OPENAI_CONFIG)
    recs = [{"recordId": "O%d" % i, "modelInput": {
        "model": "ignored", "messages": [{"role": "system", "content": "Be short."},
                                          {"role": "user", "content": "Hi %d" % i}],
        "max_tokens": 20}} for i in range(50)]
    lines, m = run_family(d, "local-chat", recs, config=cfg)
    for l in lines:
        o = l["modelOutput"]
        assert o["object"] == "chat.completion"
        assert o["model"] == "my-chat"
        assert o["choices"][0]["message"]["content"].startswith("[simulated]")
    assert m["cost"]["inputPricePer1kTokens"] == 0.001


def test_openai_completions_and_embeddings(d):
    cfg = write_config(os.path.join(d, "c.ini"), OPENAI_CONFIG)
    recs = [{"recordId": "P%d" % i, "modelInput": {"prompt": "Once upon %d" % i,
                                                   "max_tokens": 10}} for i in range(20)]
    lines, _ = run_family(d, "local-complete", recs, config=cfg)
    assert all(l["modelOutput"]["choices"][0]["text"].startswith("[simulated]") for l in lines)
    d2 = os.path.join(d, "emb")
    os.mkdir(d2)
    recs = [{"recordId": "V%d" % i, "modelInput": {"input": "vector %d" % i, "dimensions": 64}}
            for i in range(20)]
    lines, _ = run_family(d2, "local-embed", recs, config=cfg)
    assert all(len(l["modelOutput"]["data"][0]["embedding"]) == 64 for l in lines)


def test_deterministic_outputs(d):
    """The simulator's answers depend only on the request and the seed."""
    recs = claude_records(20)
    a, _ = run_family(os.path.join(d), HAIKU, recs)
    d2 = os.path.join(d, "again")
    os.mkdir(d2)
    b, _ = run_family(d2, HAIKU, recs)
    assert [x["modelOutput"]["content"] for x in a] == [x["modelOutput"]["content"] for x in b]
