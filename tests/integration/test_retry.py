"""test_retry.py - `barge retry` (a follow-up job of a job's failed or
never-processed records) and `barge results --merge` (a job and its retries
back together), on real outputs of earlier jobs: `barge run` jobs in a state
directory, on files and on S3 (s3rver), and jobs of `barge serve` through the
client. Every chain of three generations is merged back into one result per
record, in input order, with modelInput byte for byte as in the input."""
import os
import re
import signal
import sqlite3

import lib
from lib import *

PARENT_TAG = "barge:parentJob"
ENV = {"BARGE_PROGRESS_INTERVAL_MS": "20"}


def clean(res):
    """Under ASan/UBSan, a report fails the test even where failure is expected."""
    assert "Sanitizer" not in res.err and "runtime error:" not in res.err, res.err
    return res


def barge(*args, **kw):
    return clean(lib.barge(*args, **kw))


def finish(p):
    return clean(lib.finish(p))


def model_input_text(i):
    """A modelInput written with unusual spacing: any re-serialization shows."""
    return json.dumps(claude_input(i, max_tokens=16), separators=(" ,", " :  "))


def write_input(path, n, no_id_every=0):
    """n records, one a line, written by hand so that the exact bytes of each
    modelInput are known; every no_id_every-th record has no recordId."""
    lines, texts = [], []
    for i in range(n):
        mi = model_input_text(i)
        texts.append(mi)
        if no_id_every and i % no_id_every == 3:
            lines.append('{"modelInput" :%s}' % mi)
        else:
            lines.append('{ "recordId" : "R%06d", "modelInput" :%s}' % (i, mi))
    write_lines(path, lines)
    return texts


def raw_model_input(line):
    """The modelInput of an output or retry line as written (barge writes
    '"modelInput":' and then the bytes it echoes)."""
    m = re.search(r'"modelInput":(.*?),"(modelOutput|error)":', line) or \
        re.search(r'"modelInput":(.*)}$', line)
    assert m, line
    return m.group(1)


def raw_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def cfg(d, name, **sim):
    opts = dict(fail_types="500", max_attempts=1, retry_base_ms=1)
    opts.update(sim)
    return sim_config(os.path.join(d, name), **opts)


def run_job(d, inp, config, *extra, model=HAIKU):
    r = barge("run", inp, "--model", model, "--output", os.path.join(d, "out"), "--state",
              os.path.join(d, "st"), "--config", config, "--json", "--no-progress", *extra)
    return r


def retry(d, job, config, *extra):
    return barge("retry", job, "--state", os.path.join(d, "st"), "--config", config, "--json",
                 "--no-progress", *extra)


def out_file(d, job_id, name="in.jsonl"):
    return os.path.join(d, "out", job_id, name + ".out")


def parent_of(summary):
    tags = {t["key"]: t["value"] for t in summary.get("tags", [])}
    return tags.get(PARENT_TAG)


def check_merged(lines, texts, ids=None):
    """One line per input record, in input order, each a success whose
    modelInput is the input's own bytes."""
    assert len(lines) == len(texts), (len(lines), len(texts))
    for i, (line, mi) in enumerate(zip(lines, texts)):
        o = json.loads(line)
        assert "modelOutput" in o and "error" not in o, line
        assert raw_model_input(line) == mi, (i, line)
        if ids:
            assert o["recordId"] == ids[i], (i, line)


