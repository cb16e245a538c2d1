"""test_backends.py - barge run against real HTTP: every backend kind and
every family against barge sim-server, faults, limits, adaptive concurrency,
and a backend that goes down and comes back."""
import os
import re
import time

from lib import *

KEY = "sk-test-key"
AKID, SECRET = "AKIDBARGETEST", "barge/test+secret"

# family -> (bedrock model id of that family, records)
def claude(i):
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Summarize item %d" % i}]}


FAMILIES = {
    "anthropic-messages": (HAIKU, claude),
    "llama": (LLAMA, lambda i: {"prompt": "Classify %d" % i, "max_gen_len": 20}),
    "mistral": (MISTRAL, lambda i: {"prompt": "<s>[INST] Say %d [/INST]" % i, "max_tokens": 20}),
    "titan-text": (TITAN, lambda i: {"inputText": "Write %d" % i,
                                     "textGenerationConfig": {"maxTokenCount": 20}}),
    "nova": (NOVA, lambda i: {"messages": [{"role": "user", "content": [{"text": "Q %d" % i}]}],
                              "inferenceConfig": {"maxTokens": 20}}),
    "converse": (NOVA, lambda i: {"messages": [{"role": "user", "content": [{"text": "C %d" % i}]}],
                                  "inferenceConfig": {"maxTokens": 20}}),
    "titan-embed": (EMBED, lambda i: {"inputText": "embed %d" % i, "dimensions": 256}),
    "openai-chat": (None, lambda i: {"model": "x", "max_tokens": 20,
                                     "messages": [{"role": "user", "content": "Hi %d" % i}]}),
    "openai-completions": (None, lambda i: {"prompt": "Once %d" % i, "max_tokens": 20}),
    "openai-embeddings": (None, lambda i: {"input": "vec %d" % i, "dimensions": 32}),
}


def text_of(fam, o):
    """The generated text (or vector) of a family's native modelOutput."""
    if fam == "anthropic-messages":
        assert o["type"] == "message" and o["usage"]["output_tokens"] > 0
        return o["content"][0]["text"]
    if fam == "llama":
        assert o["generation_token_count"] > 0
        return o["generation"]
    if fam == "mistral":
        return o["outputs"][0]["text"]
    if fam == "titan-text":
        assert o["results"][0]["tokenCount"] > 0
        return o["results"][0]["outputText"]
    if fam in ("nova", "converse"):
        assert o["usage"]["outputTokens"] > 0
        return o["output"]["message"]["content"][0]["text"]
    if fam == "titan-embed":
        assert len(o["embedding"]) == 256
        return "[simulated] vector"
    if fam == "openai-chat":
        return o["choices"][0]["message"]["content"]
    if fam == "openai-completions":
        return o["choices"][0]["text"]
    if fam == "openai-embeddings":
        assert len(o["data"][0]["embedding"]) == 32
        return "[simulated] vector"
    raise AssertionError(fam)


def config(d, port, **engine):
    extra = "".join("%s = %s\n" % kv for kv in engine.items())
    text = ("[backend.oa]\nkind = openai\nbase_url = http://127.0.0.1:%d/v1\napi_key = %s\n%s\n"
            "[backend.an]\nkind = anthropic\nbase_url = http://127.0.0.1:%d/v1\napi_key = %s\n%s\n"
            "[backend.br]\nkind = bedrock\nendpoint = http://127.0.0.1:%d\nregion = us-west-2\n"
            "access_key_id = %s\nsecret_access_key_env = BARGE_TEST_SECRET\n%s\n"
            % (port, KEY, extra, port, KEY, extra, port, AKID, extra))
    for kind in ("oa", "an", "br"):
        for fam, (bedrock_id, _) in FAMILIES.items():
            real = "nova" if fam == "converse" else fam
            up = bedrock_id if kind == "br" and bedrock_id else "up-" + fam
            text += "[model.%s-%s]\nfamily = %s\nbackend = %s\nupstream_model = %s\n" % (
                kind, fam, real, kind, up)
            text += "input_price_per_1k = 0.001\noutput_price_per_1k = 0.002\n\n"
    return write_config(os.path.join(d, "c.ini"), text)


ENV = {"BARGE_TEST_SECRET": SECRET, "BARGE_PROGRESS_INTERVAL_MS": "100"}


def run(d, cfg, model, recs, *extra, name="in.jsonl"):
    inp = write_jsonl(os.path.join(d, name), recs)
    return barge("run", inp, "--model", model, "--output", os.path.join(d, "out"),
                 "--state", os.path.join(d, "st"), "--config", cfg, "--json", *extra, env=ENV)


