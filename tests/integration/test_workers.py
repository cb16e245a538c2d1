"""test_workers.py - barge serve and barge worker processes sharing jobs
through a real PostgreSQL server (tests/pg.sh, started by tests/run.sh): the
work spreads over the workers, a worker or the server killed with kill -9
costs at most its chunks in flight, and every record ends in the output
exactly once and is counted once. Each test has a database of its own."""
import os
import time
import urllib.parse

from lib import *

KEY = ("AKIDTEST", "secret-of-team-a")
ENV = {"TEAM_A_SECRET": KEY[1]}


def setup(d, store, records=1000, runners=0, lease=2, **sim):
    os.makedirs(os.path.join(d, "in"), exist_ok=True)
    os.makedirs(os.path.join(d, "out"), exist_ok=True)
    write_jsonl(os.path.join(d, "in", "a.jsonl"), claude_records(records))
    extra = "".join("%s = %s\n" % kv for kv in sim.items())
    return write_config(os.path.join(d, "c.ini"), """
[server]
data = %(d)s/data
store = %(store)s
runners = %(runners)d
lease_seconds = %(lease)d
[account.team-a]
account_id = 111111111111
access_key_id = %(k)s
secret_access_key_env = TEAM_A_SECRET
allowed_uris = file://%(d)s/in/, file://%(d)s/out/
[limits]
chunk_records = 50
[backend.sim]
kind = sim
%(extra)s
""" % {"d": d, "store": store, "runners": runners, "lease": lease, "k": KEY[0],
       "extra": extra})


def create(base, d, name="job1"):
    body = {"jobName": name, "roleArn": "arn:aws:iam::111111111111:role/batch",
            "modelId": HAIKU,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "file://%s/in/a.jsonl" % d}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://%s/out/" % d}}}
    st, err, out = aws_call(base, "POST", "/model-invocation-job", body, key=KEY)
    assert st == 200, (st, err, out)
    return out["jobArn"]


def processed(base, arn):
    st, err, job = aws_call(base, "GET", "/model-invocation-job/" +
                            urllib.parse.quote(arn, safe=""), key=KEY)
    assert st == 200, (st, err, job)
    return job.get("processedRecordCount", 0)


def wait_processed(base, arn, at_least, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if processed(base, arn) >= at_least:
            return
        time.sleep(0.1)
    raise AssertionError("fewer than %d records processed within %ds" % (at_least, timeout))


def stop_job(base, arn):
    st, err, _ = aws_call(base, "POST", "/model-invocation-job/%s/stop" %
                          urllib.parse.quote(arn, safe=""), key=KEY)
    assert st == 200, (st, err)


def check_stopped(d, arn, job):
    """A Stopped job's output: each processed record once, as many as counted."""
    jid = arn.rsplit("/", 1)[1]
    ids = [l["recordId"] for l in read_jsonl(os.path.join(d, "out", jid, "a.jsonl.out"))]
    assert len(ids) == len(set(ids)) and job["processedRecordCount"] == len(ids), \
        (job, len(ids))
    return ids


def check_output(d, arn, n):
    """Every input record once, in order, and counts and tokens that match
    the lines (nothing billed twice)."""
    jid = arn.rsplit("/", 1)[1]
    lines = read_jsonl(os.path.join(d, "out", jid, "a.jsonl.out"))
    assert_exactly_once(lines, ["R%06d" % i for i in range(n)])
    m = manifest(os.path.join(d, "out"))
    assert (m["totalRecordCount"], m["processedRecordCount"], m["successRecordCount"],
            m["errorRecordCount"]) == (n, n, n, 0), m
    tokens_in = sum(l["modelOutput"]["usage"]["input_tokens"] for l in lines)
    tokens_out = sum(l["modelOutput"]["usage"]["output_tokens"] for l in lines)
    assert (m["inputTokenCount"], m["outputTokenCount"]) == (tokens_in, tokens_out), m
    return lines


def test_two_workers_share_one_job(d):
    url = pg_database()
    cfg = setup(d, url, records=1000, ttft_ms=40, max_concurrency=8)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    workers = []
    try:
        workers = [Worker(cfg, os.path.join(d, "w%d.log" % i), runners=1, env=ENV)
                   for i in range(2)]
        arn = create(srv.base, d)
        job = wait_status(srv.base, arn, {"Completed"}, key=KEY, timeout=120)
        assert job["processedRecordCount"] == 1000, job
        check_output(d, arn, 1000)
        jid = arn.rsplit("/", 1)[1]
        for w in workers:
            assert "job %s: runner worker-" % jid in w.logs(), w.logs()
        # The server has no runner: the workers did all of it.
        assert "runner serve-" not in srv.logs()
        rows = pg_query(url, "SELECT count(*), sum(processed) FROM chunks WHERE job_id = '%s'"
                        " AND state = 2" % jid)
        assert rows == [["20", "1000"]], rows
    finally:
        for w in workers:
            assert w.stop() == 0, w.logs()[-3000:]
        assert srv.stop() == 0


def test_worker_killed_mid_job_loses_nothing(d):
    url = pg_database()
    cfg = setup(d, url, records=1000, lease=2, ttft_ms=40, max_concurrency=8)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    a = b = None
    try:
        a = Worker(cfg, os.path.join(d, "a.log"), runners=1, env=ENV)
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 100)
        b = Worker(cfg, os.path.join(d, "b.log"), runners=1, env=ENV)
        held = pg_query(url, "SELECT count(*) FROM chunks WHERE state = 1 AND"
                             " lease_owner LIKE 'worker-%%-%d-%%'" % a.proc.pid)
        a.kill()
        # The dead worker held chunks: the job completes only if they are redone.
        assert int(held[0][0]) > 0, held
        job = wait_status(srv.base, arn, {"Completed"}, key=KEY, timeout=120)
        assert job["processedRecordCount"] == 1000, job
        check_output(d, arn, 1000)
    finally:
        kill_now(a.proc if a else None)
        if b:
            assert b.stop() == 0, b.logs()[-3000:]
        assert srv.stop() == 0