def test_local_chain_of_three_generations(d):
    n = 300
    inp = os.path.join(d, "in.jsonl")
    texts = write_input(inp, n)
    ids = ["R%06d" % i for i in range(n)]
    r1 = run_job(d, inp, cfg(d, "half.ini", fail_rate=0.5, seed=5))
    assert r1.rc == 0, r1
    j1 = r1.json()
    lines1 = raw_lines(out_file(d, j1["jobId"]))
    failed1 = [json.loads(l)["recordId"] for l in lines1 if '"error":' in l]
    assert 60 < len(failed1) < 240 and j1["errorRecordCount"] == len(failed1), j1

    # Generation 2: exactly the failures, written next to the parent's outputs.
    r2 = retry(d, j1["jobId"], cfg(d, "third.ini", fail_rate=0.3, seed=9))
    assert r2.rc == 0, r2
    j2 = r2.json()
    assert j2["status"] == "Completed" and j2["jobId"] != j1["jobId"]
    assert j2["totalRecordCount"] == len(failed1), j2
    assert parent_of(j2) == j1["jobArn"], j2
    retry_in = os.path.join(d, "out", j1["jobId"], "retry", "in.jsonl")
    got = raw_lines(retry_in)
    assert [json.loads(l)["recordId"] for l in got] == failed1
    for l in got:
        rid = json.loads(l)["recordId"]
        assert l == '{"recordId":"%s","modelInput":%s}' % (rid, texts[int(rid[1:])]), l
    assert "%d records to retry (%d errors" % (len(failed1), len(failed1)) in r2.err, r2.err
    # Its outputs keep the input's name, so they map back to the parent's.
    lines2 = raw_lines(out_file(d, j2["jobId"]))
    assert [json.loads(l)["recordId"] for l in lines2] == failed1
    failed2 = [json.loads(l)["recordId"] for l in lines2 if '"error":' in l]
    assert failed2, "the second generation should fail some records at a 30% fault rate"

    # Generation 3, a retry of the retry, on a backend that no longer fails.
    r3 = retry(d, j2["jobId"], cfg(d, "none.ini", fail_rate=0))
    assert r3.rc == 0, r3
    j3 = r3.json()
    assert j3["totalRecordCount"] == len(failed2) and j3["errorRecordCount"] == 0, j3
    assert parent_of(j3) == j2["jobArn"], j3
    # The chain shows in the names: run-in, run-in-retry-1, run-in-retry-2.
    db = sqlite3.connect(os.path.join(d, "st", "barge.db"))
    names = dict(db.execute("SELECT id, name FROM jobs").fetchall())
    db.close()
    assert (names[j2["jobId"]], names[j3["jobId"]]) == ("run-in-retry-1", "run-in-retry-2"), names

    # Merged: one line per record, the latest result of each, in input order.
    m = barge("results", "--merge", j1["jobId"], j2["jobId"], j3["jobArn"], "--state",
              os.path.join(d, "st"))
    assert m.rc == 0, m
    check_merged(m.out.splitlines(), texts, ids)
    assert "%d records, %d succeeded, 0 failed" % (n, n) in m.err, m.err
    assert "%d results from the retries" % len(failed1) in m.err, m.err
    dl = os.path.join(d, "merged")
    m2 = barge("results", "--merge", j1["jobId"], j2["jobId"], j3["jobId"], "--state",
               os.path.join(d, "st"), "--download", dl)
    assert m2.rc == 0 and m2.out == "", m2
    assert os.listdir(dl) == ["in.jsonl.out"]
    with open(os.path.join(dl, "in.jsonl.out")) as f:
        assert f.read() == m.out
    # Merging only the first two keeps the second generation's failures.
    m3 = barge("results", "--merge", j1["jobId"], j2["jobId"], "--state", os.path.join(d, "st"))
    assert m3.rc == 0, m3
    errs = [json.loads(l)["recordId"] for l in m3.out.splitlines() if '"error":' in l]
    assert errs == failed2, (errs, failed2)

    # The first job's own results are still its own (retry/ is not an output).
    r = barge("results", j1["jobId"], "--state", os.path.join(d, "st"))
    assert r.rc == 0 and r.out.splitlines() == lines1, r
    # Nothing left to retry: said so, exit 0, and no job.
    r4 = retry(d, j3["jobId"], cfg(d, "none.ini", fail_rate=0))
    assert r4.rc == 0 and "nothing to retry" in r4.err, r4
    assert r4.json() == {"jobArn": None, "parentJobArn": j3["jobArn"], "recordCount": 0}
    assert len(os.listdir(os.path.join(d, "out"))) == 3