def test_every_kind_and_family(d):
    with SimServer("--api-key", KEY, "--aws-access-key-id", AKID,
                   "--aws-secret-access-key", SECRET) as srv:
        cfg = config(d, srv.port)
        ran = 0
        for kind in ("oa", "an", "br"):
            for fam, (bedrock_id, make) in FAMILIES.items():
                recs = [{"recordId": "%s-%d" % (fam, i), "modelInput": make(i)} for i in range(12)]
                extra = ["--invocation-type", "Converse"] if fam == "converse" else []
                sub = os.path.join(d, kind + "-" + fam)
                os.mkdir(sub)
                r = run(sub, cfg, "%s-%s" % (kind, fam), recs, *extra)
                impossible = (kind == "an" and "embed" in fam) or (kind == "br" and not bedrock_id)
                if impossible:
                    assert r.rc == 2 and "cannot run on backend" in r.err, (kind, fam, r)
                    continue
                assert r.rc == 0, (kind, fam, r)
                s = r.json()
                assert s["successRecordCount"] == 12, (kind, fam, s)
                lines = read_jsonl(os.path.join(job_dir(os.path.join(sub, "out")), "in.jsonl.out"))
                assert [l["recordId"] for l in lines] == [x["recordId"] for x in recs]
                for l in lines:
                    assert text_of(fam, l["modelOutput"]).startswith("[simulated]"), (kind, fam, l)
                assert s["inputTokenCount"] > 0, (kind, fam, s)
                ran += 1
        assert ran == 10 + 8 + 7
        paths = srv.stats()["by_path"]
        # Each kind reached the backend the way its wire says.
        assert paths.get("/v1/chat/completions", 0) >= 12 * 4          # oa: claude, nova, converse, chat
        assert paths.get("/v1/messages", 0) >= 12 * 8                  # an: every text family
        assert paths.get("/model/%s/invoke" % HAIKU, 0) == 12
        assert paths.get("/model/%s/converse" % NOVA, 0) == 12
        assert srv.stats()["by_status"].get("403", 0) == 0             # every signature was right


def test_wrong_credentials_are_record_errors(d):
    with SimServer("--api-key", KEY, "--aws-access-key-id", AKID,
                   "--aws-secret-access-key", "another-secret") as srv:
        cfg = config(d, srv.port)
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(5)]
        r = run(d, cfg, "br-anthropic-messages", recs)
        assert r.rc == 0, r
        lines = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
        for l in lines:
            assert l["error"]["errorCode"] == 403, l
            assert "signature" in l["error"]["errorMessage"].lower(), l
        # A wrong credential is final: one request per record, no retries.
        assert srv.stats()["requests"] == 5


def test_twenty_percent_faults_all_succeed(d):
    with SimServer("--fail-rate", "0.2", "--fail-types",
                   "429,500,503,timeout,reset,malformed,truncated", "--hang-ms", "300",
                   "--retry-after-s", "0", "--seed", "7", "--api-key", KEY) as srv:
        cfg = config(d, srv.port, max_attempts=8, timeout_s=5, retry_base_ms=5,
                     retry_max_ms=50, max_concurrency=64)
        recs = [{"recordId": "F%05d" % i, "modelInput": claude(i)} for i in range(2000)]
        r = run(d, cfg, "oa-anthropic-messages", recs)
        assert r.rc == 0, r
        s = r.json()
        lines = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
        assert_exactly_once(lines, [x["recordId"] for x in recs])
        assert s["successRecordCount"] == 2000 and s["errorRecordCount"] == 0, s
        st = srv.stats()
        f = st["faults"]
        # Exactly one good answer per record reached the server's books ...
        assert st["by_status"]["200"] - f["malformed"] - f["truncated"] == 2000, st
        # ... every failed attempt barge saw is one the server failed, plus the
        # requests libcurl re-sent by itself when a kept-alive connection had
        # died without a byte of answer (only resets and hangs do that).
        resent = st["requests"] - 2000 - s["retryCount"]
        assert 0 <= resent <= f["reset"] + f["timeout"], (st["requests"], s["retryCount"], f)
        assert st["by_status"].get("429", 0) + st["by_status"].get("503", 0) == s["throttleCount"]
        assert st["tokens"]["output"] >= s["outputTokenCount"]


def test_max_concurrency_never_exceeded(d):
    with SimServer("--ttft-ms", "30", "--api-key", KEY) as srv:
        cfg = config(d, srv.port, max_concurrency=5)
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(200)]
        r = run(d, cfg, "oa-anthropic-messages", recs)
        assert r.rc == 0, r
        st = srv.stats()
        assert st["max_in_flight"] <= 5, st["max_in_flight"]
        assert st["max_in_flight"] >= 3, st["max_in_flight"]
        assert st["rejected_over_max_seqs"] == 0


def test_requests_per_minute_never_exceeded(d):
    with SimServer("--api-key", KEY) as srv:
        cfg = config(d, srv.port, requests_per_minute=600)   # 10 a second, 10 at once
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(45)]
        t0 = time.time()
        r = run(d, cfg, "oa-anthropic-messages", recs)
        assert r.rc == 0, r
        assert time.time() - t0 >= 3.0
        a = srv.stats()["arrivals_ms"]
        assert len(a) == 45
        # In any stretch of time T, at most the bucket (10) plus 10 per second.
        for i in range(len(a)):
            for j in range(i + 1, len(a)):
                assert j - i + 1 <= 10 + 10 * (a[j] - a[i]) / 1000.0 + 1, (i, j, a[i], a[j])


