"""test_serve.py - barge serve as an operator sees it: durability across
kill -9, queueing and stops through the lifecycle, health and metrics, logs
without secrets. (The AWS SDK's view of the API is test_api_sdk.py's.)"""
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from lib import *

KEY = ("AKIDTEST", "secret-of-team-a/+")
OTHER = ("AKIDOTHER", "secret-of-team-b")


def setup(d, records=300, runners=2, **sim):
    os.makedirs(os.path.join(d, "in"))
    os.makedirs(os.path.join(d, "out"))
    write_jsonl(os.path.join(d, "in", "a.jsonl"), claude_records(records))
    extra = "".join("%s = %s\n" % kv for kv in sim.items())
    cfg = write_config(os.path.join(d, "c.ini"), """
[server]
data = %(d)s/data
runners = %(runners)d
[account.team-a]
account_id = 111111111111
access_key_id = %(k)s
secret_access_key_env = TEAM_A_SECRET
allowed_uris = file://%(d)s/in/, file://%(d)s/out/
max_running_jobs_per_model = 1
max_queued_jobs_per_model = 3
[account.team-b]
account_id = 222222222222
access_key_id = %(o)s
secret_access_key = %(os)s
allowed_uris = file://%(d)s/b/
[backend.sim]
kind = sim
%(extra)s
""" % {"d": d, "runners": runners, "k": KEY[0], "o": OTHER[0], "os": OTHER[1], "extra": extra})
    return cfg


def create(base, d, name="job1", key=KEY, **more):
    body = {"jobName": name, "roleArn": "arn:aws:iam::111111111111:role/batch",
            "modelId": HAIKU,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "file://%s/in/a.jsonl" % d}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://%s/out/" % d}}}
    body.update(more)
    return aws_call(base, "POST", "/model-invocation-job", body, key=key)


def job_path(arn):
    return "/model-invocation-job/" + urllib.parse.quote(arn, safe="")


def test_job_runs_to_completion(d):
    cfg = setup(d, records=600, ttft_ms=2)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env={"TEAM_A_SECRET": KEY[1]})
    try:
        st, err, body = create(srv.base, d)
        assert st == 200, (st, err, body)
        job = wait_status(srv.base, body["jobArn"], {"Completed"}, key=KEY)
        assert (job["totalRecordCount"], job["processedRecordCount"], job["errorRecordCount"]) \
            == (600, 600, 0)
        jid = body["jobArn"].rsplit("/", 1)[1]
        lines = read_jsonl(os.path.join(d, "out", jid, "a.jsonl.out"))
        assert len(lines) == 600
        m = manifest(os.path.join(d, "out"))
        assert m["status"] == "Completed" and m["jobArn"] == body["jobArn"]
    finally:
        assert srv.stop() == 0


def test_kill9_and_restart_resumes_every_job(d):
    cfg = setup(d, records=2000, ttft_ms=20, max_concurrency=16)
    env = {"TEAM_A_SECRET": KEY[1]}
    srv = Serve(cfg, os.path.join(d, "serve.log"), env=env)
    arns = []
    try:
        for i in range(2):
            st, err, body = create(srv.base, d, name="big-%d" % i)
            assert st == 200, (st, err, body)
            arns.append(body["jobArn"])
        wait_status(srv.base, arns[0], {"InProgress"}, key=KEY)
        # Kill it while the first job runs and the second waits its turn.
        for _ in range(3):
            time.sleep(0.7)
            srv.kill()
            srv = Serve(cfg, os.path.join(d, "serve.log"), env=env)
        jobs = [wait_status(srv.base, a, {"Completed"}, key=KEY, timeout=120) for a in arns]
        for job, arn in zip(jobs, arns):
            jid = arn.rsplit("/", 1)[1]
            lines = read_jsonl(os.path.join(d, "out", jid, "a.jsonl.out"))
            assert_exactly_once(lines, ["R%06d" % i for i in range(2000)])
            m = json.load(open(os.path.join(d, "out", jid, "manifest.json.out")))
            ins = sum(l["modelOutput"]["usage"]["input_tokens"] for l in lines)
            outs = sum(l["modelOutput"]["usage"]["output_tokens"] for l in lines)
            # Nothing billed twice: the counts are the records' own.
            assert (m["inputTokenCount"], m["outputTokenCount"]) == (ins, outs)
            assert job["processedRecordCount"] == 2000
        assert "resuming" in srv.logs()
    finally:
        assert srv.stop() == 0