def test_local_retry_on_another_model(d):
    inp = os.path.join(d, "in.jsonl")
    texts = write_input(inp, 120)
    r1 = run_job(d, inp, cfg(d, "half.ini", fail_rate=0.5, seed=2))
    assert r1.rc == 0, r1
    j1 = r1.json()
    # Another family cannot take these records: refused before any job.
    bad = retry(d, j1["jobId"], cfg(d, "none.ini", fail_rate=0), "--model", LLAMA)
    assert bad.rc == 2 and "family" in bad.err and "anthropic" in bad.err, bad
    assert len(os.listdir(os.path.join(d, "out"))) == 1
    r2 = retry(d, j1["jobId"], cfg(d, "none.ini", fail_rate=0), "--model", SONNET)
    assert r2.rc == 0, r2
    j2 = r2.json()
    assert j2["totalRecordCount"] == j1["errorRecordCount"] and j2["errorRecordCount"] == 0
    assert parent_of(j2) == j1["jobArn"]
    assert manifest_of(d, j2["jobId"])["modelId"] == SONNET
    # Sonnet's prices, not Haiku's.
    assert j2["cost"]["inputPricePer1kTokens"] == 0.003, j2["cost"]
    m = barge("results", "--merge", j1["jobArn"], j2["jobArn"], "--state", os.path.join(d, "st"))
    assert m.rc == 0, m
    check_merged(m.out.splitlines(), texts)


def manifest_of(d, job_id):
    with open(os.path.join(d, "out", job_id, "manifest.json.out")) as f:
        return json.load(f)


def slow(d, name, **extra):
    opts = dict(ttft_ms=10, max_concurrency=16)
    opts.update(extra)
    return sim_config(os.path.join(d, name), **opts)


def test_expired_records_of_a_stopped_job(d):
    n = 3000
    inp = os.path.join(d, "in.jsonl")
    # Some records have no recordId: their retry must carry the id they were given.
    texts = write_input(inp, n, no_id_every=7)
    p = start("run", inp, "--model", HAIKU, "--output", os.path.join(d, "out"), "--state",
              os.path.join(d, "st"), "--config", slow(d, "slow.ini"), "--json", env=ENV)
    wait_progress(p, at_least=300)
    p.send_signal(signal.SIGTERM)
    r1 = finish(p)
    assert r1.rc == 3, r1
    j1 = r1.json()
    assert j1["status"] == "Stopped" and 300 <= j1["processedRecordCount"] < n, j1
    done = raw_lines(out_file(d, j1["jobId"]))
    done_mi = {raw_model_input(l) for l in done}
    missing = [i for i, mi in enumerate(texts) if mi not in done_mi]
    assert len(missing) == n - len(done)

    # Without --expired: no error records, and a word on --expired.
    fast = cfg(d, "none.ini", fail_rate=0)
    r = retry(d, j1["jobId"], fast)
    assert r.rc == 0 and "no error records" in r.err and "--expired" in r.err, r
    assert r.json()["recordCount"] == 0

    r2 = retry(d, j1["jobId"], fast, "--expired")
    assert r2.rc == 0, r2
    j2 = r2.json()
    assert j2["totalRecordCount"] == len(missing) and j2["errorRecordCount"] == 0, j2
    assert parent_of(j2) == j1["jobArn"]
    got = raw_lines(os.path.join(d, "out", j1["jobId"], "retry", "in.jsonl"))
    assert [raw_model_input(l) for l in got] == [texts[i] for i in missing]
    # Records without an id carry the generated one: 11 characters [A-Z0-9].
    for l, i in zip(got, missing):
        rid = json.loads(l)["recordId"]
        if i % 7 == 3:
            assert re.fullmatch(r"[A-Z0-9]{11}", rid), l
        else:
            assert rid == "R%06d" % i, l

    # Merged: the stopped job's records and the retry's, in input order.
    m = barge("results", "--merge", j1["jobId"], j2["jobId"], "--state", os.path.join(d, "st"))
    assert m.rc == 0, m
    check_merged(m.out.splitlines(), texts)
    assert "%d records, %d succeeded" % (n, n) in m.err, m.err
    # The stopped job alone: its records, and a count of those with no result.
    m1 = barge("results", "--merge", j1["jobId"], "--state", os.path.join(d, "st"))
    assert m1.rc == 0 and len(m1.out.splitlines()) == len(done), m1
    assert "%d records of job %s have no result" % (len(missing), j1["jobId"]) in m1.err, m1.err