def test_tokens_per_minute_never_exceeded(d):
    with SimServer("--api-key", KEY) as srv:
        # 30 records of about 46 estimated tokens each (prompt and max_tokens):
        # 12,000 tokens a minute is 200 a second with a bucket of 200, so the
        # job cannot finish faster than its real usage allows.
        cfg = config(d, srv.port, tokens_per_minute=12000)
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(30)]
        t0 = time.time()
        r = run(d, cfg, "oa-anthropic-messages", recs)
        elapsed = time.time() - t0
        assert r.rc == 0, r
        s = r.json()
        used = s["inputTokenCount"] + s["outputTokenCount"]
        assert used > 400
        assert elapsed >= (used - 200) / 200.0 - 0.5, (elapsed, used)


def test_adaptive_concurrency_settles_below_max_seqs(d):
    with SimServer("--max-seqs", "8", "--ttft-ms", "60", "--retry-after-s", "0",
                   "--api-key", KEY) as srv:
        cfg = config(d, srv.port, max_concurrency=64, max_attempts=50, retry_base_ms=20,
                     retry_max_ms=200)
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(600)]
        inp = write_jsonl(os.path.join(d, "in.jsonl"), recs)
        p = start("run", inp, "--model", "oa-anthropic-messages", "--output",
                  os.path.join(d, "out"), "--state", os.path.join(d, "st"), "--config", cfg,
                  env=ENV)
        res = finish(p)
        assert res.rc == 0, res
        limits = [int(m) for m in re.findall(r"\(limit (\d+)\)", res.err)]
        assert limits, res.err
        # It started at 64 and found the server's capacity from its 429s.
        late = limits[len(limits) // 2:]
        assert max(late) <= 9, limits
        st = srv.stats()
        assert st["rejected_over_max_seqs"] > 0
        # Once settled it stops hammering: rejections are a fraction of the work.
        assert st["rejected_over_max_seqs"] < len(recs), st["rejected_over_max_seqs"]


def test_backend_down_and_back(d):
    srv = SimServer("--ttft-ms", "20", "--api-key", KEY)
    try:
        cfg = config(d, srv.port, max_concurrency=8, max_attempts=3, retry_base_ms=10)
        recs = [{"recordId": "D%05d" % i, "modelInput": claude(i)} for i in range(1500)]
        inp = write_jsonl(os.path.join(d, "in.jsonl"), recs)
        p = start("run", inp, "--model", "oa-anthropic-messages", "--output",
                  os.path.join(d, "out"), "--state", os.path.join(d, "st"), "--config", cfg,
                  "--json", env=ENV)
        wait_progress(p, at_least=200)
        srv.kill()
        time.sleep(3)
        srv.start()
        res = finish(p)
        assert res.rc == 0, res
        s = res.json()
        assert s["errorRecordCount"] == 0 and s["successRecordCount"] == 1500, s
        assert "unreachable: paused, probing" in res.err
        lines = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
        assert_exactly_once(lines, [x["recordId"] for x in recs])
    finally:
        srv.stop()


def test_retry_after_is_honoured(d):
    with SimServer("--fail-rate", "1", "--fail-types", "429", "--retry-after-s", "1",
                   "--api-key", KEY) as srv:
        cfg = config(d, srv.port, max_attempts=3, retry_base_ms=1, retry_max_ms=2)
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(4)]
        t0 = time.time()
        r = run(d, cfg, "oa-anthropic-messages", recs)
        elapsed = time.time() - t0
        assert r.rc == 0, r
        lines = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
        assert {l["error"]["errorCode"] for l in lines} == {429}
        # Two waits of at least the server's Retry-After (1 s), although the
        # configured backoff alone would wait 2 ms at most.
        assert elapsed >= 2.0, elapsed
        a = srv.stats()["arrivals_ms"]
        assert len(a) == 12
        firsts, seconds, thirds = sorted(a)[:4], sorted(a)[4:8], sorted(a)[8:]
        assert min(seconds) - max(firsts) >= 900 and min(thirds) - max(seconds) >= 900, a


def test_thousands_in_flight(d):
    """Two thousand requests in flight at once from one barge thread."""
    with SimServer("--ttft-ms", "2000", "--max-connections", "4000", "--threads", "2",
                   "--api-key", KEY) as srv:
        cfg = config(d, srv.port, max_concurrency=2000, timeout_s=60)
        recs = [{"recordId": str(i), "modelInput": claude(i)} for i in range(2500)]
        r = run(d, cfg, "oa-anthropic-messages", recs)
        assert r.rc == 0, r
        assert r.json()["successRecordCount"] == 2500
        st = srv.stats()
        assert st["max_in_flight"] >= 1500, st["max_in_flight"]
        assert st["max_in_flight"] <= 2000
