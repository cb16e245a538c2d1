"""test_estimate.py - barge estimate and barge models: the worked examples of
reference/pricing.md to the cent, estimates from files, and the catalog."""
import json
import os

from lib import *


def test_worked_example_summarization():
    r = barge("estimate", "--model", SONNET, "--records", 50000, "--input-tokens", 2000,
              "--output-tokens", 500, "--json")
    assert r.rc == 0, r
    c = r.json()["cost"]
    assert (c["onDemandInputCost"], c["onDemandOutputCost"], c["onDemandCost"]) == (300, 375, 675)
    assert (c["batchInputCost"], c["batchOutputCost"], c["batchCost"]) == (150, 187.5, 337.5)
    t = barge("estimate", "--model", SONNET, "--records", 50000, "--input-tokens", 2000,
              "--output-tokens", 500)
    assert "$675.00" in t.out and "$337.50" in t.out and "(50%)" in t.out, t.out


def test_worked_example_weekly_reports():
    r = barge("estimate", "--model", SONNET, "--records", 10000, "--input-tokens", 5000,
              "--output-tokens", 2000, "--json")
    c = r.json()["cost"]
    assert (c["onDemandInputCost"], c["onDemandOutputCost"], c["onDemandCost"]) == (150, 300, 450)
    assert c["batchCost"] == 225 and c["savings"] == 225


def test_estimate_from_file_matches_the_worked_example_rate(d):
    # 100 documents of 8,000 bytes are 2,000 tokens each; 500 max_tokens.
    recs = [{"recordId": "D%d" % i, "modelInput": claude_input(i, "x" * 8000, max_tokens=500)}
            for i in range(100)]
    p = write_jsonl(os.path.join(d, "in.jsonl"), recs)
    r = barge("estimate", p, "--model", SONNET, "--json")
    assert r.rc == 0, r
    e = r.json()
    assert (e["records"], e["inputTokens"], e["outputTokens"]) == (100, 200000, 50000)
    # 1/500th of the 50,000-document example: $1.35 on demand, $0.675 batch.
    assert e["cost"]["onDemandCost"] == 1.35 and e["cost"]["batchCost"] == 0.675
    r = barge("estimate", p, "--model", SONNET, "--output-tokens", 100, "--json")
    assert r.json()["outputTokens"] == 10000


def test_estimate_agrees_with_the_run(d):
    recs = claude_records(200)
    recs[3]["modelInput"]["system"] = "A system prompt of some length."
    p = write_jsonl(os.path.join(d, "in.jsonl"), recs)
    e = barge("estimate", p, "--model", HAIKU, "--json").json()
    r = barge("run", p, "--model", HAIKU, "--output", os.path.join(d, "out"), "--state",
              os.path.join(d, "st"), "--json")
    assert r.rc == 0, r
    assert e["inputTokens"] == r.json()["inputTokenCount"]
    assert e["outputTokens"] >= r.json()["outputTokenCount"]


def test_estimate_usage_errors(d):
    r = barge("estimate", "--model", SONNET)
    assert r.rc == 2 and "--records" in r.err
    r = barge("estimate", "--model", SONNET, "--records", "many", "--input-tokens", 1,
              "--output-tokens", 1)
    assert r.rc == 2 and "whole number" in r.err


def test_models_lists_the_catalog(d):
    r = barge("models", "--json")
    assert r.rc == 0, r
    ms = {m["modelId"]: m for m in r.json()["models"]}
    for mid, fam, i, o in [
            ("anthropic.claude-3-opus-20240229-v1:0", "anthropic-messages", 0.015, 0.075),
            (SONNET, "anthropic-messages", 0.003, 0.015),
            (HAIKU, "anthropic-messages", 0.0008, 0.004),
            (LLAMA, "llama", 0.00099, 0.00099),
            (MISTRAL, "mistral", 0.004, 0.012)]:
        m = ms[mid]
        assert (m["family"], m["inputPricePer1kTokens"], m["outputPricePer1kTokens"]) == (fam, i, o)
        assert m["backendKind"] == "sim" and m["batchDiscount"] == 0.5
    cfg = write_config(os.path.join(d, "c.ini"),
                       "[model.my-model]\nfamily = llama\ninput_price_per_1k = 0.5\n")
    r = barge("models", "--config", cfg, "--json")
    ms = {m["modelId"]: m for m in r.json()["models"]}
    assert ms["my-model"]["inputPricePer1kTokens"] == 0.5
    t = barge("models")
    assert SONNET in t.out and "BATCH IN" in t.out