def test_interrupted_retry_resumes(d):
    n = 2000
    inp = os.path.join(d, "in.jsonl")
    texts = write_input(inp, n)
    r1 = run_job(d, inp, cfg(d, "all.ini", fail_rate=1))
    assert r1.rc == 0 and r1.json()["errorRecordCount"] == n, r1
    j1 = r1.json()
    slow_cfg = slow(d, "slow.ini")
    args = ["retry", j1["jobId"], "--state", os.path.join(d, "st"), "--config", slow_cfg,
            "--json"]
    p = start(*args, env=ENV)
    wait_progress(p, at_least=200)
    p.send_signal(signal.SIGTERM)
    r2 = finish(p)
    assert r2.rc == 3 and r2.json()["status"] == "Stopped", r2
    retry_in = os.path.join(d, "out", j1["jobId"], "retry", "in.jsonl")
    before = os.stat(retry_in).st_mtime_ns
    # The same command: the retry input is unchanged, so the job resumes.
    r3 = barge(*args, "--no-progress", env=ENV)
    assert r3.rc == 0, r3
    assert r3.json()["jobId"] == r2.json()["jobId"], (r2, r3)
    assert os.stat(retry_in).st_mtime_ns == before
    m = barge("results", "--merge", j1["jobId"], r3.json()["jobId"], "--state",
              os.path.join(d, "st"))
    assert m.rc == 0, m
    check_merged(m.out.splitlines(), texts)


def test_local_retry_on_s3(d):
    from test_s3 import BUCKET, S3rver, get_jsonl, list_keys, put
    srv = S3rver(os.path.join(d, "s3"))
    try:
        recs = claude_records(200)
        put(srv, d, "in/in.jsonl", recs)

        def conf(name, rate):
            return write_config(os.path.join(d, name), "[storage.s3]\nendpoint = %s\n"
                                "region = us-east-1\npath_style = true\naccess_key_id = S3RVER\n"
                                "secret_access_key = S3RVER\n[backend.sim]\nkind = sim\n"
                                "fail_rate = %s\nfail_types = 500\nmax_attempts = 1\n"
                                % (srv.endpoint, rate))
        half, none = conf("half.ini", 0.5), conf("none.ini", 0)
        out = "s3://%s/out/" % BUCKET
        r1 = barge("run", "s3://%s/in/in.jsonl" % BUCKET, "--model", HAIKU, "--output", out,
                   "--state", os.path.join(d, "st"), "--config", half, "--json", "--no-progress")
        assert r1.rc == 0, r1
        j1 = r1.json()
        assert j1["errorRecordCount"] > 0
        r2 = retry(d, j1["jobId"], half)
        assert r2.rc == 0, r2
        j2 = r2.json()
        assert j2["totalRecordCount"] == j1["errorRecordCount"]
        assert "out/%s/retry/in.jsonl" % j1["jobId"] in list_keys(srv, "out/%s/" % j1["jobId"])
        r3 = retry(d, j2["jobId"], none)
        assert r3.rc == 0, r3
        j3 = r3.json()
        assert parent_of(j3) == j2["jobArn"] and j3["errorRecordCount"] == 0
        m = barge("results", "--merge", j1["jobId"], j2["jobId"], j3["jobId"], "--state",
                  os.path.join(d, "st"), "--config", none)
        assert m.rc == 0, m
        lines = [json.loads(l) for l in m.out.splitlines()]
        assert_exactly_once(lines, [r["recordId"] for r in recs])
        assert all("modelOutput" in l for l in lines)
        assert [l["modelInput"] for l in lines] == [r["modelInput"] for r in recs]
        # The first job's own output on S3 still holds its failures.
        first = get_jsonl(srv, d, "out/%s/in.jsonl.out" % j1["jobId"])
        assert sum(1 for l in first if "error" in l) == j1["errorRecordCount"]
    finally:
        srv.stop()