def test_server_killed_workers_go_on(d):
    url = pg_database()
    cfg = setup(d, url, records=600, ttft_ms=30, max_concurrency=8)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    w = None
    try:
        w = Worker(cfg, os.path.join(d, "w.log"), runners=2, env=ENV)
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 50)
        srv.kill()
        time.sleep(1)
        # The worker went on without the server.
        jid = arn.rsplit("/", 1)[1]
        before = int(pg_query(url, "SELECT coalesce(sum(processed), 0) FROM chunks"
                                   " WHERE job_id = '%s' AND state = 2" % jid)[0][0])
        time.sleep(1.5)
        after = int(pg_query(url, "SELECT coalesce(sum(processed), 0) FROM chunks"
                                  " WHERE job_id = '%s' AND state = 2" % jid)[0][0])
        assert after > before, (before, after)
        srv.start()
        job = wait_status(srv.base, arn, {"Completed"}, key=KEY, timeout=120)
        assert job["processedRecordCount"] == 600, job
        check_output(d, arn, 600)
    finally:
        if w:
            assert w.stop() == 0, w.logs()[-3000:]
        assert srv.stop() == 0


def test_stop_while_workers_run(d):
    url = pg_database()
    cfg = setup(d, url, records=2000, ttft_ms=50, max_concurrency=4)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    w = None
    try:
        w = Worker(cfg, os.path.join(d, "w.log"), runners=1, env=ENV)
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 60)
        stop_job(srv.base, arn)
        job = wait_status(srv.base, arn, {"Stopped"}, key=KEY, timeout=60)
        ids = check_stopped(d, arn, job)
        assert 60 <= len(ids) < 2000, len(ids)
        # The worker is free again: no chunk stays leased.
        assert pg_query(url, "SELECT count(*) FROM chunks WHERE state = 1") == [["0"]]
    finally:
        if w:
            assert w.stop() == 0, w.logs()[-3000:]
        assert srv.stop() == 0


def test_stop_after_the_only_worker_died(d):
    # Nobody else will lease the dead worker's chunks: the lifecycle must see
    # their leases run out before the job can become Stopped.
    url = pg_database()
    cfg = setup(d, url, records=1000, lease=2, ttft_ms=50, max_concurrency=4)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    w = None
    try:
        w = Worker(cfg, os.path.join(d, "w.log"), runners=1, env=ENV)
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 60)
        w.kill()
        stop_job(srv.base, arn)
        job = wait_status(srv.base, arn, {"Stopped"}, key=KEY, timeout=30)
        assert "went silent are pending again" in srv.logs(), srv.logs()
        check_stopped(d, arn, job)
    finally:
        kill_now(w.proc if w else None)
        assert srv.stop() == 0


def test_worker_needs_postgres(d):
    cfg = setup(d, "sqlite:%s/data/barge.db" % d)
    r = barge("worker", "--config", cfg, env=ENV, timeout=30)
    assert r.rc == 2, r
    assert "SQLite" in r.err and "postgres://" in r.err, r.err
    # A SQLite server without runners could never run a job: refused too.
    cfg = setup(d, "sqlite:%s/data/barge.db" % d, runners=0)
    r = barge("serve", "--config", cfg, "--listen", "127.0.0.1:0", env=ENV, timeout=30)
    assert r.rc == 2 and "runners = 0" in r.err, r


def test_unreachable_store_is_a_clear_error(d):
    port = free_port()
    cfg = setup(d, "postgres://barge:hunter2@127.0.0.1:%d/barge" % port, runners=1)
    for cmd in (["worker"], ["serve", "--listen", "127.0.0.1:0"]):
        r = barge(*cmd, "--config", cfg, env=ENV, timeout=60)
        assert r.rc == 2, r
        assert "127.0.0.1" in r.err and str(port) in r.err, r.err
        assert "hunter2" not in r.err, r.err


def test_store_password_never_logged(d):
    # The tests' server trusts every local connection, so any password works.
    url = pg_database()
    with_pw = url.replace("postgres://postgres@", "postgres://postgres:hunter2@")
    cfg = setup(d, with_pw, runners=1, records=20)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    try:
        arn = create(srv.base, d)
        wait_status(srv.base, arn, {"Completed"}, key=KEY, timeout=60)
    finally:
        assert srv.stop() == 0
    logs = srv.logs()
    assert "postgres:***@" in logs, logs
    assert "hunter2" not in logs, logs