def test_queue_at_the_running_quota_and_stops(d):
    cfg = setup(d, records=3000, ttft_ms=30, max_concurrency=8)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env={"TEAM_A_SECRET": KEY[1]})
    try:
        arns = []
        for i in range(3):
            st, err, body = create(srv.base, d, name="q-%d" % i)
            assert st == 200, (st, err, body)
            arns.append(body["jobArn"])
        first = wait_status(srv.base, arns[0], {"InProgress"}, key=KEY)
        # One job at a time may run for this account and model.
        time.sleep(0.5)
        _, _, second = aws_call(srv.base, "GET", job_path(arns[1]), key=KEY)
        assert second["status"] == "Scheduled", second
        # A fourth waiting job is over max_queued_jobs_per_model = 3.
        st, err, body = create(srv.base, d, name="q-3")
        st, err, body = create(srv.base, d, name="q-4")
        assert st == 400 and err == "ServiceQuotaExceededException", (st, err, body)
        # Stop the waiting ones and the running one.
        for arn in (arns[1], arns[0]):
            st, err, body = aws_call(srv.base, "POST", job_path(arn) + "/stop", key=KEY)
            assert st == 200, (st, err, body)
        stopped = wait_status(srv.base, arns[1], {"Stopped"}, key=KEY)
        assert stopped["processedRecordCount"] == 0
        run = wait_status(srv.base, arns[0], {"Stopped"}, key=KEY)
        assert 0 < run["processedRecordCount"] < 3000, run
        jid = arns[0].rsplit("/", 1)[1]
        lines = read_jsonl(os.path.join(d, "out", jid, "a.jsonl.out"))
        # A stopped job keeps what it finished, and its manifest says so.
        m = json.load(open(os.path.join(d, "out", jid, "manifest.json.out")))
        assert m["status"] == "Stopped" and len(lines) == m["processedRecordCount"]
        # The third job runs once the first is out of the way.
        wait_status(srv.base, arns[2], {"InProgress", "Completed"}, key=KEY)
        st, err, body = aws_call(srv.base, "POST", job_path(arns[1]) + "/stop", key=KEY)
        assert st == 400 and err == "ConflictException", (st, err, body)
    finally:
        assert srv.stop() == 0


def test_health_metrics_and_logs(d):
    cfg = setup(d, records=100)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env={"TEAM_A_SECRET": KEY[1]})
    try:
        with urllib.request.urlopen(srv.base + "/healthz") as r:
            assert r.status == 200 and json.loads(r.read())["status"] == "ok"
        st, err, body = create(srv.base, d)
        wait_status(srv.base, body["jobArn"], {"Completed"}, key=KEY)
        aws_call(srv.base, "GET", "/model-invocation-jobs", key=("AKIDTEST", "wrong"))
        with urllib.request.urlopen(srv.base + "/metrics") as r:
            text = r.read().decode()
        assert 'barge_jobs{status="Completed"} 1' in text
        assert "barge_records_processed_total 100" in text
        assert 'barge_backend_requests_total{backend="sim",outcome="ok"} 100' in text
        assert 'barge_backend_request_duration_seconds_count{backend="sim"} 100' in text
        assert "# TYPE barge_backend_request_duration_seconds histogram" in text
    finally:
        assert srv.stop() == 0
    logs = srv.logs()
    # One line per transition and per request, and never a secret.
    for s in ("Submitted" if False else "Validating", "Scheduled", "InProgress", "Completed"):
        assert s in logs, s
    assert "POST /model-invocation-job" in logs and "InvalidSignatureException" in logs
    assert KEY[1] not in logs and OTHER[1] not in logs and "wrong" not in logs