def test_errors_and_usage(d):
    st = os.path.join(d, "st")
    inp = os.path.join(d, "in.jsonl")
    write_input(inp, 10)
    r = run_job(d, inp, cfg(d, "none.ini", fail_rate=0))
    assert r.rc == 0, r
    # A job that is not in the state directory.
    r = barge("retry", "zzzzzzzzzzzz", "--state", st)
    assert r.rc == 1 and "not in the state directory" in r.err, r
    r = barge("results", "--merge", "zzzzzzzzzzzz", "--state", st)
    assert r.rc == 1 and "not in the state directory" in r.err, r
    # A state directory that is none.
    os.mkdir(os.path.join(d, "empty"))
    r = barge("retry", "zzzzzzzzzzzz", "--state", os.path.join(d, "empty"))
    assert r.rc == 2 and "no `barge run` state" in r.err, r
    # Not a job id; flags that do not go together.
    r = barge("retry", "not-a-job", "--state", st)
    assert r.rc == 2 and "is not a job id" in r.err, r
    r = barge("retry", "zzzzzzzzzzzz", "--errors", "--state", st)
    assert r.rc == 2 and "--errors goes with --expired" in r.err, r
    r = barge("results", "--merge", "--manifest", "zzzzzzzzzzzz", "--state", st)
    assert r.rc == 2, r
    # A Completed job has nothing unprocessed.
    jid = os.listdir(os.path.join(d, "out"))[0]
    r = barge("retry", jid, "--state", st, "--expired")
    assert r.rc == 0 and "nothing to retry" in r.err, r
    # Without --state, ./.barge (here the working directory's) is looked in.
    os.rename(st, os.path.join(d, ".barge"))
    r = barge("retry", jid, cwd=d)
    assert r.rc == 0 and "no error records" in r.err, r
    for cmd, flag in (("retry", "--expired"), ("results", "--merge"), ("run", "--parent-job")):
        h = barge(cmd, "--help")
        assert h.rc == 0 and flag in h.out, h


def test_repeated_record_ids_are_retried_and_merged_once(d):
    """A parent run with --on-invalid skip holds recordId D twice: the second
    was refused as a duplicate. The retry sends only the first; the merge
    puts the retry's answer on the first line and keeps the second's error."""
    inp = os.path.join(d, "in.jsonl")
    write_lines(inp, [
        '{"recordId":"D","modelInput":%s}' % model_input_text(0),
        '{"recordId":"D","modelInput":%s}' % model_input_text(1),
        '{"recordId":"E","modelInput":%s}' % model_input_text(2),
    ])
    r1 = run_job(d, inp, cfg(d, "all.ini", fail_rate=1), "--on-invalid", "skip")
    assert r1.rc == 0, r1
    j1 = r1.json()["jobId"]
    first = [json.loads(l) for l in raw_lines(out_file(d, j1))]
    assert [o["error"]["errorCode"] for o in first] == [500, 400, 500], first
    assert "duplicate" in first[1]["error"]["errorMessage"], first
    r2 = retry(d, j1, cfg(d, "none.ini", fail_rate=0))
    assert r2.rc == 0 and "repeats one already retried" in r2.err, r2
    j2 = r2.json()["jobId"]
    sent = [json.loads(l) for l in raw_lines(os.path.join(d, "out", j1, "retry", "in.jsonl"))]
    assert [o["recordId"] for o in sent] == ["D", "E"], sent
    assert raw_model_input(raw_lines(os.path.join(d, "out", j1, "retry", "in.jsonl"))[0]) == \
        model_input_text(0)
    m = barge("results", "--merge", j1, j2, "--state", os.path.join(d, "st"))
    assert m.rc == 0, m
    merged = [json.loads(l) for l in m.out.splitlines() if l.strip()]
    assert [o["recordId"] for o in merged] == ["D", "D", "E"], merged
    assert "modelOutput" in merged[0] and "modelOutput" in merged[2], merged
    assert merged[1]["error"]["errorCode"] == 400, merged
    assert "2 succeeded, 1 failed" in m.err, m


