"""test_faults.py - injected backend faults: retries, record errors with the
backend's code and message, nothing lost or duplicated."""
import os

from lib import *

CODES = {408, 429, 500, 502, 503}


def run(d, cfg, n, model=HAIKU):
    recs = claude_records(n)
    inp = write_jsonl(os.path.join(d, "in.jsonl"), recs)
    r = barge("run", inp, "--model", model, "--output", os.path.join(d, "out"),
              "--state", os.path.join(d, "st"), "--config", cfg, "--json")
    assert r.rc == 0, r
    lines = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
    assert_exactly_once(lines, [x["recordId"] for x in recs])
    return r.json(), lines, manifest(os.path.join(d, "out"))


def test_thirty_percent_faults_every_record_once(d):
    cfg = sim_config(os.path.join(d, "c.ini"), fail_rate=0.3,
                     fail_types="429,500,503,timeout,reset,malformed,truncated",
                     timeout_s=0.2, max_attempts=4, retry_base_ms=1, retry_max_ms=5,
                     retry_after_s=0, max_concurrency=64, seed=3)
    s, lines, m = run(d, cfg, 1000)
    ok = [l for l in lines if "modelOutput" in l]
    bad = [l for l in lines if "error" in l]
    assert len(ok) + len(bad) == 1000
    assert (m["successRecordCount"], m["errorRecordCount"]) == (len(ok), len(bad))
    # 0.3^4 of records fail every attempt: about 8, never hundreds.
    assert 0 < len(ok) and len(bad) < 60, len(bad)
    for l in bad:
        assert l["error"]["errorCode"] in CODES, l
        assert "after 4 attempts" in l["error"]["errorMessage"], l
    assert m["retryCount"] >= 250, m
    assert m["throttleCount"] > 0
    assert s["retryCount"] == m["retryCount"]


def test_errors_carry_backend_status_and_message(d):
    cfg = sim_config(os.path.join(d, "c.ini"), fail_rate=1, fail_types="500",
                     max_attempts=2, retry_base_ms=1)
    s, lines, m = run(d, cfg, 20)
    for l in lines:
        e = l["error"]
        assert e["errorCode"] == 500
        assert "simulated: internal server error" in e["errorMessage"], e
    assert m["errorRecordCount"] == 20 and m["retryCount"] == 20
    # A job whose records all failed is still Completed; the counts tell.
    assert s["status"] == "Completed"
    assert m["inputTokenCount"] == 0


def test_timeouts_and_resets(d):
    cfg = sim_config(os.path.join(d, "c.ini"), fail_rate=1, fail_types="timeout",
                     max_attempts=2, timeout_s=0.05, retry_base_ms=1)
    s, lines, m = run(d, cfg, 10)
    assert {l["error"]["errorCode"] for l in lines} == {408}
    assert "timeout_s" in lines[0]["error"]["errorMessage"]
    d2 = os.path.join(d, "reset")
    os.mkdir(d2)
    cfg = sim_config(os.path.join(d2, "c.ini"), fail_rate=1, fail_types="reset",
                     max_attempts=1)
    s, lines, m = run(d2, cfg, 10)
    assert {l["error"]["errorCode"] for l in lines} == {503}
    d3 = os.path.join(d, "malformed")
    os.mkdir(d3)
    cfg = sim_config(os.path.join(d3, "c.ini"), fail_rate=1, fail_types="malformed",
                     max_attempts=1)
    s, lines, m = run(d3, cfg, 10)
    assert {l["error"]["errorCode"] for l in lines} == {502}


def test_one_attempt_leaves_failures_as_records(d):
    cfg = sim_config(os.path.join(d, "c.ini"), fail_rate=0.3, fail_types="500,503",
                     max_attempts=1, seed=11)
    s, lines, m = run(d, cfg, 1000)
    bad = sum(1 for l in lines if "error" in l)
    assert 220 <= bad <= 380, bad
    assert m["retryCount"] == 0