def test_barge_client_commands_against_the_server(d):
    cfg = setup(d, records=1200, ttft_ms=10, max_concurrency=8)
    srv = Serve(cfg, os.path.join(d, "serve.log"), env={"TEAM_A_SECRET": KEY[1]})
    env = {"AWS_ACCESS_KEY_ID": KEY[0], "AWS_SECRET_ACCESS_KEY": KEY[1],
           "BARGE_ENDPOINT": srv.base, "BARGE_PROGRESS_INTERVAL_MS": "100"}
    try:
        r = barge("submit", "--input", os.path.join(d, "in", "a.jsonl"), "--output",
                  os.path.join(d, "out"), "--model", HAIKU, "--name", "from-cli", env=env)
        assert r.rc == 0, r
        arn = r.out.strip()
        assert re.fullmatch(r"arn:aws:bedrock:[a-z0-9-]+:111111111111:model-invocation-job/"
                            r"[a-z0-9]{12}", arn), arn
        w = barge("wait", arn, "--no-progress", env=env)
        assert w.rc == 0, w
        g = barge("get", arn, "--json", env=env)
        job = json.loads(g.out)
        assert job["status"] == "Completed" and job["processedRecordCount"] == 1200
        out = barge("results", arn, env=env)
        assert out.rc == 0 and len(out.out.splitlines()) == 1200
        l = barge("list", "--json", "--all", env=env)
        assert l.rc == 0
        assert [j["jobArn"] for j in json.loads(l.out)["invocationJobSummaries"]] == [arn]
        # A second job, stopped from the command line while it runs.
        r = barge("submit", "--input", os.path.join(d, "in", "a.jsonl"), "--output",
                  os.path.join(d, "out"), "--model", HAIKU, "--name", "to-stop", env=env)
        arn2 = r.out.strip()
        wait_status(srv.base, arn2, {"InProgress"}, key=KEY)
        s = barge("stop", arn2, env=env)
        assert s.rc == 0, s
        w = barge("wait", arn2, env=env)
        assert w.rc == 3 and "Stopped" in (w.out + w.err), w
        # Another account sees neither job.
        other = dict(env, AWS_ACCESS_KEY_ID=OTHER[0], AWS_SECRET_ACCESS_KEY=OTHER[1])
        g = barge("get", arn, env=other)
        assert g.rc != 0 and "ResourceNotFoundException" in g.err, g
        l = barge("list", "--json", env=other)
        assert json.loads(l.out)["invocationJobSummaries"] == []
    finally:
        assert srv.stop() == 0