def test_outputs_lost_after_the_job_are_refused(d):
    """Outputs moved, deleted or cut short after a job ended would make retry
    and merge lose results quietly: both refuse, naming the job."""
    st = os.path.join(d, "st")
    inp = os.path.join(d, "in.jsonl")
    write_input(inp, 40)
    j1 = run_job(d, inp, cfg(d, "some.ini", fail_rate=0.4, seed=3)).json()["jobId"]
    j2 = retry(d, j1, cfg(d, "none.ini", fail_rate=0)).json()["jobId"]
    # --download into a job's own output directory would replace its outputs.
    r = barge("results", "--merge", j1, j2, "--state", st, "--download",
              os.path.join(d, "out", j1) + "/")
    assert r.rc == 2 and "keeps its own outputs" in r.err, r
    assert os.path.exists(out_file(d, j1))
    # The retry's outputs are gone.
    os.rename(out_file(d, j2), os.path.join(d, "moved.out"))
    r = barge("results", "--merge", j1, j2, "--state", st)
    assert r.rc == 1 and j2 in r.err and "merging would lose results" in r.err, r
    os.rename(os.path.join(d, "moved.out"), out_file(d, j2))
    assert barge("results", "--merge", j1, j2, "--state", st).rc == 0
    # The parent's output cut to half its lines.
    lines = raw_lines(out_file(d, j1))
    write_lines(out_file(d, j1), lines[:20])
    r = barge("retry", j1, "--state", st, "--config", cfg(d, "none.ini", fail_rate=0))
    assert r.rc == 1 and "processed 40 records" in r.err and "hold 20" in r.err, r
    r = barge("results", "--merge", j1, j2, "--state", st)
    assert r.rc == 1 and "merging would lose results" in r.err, r


# ---- barge serve, through the client ----

KEY = ("AKIDTEST", "secret-of-team-a/+")


def serve_config(d, rate):
    return write_config(os.path.join(d, "serve-%s.ini" % rate), """
[server]
data = %(d)s/data
runners = 2
[account.team-a]
account_id = 111111111111
access_key_id = %(k)s
secret_access_key_env = TEAM_A_SECRET
allowed_uris = file://%(d)s/in/, file://%(d)s/out/
[backend.sim]
kind = sim
fail_rate = %(rate)s
fail_types = 500
max_attempts = 1
""" % {"d": d, "k": KEY[0], "rate": rate})


