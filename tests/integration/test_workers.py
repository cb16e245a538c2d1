"""test_workers.py - barge serve and barge worker processes sharing jobs
through a real PostgreSQL server (tests/pg.sh, started by tests/run.sh): the
work spreads over the workers, a worker or the server killed with kill -9
costs at most its chunks in flight, and every record ends in the output
exactly once and is counted once. Each test has a database of its own."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
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


def stop_all(srv, workers):
    """Stops the workers, then the server (either may be None): each must
    exit 0, a clean stop without a sanitizer report."""
    for w in workers:
        if w:
            assert w.stop() == 0, w.logs()[-3000:]
    if srv:
        assert srv.stop() == 0, srv.logs()[-3000:]


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
        stop_all(srv, workers)


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
        stop_all(srv, [b])


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
        stop_all(srv, [w])


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
        stop_all(srv, [w])


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


PG_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg.sh")


class PrivatePostgres:
    """A PostgreSQL server of the test's own (tests/pg.sh), for tests that
    stop and start it: the tests' shared server must stay up."""

    def __init__(self):
        # Not under the test's directory: the user postgres must reach it.
        self.dir = tempfile.mkdtemp(prefix="barge-pg-")
        r = subprocess.run([PG_SH, "start", self.dir], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.url = r.stdout.strip()
        with open(os.path.join(self.dir, "port")) as f:
            self.port = f.read().strip()
        bindirs = [b for b in sorted(glob.glob("/usr/lib/postgresql/*/bin"))
                   if os.access(os.path.join(b, "pg_ctl"), os.X_OK)]
        self.bindir = os.environ.get("PG_BINDIR") or bindirs[-1]

    def pg_ctl(self, *args):
        cmd = [os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.dir, "data")]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd + list(args), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    def stop(self):
        """Stops the server as a crash would (its clients' connections break)."""
        self.pg_ctl("-m", "immediate", "-w", "stop")

    def start(self):
        """Starts it again, as tests/pg.sh did."""
        self.pg_ctl("-l", os.path.join(self.dir, "server.log"), "-w", "-t", "30", "-o",
                    "-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c max_connections=200" % (self.port, self.dir), "start")

    def close(self):
        subprocess.run([PG_SH, "stop", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def barge_connections(url):
    """Ends every connection barge has to url's database, as a failover or
    an administrator would; returns how many there were."""
    db = url.rsplit("/", 1)[1]
    admin = os.environ["BARGE_TEST_PG"]
    return int(pg_query(admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE datname = '%s' AND application_name = 'barge'" % db)[0][0])


def test_lost_connections_do_not_fail_the_job(d):
    # A connection the server drops fails the call that finds it; the runner
    # lets the job go and takes it again, and the job does not fail.
    url = pg_database()
    cfg = setup(d, url, records=1500, ttft_ms=20, max_concurrency=8)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    workers = []
    try:
        workers = [Worker(cfg, os.path.join(d, "w%d.log" % i), runners=2, env=ENV)
                   for i in range(2)]
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 200)
        for _ in range(4):
            assert barge_connections(url) > 0
            time.sleep(0.3)
        job = wait_status(srv.base, arn, {"Completed", "Failed"}, key=KEY, timeout=120)
        assert job["status"] == "Completed", job
        check_output(d, arn, 1500)
        logs = "".join(w.logs() for w in workers)
        assert "the connection was lost" in logs, logs[-3000:]
    finally:
        stop_all(srv, workers)


def test_postgres_restart_while_the_last_chunks_complete(d):
    # PostgreSQL goes down while each worker finishes its chunk: the
    # completions fail, and so do the releases of the chunks. Once it is back,
    # the leases must not stay in the names of runners that no longer work
    # on them (the heartbeat would renew them for ever and the job would
    # never end).
    pg = PrivatePostgres()
    srv = None
    workers = []
    try:
        url = pg.url
        cfg = setup(d, url, records=100, lease=8, ttft_ms=300, max_concurrency=4)
        srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
        workers = [Worker(cfg, os.path.join(d, "w%d.log" % i), runners=1, env=ENV)
                   for i in range(2)]
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 2)
        # Each chunk needs about 4 s (50 records, 4 at a time, 300 ms each).
        pg.stop()
        time.sleep(6)
        pg.start()
        job = wait_status(srv.base, arn, {"Completed", "Failed"}, key=KEY, timeout=40)
        assert job["status"] == "Completed", job
        check_output(d, arn, 100)
        assert pg_query(url, "SELECT count(*) FROM chunks WHERE state <> 2") == [["0"]]
        # Every call of every thread failed for 6 s: each thread says so
        # once in 10 s, not at every call.
        for p in [srv] + workers:
            assert p.logs().count("error scheduler: ") <= 2, p.logs()
    finally:
        stop_all(srv, workers)
        pg.close()


def test_stalled_worker_loses_its_chunks_not_the_job(d):
    # A worker frozen beyond its lease (SIGSTOP) finds, when it wakes, that
    # its chunks went to another worker: it drops its results, and the job
    # is counted once and does not fail.
    # The two workers' simulators have different seeds, so that their
    # answers (and token counts) differ: the part object the stalled worker
    # writes on waking must not replace the one the store counted, or the
    # output's tokens would disagree with the manifest's.
    url = pg_database()
    cfg = setup(d, url, records=1500, lease=2, ttft_ms=40, max_concurrency=8)
    with open(cfg) as f:
        other = write_config(os.path.join(d, "other.ini"),
                             f.read().replace("kind = sim\n", "kind = sim\nseed = 99\n"))
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    a = b = None
    try:
        a = Worker(cfg, os.path.join(d, "a.log"), runners=2, env=ENV)
        arn = create(srv.base, d)
        wait_processed(srv.base, arn, 100)
        a.proc.send_signal(signal.SIGSTOP)
        b = Worker(other, os.path.join(d, "b.log"), runners=2, env=ENV)
        time.sleep(4)
        a.proc.send_signal(signal.SIGCONT)
        job = wait_status(srv.base, arn, {"Completed", "Failed"}, key=KEY, timeout=120)
        assert job["status"] == "Completed", job
        check_output(d, arn, 1500)
        assert "no longer leased by this runner" in a.logs(), a.logs()[-3000:]
    finally:
        if a:
            a.proc.send_signal(signal.SIGCONT)
        stop_all(srv, [a, b])


def test_worker_without_the_model_leaves_the_job_to_others(d):
    # The server accepted a model this worker's configuration lacks: the
    # worker says so and leaves the job to the workers that have it.
    url = pg_database()
    cfg = setup(d, url, records=300, ttft_ms=10, max_concurrency=8)
    with open(cfg) as f:
        text = f.read()
    model = ("[model.my-claude]\nfamily = anthropic-messages\nbackend = sim\n"
             "upstream_model = claude\n")
    full = write_config(os.path.join(d, "full.ini"), text + model)
    lacking = write_config(os.path.join(d, "lacking.ini"), text.replace("/data", "/ldata"))
    srv = Serve(full, os.path.join(d, "serve.log"), env=ENV)
    bad = good = None
    try:
        bad = Worker(lacking, os.path.join(d, "bad.log"), runners=1, env=ENV)
        body = {"jobName": "mine", "roleArn": "arn:aws:iam::111111111111:role/batch",
                "modelId": "my-claude",
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "file://%s/in/a.jsonl" % d}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://%s/out/" % d}}}
        st, err, out = aws_call(srv.base, "POST", "/model-invocation-job", body, key=KEY)
        assert st == 200, (st, err, out)
        arn = out["jobArn"]
        wait_status(srv.base, arn, {"InProgress"}, key=KEY)
        time.sleep(2)
        good = Worker(full, os.path.join(d, "good.log"), runners=1, env=ENV)
        job = wait_status(srv.base, arn, {"Completed", "Failed"}, key=KEY, timeout=60)
        assert job["status"] == "Completed", job
        check_output(d, arn, 300)
        assert "model my-claude is not configured" in bad.logs(), bad.logs()
        assert "leaves it to the other runners" in bad.logs(), bad.logs()
    finally:
        stop_all(srv, [bad, good])


def test_worker_that_cannot_journal_backs_off(d):
    # A worker whose data directory is unusable fails every chunk it takes.
    # That may be its own fault alone: it lets the job go, pausing longer
    # each time, and another worker completes the job.
    url = pg_database()
    cfg = setup(d, url, records=600, ttft_ms=20, max_concurrency=8)
    with open(cfg) as f:
        broken = write_config(os.path.join(d, "broken.ini"),
                              f.read().replace("/data", "/bdata"))
    os.makedirs(os.path.join(d, "bdata"))
    with open(os.path.join(d, "bdata", "journal"), "w") as f:
        f.write("a file where the journals' directory should be\n")
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=ENV)
    bad = good = None
    try:
        bad = Worker(broken, os.path.join(d, "bad.log"), runners=1, env=ENV)
        arn = create(srv.base, d)
        wait_status(srv.base, arn, {"InProgress", "Failed"}, key=KEY)
        time.sleep(4)
        job = wait_status(srv.base, arn, {"InProgress", "Failed"}, key=KEY)
        assert job["status"] == "InProgress", job
        # Pauses of 1 s, 2 s, 4 s: three attempts in 4 s, not one every poll.
        tries = bad.logs().count("let it go after an error")
        assert 2 <= tries <= 4, bad.logs()
        assert "tries again in 2 s" in bad.logs(), bad.logs()
        good = Worker(cfg, os.path.join(d, "good.log"), runners=1, env=ENV)
        job = wait_status(srv.base, arn, {"Completed", "Failed"}, key=KEY, timeout=60)
        assert job["status"] == "Completed", job
        check_output(d, arn, 600)
    finally:
        stop_all(srv, [bad, good])


def test_store_password_never_logged_wherever_it_is(d):
    # libpq takes a password with '?' or '#' in the URL's user part, and one
    # in the options: neither may reach a log.
    url = pg_database()
    for i, shown in enumerate([url.replace("postgres://postgres@", "postgres://postgres:hun?ter2@"),
                               url.replace("postgres://postgres@", "postgres://postgres:hun#ter2@"),
                               url + "?sslmode=disable&password=hunter2"]):
        sub = os.path.join(d, str(i))
        cfg = setup(sub, shown, runners=1, records=20)
        w = Worker(cfg, os.path.join(sub, "w.log"), runners=1, env=ENV)
        srv = Serve(cfg, os.path.join(sub, "serve.log"), env=ENV)
        try:
            arn = create(srv.base, sub)
            wait_status(srv.base, arn, {"Completed"}, key=KEY, timeout=60)
        finally:
            stop_all(srv, [w])
        for logs in (w.logs(), srv.logs()):
            assert "store postgres://postgres" in logs, logs
            assert "ter2" not in logs, logs
    # A raw '/' in a password makes libpq read another host and database:
    # refused, with the remedy, and nothing of the password shown.
    bad = url.replace("postgres://postgres@", "postgres://postgres:hun/ter2@")
    cfg = setup(d, bad, runners=1)
    for cmd in (["worker"], ["serve", "--listen", "127.0.0.1:0"]):
        r = barge(*cmd, "--config", cfg, env=ENV, timeout=60)
        assert r.rc == 2, r
        assert "%2F" in r.err and "hun" not in r.err and "ter2" not in r.err, r.err