def test_unsigned_requests_and_early_stop(d):
    cfg = setup(d, records=10)
    # A big input takes a while to validate: a stop lands before it runs.
    write_jsonl(os.path.join(d, "in", "big.jsonl"), claude_records(40000))
    srv = Serve(cfg, os.path.join(d, "serve.log"), env={"TEAM_A_SECRET": KEY[1]})
    try:
        req = urllib.request.Request(srv.base + "/model-invocation-jobs")
        try:
            urllib.request.urlopen(req)
            raise AssertionError("an unsigned request was answered")
        except urllib.error.HTTPError as e:
            assert e.code == 403
            assert e.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException", \
                e.headers["x-amzn-ErrorType"]
        body = {"jobName": "early", "roleArn": "arn:aws:iam::111111111111:role/batch",
                "modelId": HAIKU,
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "file://%s/in/big.jsonl" % d}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://%s/out/" % d}}}
        st, err, r = aws_call(srv.base, "POST", "/model-invocation-job", body, key=KEY)
        assert st == 200, (st, err, r)
        st, err, _ = aws_call(srv.base, "POST", job_path(r["jobArn"]) + "/stop", key=KEY)
        assert st == 200, (st, err)
        job = wait_status(srv.base, r["jobArn"], {"Stopped"}, key=KEY)
        # Stopped before (or just as) it started: nothing, or next to nothing, ran.
        assert job["processedRecordCount"] < 40000, job
        jid = r["jobArn"].rsplit("/", 1)[1]
        assert os.path.exists(os.path.join(d, "out", jid, "manifest.json.out"))
        assert not os.path.exists(os.path.join(d, "out", jid, "parts"))
    finally:
        assert srv.stop() == 0


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records webhook deliveries and
    answers 500 to the first `fail` of them."""

    def __init__(self, secret, fail=0):
        import http.server
        import threading
        self.secret, self.fail, self.got = secret, fail, []
        me = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                me.got.append((dict(self.headers), body, time.time()))
                code = 500 if len(me.got) <= me.fail else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def verify(self, headers, body):
        import hashlib
        import hmac
        sig = headers["X-Barge-Signature"]
        parts = dict(p.split("=", 1) for p in sig.split(","))
        want = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_webhooks_signed_retried_never_blocking(d):
    ops = Receiver("ops-secret", fail=2)
    other = Receiver("other-secret")
    try:
        cfg = setup(d, records=50)
        with open(cfg, "a") as f:
            f.write("[webhook.ops]\nurl = %s\nsecret = ops-secret\n"
                    "[webhook.other]\nurl = %s\nsecret_env = OTHER_HOOK_SECRET\n"
                    % (ops.url, other.url))
        text = open(cfg).read().replace("max_queued_jobs_per_model = 3",
                                        "max_queued_jobs_per_model = 3\nwebhook = ops")
        open(cfg, "w").write(text)
        srv = Serve(cfg, os.path.join(d, "serve.log"),
                    env={"TEAM_A_SECRET": KEY[1], "OTHER_HOOK_SECRET": "other-secret"})
        try:
            st, err, a = create(srv.base, d, name="default-hook")
            st2, err2, b = create(srv.base, d, name="tagged-hook",
                                  tags=[{"key": "barge:webhook", "value": "other"}])
            assert st == 200 and st2 == 200, (err, err2)
            done = wait_status(srv.base, a["jobArn"], {"Completed"}, key=KEY)
            t_done = time.time()
            wait_status(srv.base, b["jobArn"], {"Completed"}, key=KEY)
            # The job did not wait for its webhook: two 500s and their backoff
            # are still ahead of the successful delivery.
            assert len([g for g in ops.got if g[2] <= t_done]) < 3
            deadline = time.time() + 30
            while time.time() < deadline and (len(ops.got) < 3 or not other.got):
                time.sleep(0.1)
            assert len(ops.got) == 3, len(ops.got)
            assert len(other.got) == 1
            ids = {h["X-Barge-Event-Id"] for h, _, _ in ops.got}
            assert len(ids) == 1                       # one event, retried
            for h, body, _ in ops.got:
                assert ops.verify(h, body)
            h, body, _ = other.got[0]
            assert other.verify(h, body) and not ops.verify(h, body)
            ev = json.loads(ops.got[-1][1])
            assert (ev["type"], ev["status"], ev["jobArn"]) == ("job.ended", "Completed", a["jobArn"])
            assert ev["processedRecordCount"] == 50 == done["processedRecordCount"]
            assert ev["inputTokenCount"] > 0 and "batchCost" in ev["cost"]
            assert json.loads(other.got[0][1])["jobArn"] == b["jobArn"]
            # A tag naming no configured webhook is refused at creation.
            st, err, _ = create(srv.base, d, name="bad-hook",
                                tags=[{"key": "barge:webhook", "value": "nope"}])
            assert st == 400 and err == "ValidationException"
            _, _, got = aws_call(srv.base, "GET", job_path(b["jobArn"]), key=KEY)
            assert {"key": "barge:webhook", "value": "other"} in got["tags"]
        finally:
            assert srv.stop() == 0
        assert "ops-secret" not in srv.logs() and "other-secret" not in srv.logs()
    finally:
        ops.stop()
        other.stop()