def test_server_chain_of_three_generations(d):
    n = 400
    os.makedirs(os.path.join(d, "in"))
    os.makedirs(os.path.join(d, "out"))
    inp = os.path.join(d, "in", "a.jsonl")
    texts = write_input(inp, n)
    log = os.path.join(d, "serve.log")
    srv = Serve(serve_config(d, 0.5), log, env={"TEAM_A_SECRET": KEY[1]})
    env = {"AWS_ACCESS_KEY_ID": KEY[0], "AWS_SECRET_ACCESS_KEY": KEY[1],
           "BARGE_ENDPOINT": srv.base}
    try:
        r = barge("submit", "--input", inp, "--output", os.path.join(d, "out"), "--model", HAIKU,
                  "--name", "nightly", "--tag", "team=a", env=env)
        assert r.rc == 0, r
        a1 = r.out.strip()
        assert barge("wait", a1, "--no-progress", env=env).rc == 0
        j1 = wait_status(srv.base, a1, {"Completed"}, key=KEY)
        assert 0 < j1["errorRecordCount"] < n, j1

        r = barge("retry", a1, "--json", env=env)
        assert r.rc == 0, r
        c2 = r.json()
        a2 = c2["jobArn"]
        assert c2["parentJobArn"] == a1 and c2["recordCount"] == j1["errorRecordCount"], c2
        assert c2["inputUri"] == "file://%s/out/%s/retry/" % (d, a1.rsplit("/", 1)[1]), c2
        assert barge("wait", a2, "--no-progress", env=env).rc == 0
        j2 = wait_status(srv.base, a2, {"Completed"}, key=KEY)
        # Get shows the link, the parent's own tags, and the chain's name.
        tags = {t["key"]: t["value"] for t in j2["tags"]}
        assert tags == {PARENT_TAG: a1, "team": "a"}, j2
        assert j2["jobName"] == "nightly-retry-1" and j2["totalRecordCount"] == \
            j1["errorRecordCount"], j2
        assert j2["roleArn"] == j1["roleArn"] and j2["modelId"] == HAIKU
        # So does List.
        st, err, body = aws_call(srv.base, "GET", "/model-invocation-jobs", key=KEY)
        assert st == 200, (st, err, body)
        summ = {s["jobArn"]: s for s in body["invocationJobSummaries"]}
        assert {t["key"]: t["value"] for t in summ[a2]["tags"]}[PARENT_TAG] == a1
        g = barge("get", a2, "--json", env=env)
        assert g.rc == 0 and PARENT_TAG in g.out, g
        if j2["errorRecordCount"] == 0:
            raise AssertionError("the second generation should fail some records: %s" % j2)

        # Generation 3 on a server whose backend no longer fails (same state).
        assert srv.stop() == 0
        srv = Serve(serve_config(d, 0), log, env={"TEAM_A_SECRET": KEY[1]})
        env["BARGE_ENDPOINT"] = srv.base
        r = barge("retry", a2, env=env)
        assert r.rc == 0, r
        a3 = r.out.strip()
        assert re.fullmatch(r"arn:aws:bedrock:[a-z0-9-]+:111111111111:model-invocation-job/"
                            r"[a-z0-9]{12}", a3), a3
        assert barge("wait", a3, "--no-progress", env=env).rc == 0
        j3 = wait_status(srv.base, a3, {"Completed"}, key=KEY)
        assert j3["jobName"] == "nightly-retry-2" and j3["errorRecordCount"] == 0, j3
        assert {t["key"]: t["value"] for t in j3["tags"]}[PARENT_TAG] == a2

        m = barge("results", "--merge", a1, a2, a3, env=env)
        assert m.rc == 0, m
        check_merged(m.out.splitlines(), texts, ["R%06d" % i for i in range(n)])
        # Given out of order, the merge warns.
        m = barge("results", "--merge", a2, a1, env=env)
        assert "give the jobs oldest first" in m.err, m

        # Nothing left to retry.
        r = barge("retry", a3, env=env)
        assert r.rc == 0 and "nothing to retry" in r.err and r.out == "", r
        # A job the server does not have.
        r = barge("retry", "zzzzzzzzzzzz", env=env)
        assert r.rc == 1 and "ResourceNotFoundException" in r.err, r
    finally:
        assert srv.stop() == 0
        clean(Result(0, "", srv.logs()))
