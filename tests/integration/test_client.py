"""test_client.py - the client commands (submit, get, list, stop, wait,
results) against a fake Bedrock control plane in this file: it verifies every
request's SigV4 signature, records what was sent and answers in the shapes
of reference/bedrock-batch.md, errors included."""
import hashlib
import hmac
import json
import os
import pty
import re
import select
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote

from lib import *

AKID, SECRET = "AKIDCLIENTTEST", "client/test+secret"
TEAM_AKID, TEAM_SECRET = "AKIDTEAMA", "team-a-secret"
SECRETS = {AKID: SECRET, TEAM_AKID: TEAM_SECRET}
KEYS = ["--access-key-id", AKID, "--secret-access-key", SECRET]
ACCOUNT = "123456789012"
JOB_ID = "abcd1234efgh"


def arn(job_id, region="us-east-1"):
    return "arn:aws:bedrock:%s:%s:model-invocation-job/%s" % (region, ACCOUNT, job_id)


def job(job_id=JOB_ID, status="InProgress", processed=0, total=0, errors=0,
        output="s3://bucket/out/", message=None, name="nightly-1"):
    """A job object as GetModelInvocationJob answers it."""
    o = {"jobArn": arn(job_id), "jobName": name, "modelId": HAIKU, "roleArn":
         "arn:aws:iam::%s:role/barge" % ACCOUNT, "clientRequestToken": "t-1",
         "status": status, "submitTime": "2026-11-26T05:30:00Z",
         "lastModifiedTime": "2026-11-26T05:31:00Z",
         "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bucket/in/x.jsonl",
                                                   "s3InputFormat": "JSONL"}},
         "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output}},
         "timeoutDurationInHours": 24, "jobExpirationTime": "2026-11-27T05:30:00Z",
         "modelInvocationType": "InvokeModel",
         "totalRecordCount": total, "processedRecordCount": processed,
         "successRecordCount": processed - errors, "errorRecordCount": errors}
    if message:
        o["message"] = message
    if status in ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"):
        o["endTime"] = "2026-11-26T05:40:00Z"
    return o


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Fake:
    """A Bedrock control plane on 127.0.0.1:<free port>. Every request must
    carry a valid SigV4 signature (service bedrock) by one of SECRETS;
    anything wrong is answered 403 and kept in `problems`, which the with
    block asserts empty. `script` holds answers (status, error type, body,
    extra headers) given before the routes, one per request (None: the route's)."""

    def __init__(self):
        self.requests = []
        self.problems = []
        self.script = []
        self.jobs = {}      # id -> list of job objects; each Get moves one on
        self.pages = []     # list answers: pages of summaries
        self.created = JOB_ID
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.handle(self)

            def do_POST(self):
                fake.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if exc_type is None:
            assert not self.problems, "bad requests: %s" % self.problems
        return False

    # -- the signature, checked as AWS does for a non-S3 service --

    def verify(self, method, path, query, headers, body):
        auth = headers.get("authorization", "")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([a-z0-9-]+)/bedrock/"
                         r"aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})",
                         auth)
        if not m:
            return "InvalidSignatureException", "malformed Authorization: %r" % auth
        key, date, region, signed, sig = m.groups()
        amz_date = headers.get("x-amz-date", "")
        if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date) or not amz_date.startswith(date):
            return "InvalidSignatureException", "bad x-amz-date %r" % amz_date
        if headers.get("x-amz-content-sha256") != sha256(body):
            return "InvalidSignatureException", "x-amz-content-sha256 is not the body's hash"
        names = signed.split(";")
        need = ["host", "x-amz-content-sha256", "x-amz-date"]
        if body:
            need.append("content-type")
        if "x-amz-security-token" in headers:
            need.append("x-amz-security-token")
        if any(n not in names for n in need) or names != sorted(names):
            return "InvalidSignatureException", "SignedHeaders %s lacks one of %s" % (signed, need)
        if body and headers.get("content-type") != "application/json":
            return "ValidationException", "content-type %r" % headers.get("content-type")
        if key not in SECRETS:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        # The path as sent is encoded once more for the canonical request.
        curi = quote(path, safe="/-_.~")
        pairs = sorted((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
                       for k, _, v in (p.partition("=") for p in query.split("&") if p))
        cq = "&".join("%s=%s" % kv for kv in pairs)
        ch = "".join("%s:%s\n" % (n, " ".join(headers.get(n, "").split())) for n in names)
        creq = "\n".join([method, curi, cq, ch, signed, sha256(body)])
        scope = "%s/%s/bedrock/aws4_request" % (date, region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(creq.encode())])
        k = hmac256(("AWS4" + SECRETS[key]).encode(), date)
        for part in (region, "bedrock", "aws4_request"):
            k = hmac256(k, part)
        if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != sig:
            return "InvalidSignatureException", "signature mismatch; canonical request:\n" + creq
        return None, (key, region)

    # -- routes --

    def handle(self, h):
        path, _, query = h.path.partition("?")
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        headers = {k.lower(): ",".join(h.headers.get_all(k)) for k in h.headers.keys()}
        req = {"method": h.command, "path": path, "query": query, "body": body,
               "headers": headers, "params": dict(parse_qsl(query, keep_blank_values=True))}
        try:
            req["json"] = json.loads(body) if body else None
        except ValueError:
            req["json"] = None
        self.requests.append(req)
        bad, detail = self.verify(h.command, path, query, headers, body)
        if bad:
            self.problems.append("%s %s: %s: %s" % (h.command, h.path, bad, detail))
            return self.answer(h, 403, {"message": detail}, bad)
        req["key"], req["region"] = detail
        item = self.script.pop(0) if self.script else None
        if item:
            status, etype, out, extra = item
            return self.answer(h, status, out, etype, extra)
        self.route(h, req, path)

    def answer(self, h, status, obj, etype=None, extra=None):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        if etype:
            h.send_header("x-amzn-ErrorType", etype)
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def route(self, h, req, path):
        m = re.fullmatch(r"/model-invocation-job/([^/]+)(/stop)?", path)
        if req["method"] == "POST" and path == "/model-invocation-job":
            return self.answer(h, 200, {"jobArn": arn(self.created)})
        if req["method"] == "GET" and path == "/model-invocation-jobs":
            token = req["params"].get("nextToken")
            i = int(token.split("-")[1]) if token else 0
            out = {"invocationJobSummaries": self.pages[i] if self.pages else []}
            if i + 1 < len(self.pages):
                out["nextToken"] = "page-%d" % (i + 1)
            return self.answer(h, 200, out)
        if m:
            ident = unquote(m.group(1))
            jid = ident.rsplit("/", 1)[-1]
            if jid not in self.jobs:
                return self.answer(h, 404, {"message": "Job %s not found." % ident},
                                   "ResourceNotFoundException")
            if m.group(2) and req["method"] == "POST":
                return self.answer(h, 200, {})
            if req["method"] == "GET" and not m.group(2):
                states = self.jobs[jid]
                return self.answer(h, 200, states.pop(0) if len(states) > 1 else states[0])
        return self.answer(h, 404, {"message": "no route %s %s" % (req["method"], path)},
                           "UnknownOperationException")


def clean_env(extra=None):
    """The environment of a user with no AWS or barge settings and no proxy."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("AWS_") and not k.startswith("BARGE_") and
         not k.lower().endswith("_proxy")}
    e["HOME"] = "/nonexistent-barge-client-home"
    e.update(extra or {})
    return e


def cli(*args, env=None, cwd=None, timeout=60):
    """Runs barge as a user would, checking that no sanitizer spoke up."""
    p = subprocess.run([BARGE] + [str(a) for a in args], capture_output=True, text=True,
                       env=clean_env(env), cwd=cwd, timeout=timeout)
    r = Result(p.returncode, p.stdout, p.stderr)
    assert "Sanitizer" not in r.err and "runtime error:" not in r.err, r
    return r


# ---------------------------------------------------------------- submit


def test_submit_sends_the_create_body(d):
    d = os.path.realpath(d)
    write_jsonl(os.path.join(d, "in.jsonl"), claude_records(2))
    with Fake() as f:
        r = cli("submit", "--input", "sub/../in.jsonl", "--output", "./results//", "--model", HAIKU,
                "--name", "nightly-1", "--role-arn", "arn:aws:iam::111122223333:role/Batch",
                "--timeout-hours", "48", "--invocation-type", "Converse",
                "--tag", "team=ml", "--tag", "note=a=b", "--client-token", "c0ffee-1",
                "--endpoint", f.url, *KEYS, cwd=d)
        assert r.rc == 0, r
        assert r.out == arn(JOB_ID) + "\n", r
        assert len(f.requests) == 1
        q = f.requests[0]
        assert q["method"] == "POST" and q["path"] == "/model-invocation-job" and not q["query"]
        assert q["region"] == "us-east-1" and q["key"] == AKID
        assert q["json"] == {
            "jobName": "nightly-1", "roleArn": "arn:aws:iam::111122223333:role/Batch",
            "modelId": HAIKU, "clientRequestToken": "c0ffee-1",
            "inputDataConfig": {"s3InputDataConfig": {
                "s3Uri": "file://" + os.path.join(d, "in.jsonl"), "s3InputFormat": "JSONL"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://" + d + "/results/"}},
            "timeoutDurationInHours": 48, "modelInvocationType": "Converse",
            "tags": [{"key": "team", "value": "ml"}, {"key": "note", "value": "a=b"}]}, q["json"]


def test_submit_defaults_and_json(d):
    with Fake() as f:
        f.created = "zzzz9999yyyy"
        r = cli("submit", "--input", "s3://bucket/in/", "--output", "s3://bucket/out/",
                "--model", LLAMA, "--json", "--endpoint", f.url + "/", *KEYS)
        assert r.rc == 0, r
        assert r.json() == {"jobArn": arn("zzzz9999yyyy")}
        body = f.requests[0]["json"]
        assert re.fullmatch(r"barge-\d{8}-\d{6}-\d{3}", body["jobName"]), body
        assert re.fullmatch(r"[0-9a-f]{32}", body["clientRequestToken"]), body
        assert body["roleArn"] == "arn:aws:iam::000000000000:role/barge"
        assert body["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == "s3://bucket/in/"
        assert body["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == "s3://bucket/out/"
        for k in ("timeoutDurationInHours", "tags", "modelInvocationType"):
            assert k not in body, body
        # A second submit gets a token of its own.
        r2 = cli("submit", "--input", "s3://b/i.jsonl", "--output", "s3://b/o/", "--model", LLAMA,
                 "--endpoint", f.url, *KEYS)
        assert r2.rc == 0, r2
        assert f.requests[1]["json"]["clientRequestToken"] != body["clientRequestToken"]


def test_submit_usage_errors(d):
    with Fake() as f:
        base = ["--endpoint", f.url] + KEYS
        for args, words in [
            (["--output", "s3://b/o/", "--model", HAIKU], "--input is required"),
            (["--input", "s3://b/i", "--model", HAIKU], "--output is required"),
            (["--input", "s3://b/i", "--output", "s3://b/o/"], "--model is required"),
            (["--input", "s3://b/i", "--output", "s3://b/o/", "--model", HAIKU,
              "--timeout-hours", "12"], "--timeout-hours must be a whole number from 24 to 168"),
            (["--input", "s3://b/i", "--output", "s3://b/o/", "--model", HAIKU,
              "--tag", "novalue"], "--tag takes KEY=VALUE"),
            (["--input", "s3://b/i", "--output", "s3://b/o/", "--model", HAIKU,
              "--invocation-type", "Chat"], "InvokeModel or Converse"),
            (["--input", "missing.jsonl", "--output", "o/", "--model", HAIKU], "file://"),
        ]:
            r = cli("submit", *args, *base, cwd=d)
            assert r.rc == 2, r
            assert words in r.err, (words, r)
        assert f.requests == []


def test_submit_uses_the_configured_server_and_account(d):
    with Fake() as f:
        conf = write_config(os.path.join(d, "barge.ini"),
                            "[server]\nlisten = 0.0.0.0:%d\nregion = eu-west-1\n\n"
                            "[account.team-a]\naccount_id = %s\naccess_key_id = %s\n"
                            "secret_access_key_env = TEAM_A_SECRET\n" % (f.port, ACCOUNT, TEAM_AKID))
        env = {"TEAM_A_SECRET": TEAM_SECRET}
        r = cli("submit", "--input", "s3://b/in.jsonl", "--output", "s3://b/out/", "--model",
                HAIKU, "--config", conf, env=env)
        assert r.rc == 0, r
        q = f.requests[-1]
        assert q["key"] == TEAM_AKID and q["region"] == "eu-west-1", q
        assert q["json"]["roleArn"] == "arn:aws:iam::%s:role/barge" % ACCOUNT
        # $BARGE_CONFIG does the same; --region and $AWS_REGION come first.
        env.update({"BARGE_CONFIG": conf, "AWS_REGION": "ap-south-1"})
        assert cli("get", JOB_ID, env=env).rc == 1
        assert f.requests[-1]["region"] == "ap-south-1"
        assert cli("get", JOB_ID, "--region", "us-west-2", env=env).rc == 1
        assert f.requests[-1]["region"] == "us-west-2"
        # Keys in the environment come before the configuration's.
        env.update({"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_SESSION_TOKEN": "session-token-1"})
        assert cli("get", JOB_ID, env=env).rc == 1
        q = f.requests[-1]
        assert q["key"] == AKID and q["headers"]["x-amz-security-token"] == "session-token-1", q
        # $BARGE_ENDPOINT comes before the configuration's listen address.
        r = cli("list", env={"BARGE_CONFIG": conf, "TEAM_A_SECRET": TEAM_SECRET,
                             "BARGE_ENDPOINT": "http://127.0.0.1:%d" % free_port()})
        assert r.rc == 1 and "$BARGE_ENDPOINT" in r.err, r


# ---------------------------------------------------------------- get, stop


def test_get_encodes_an_arn_and_summarizes(d):
    with Fake() as f:
        f.jobs[JOB_ID] = [job(status="Failed", processed=40, total=100, errors=3,
                              message="input x.jsonl line 7: not JSON")]
        r = cli("get", arn(JOB_ID), "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert f.requests[0]["path"] == ("/model-invocation-job/arn%3Aaws%3Abedrock%3Aus-east-1%3A"
                                         "123456789012%3Amodel-invocation-job%2Fabcd1234efgh")
        assert "content-type" not in f.requests[0]["headers"]
        for words in ("status     Failed", "name       nightly-1", HAIKU,
                      "40/100 processed, 37 succeeded, 3 failed",
                      "message    input x.jsonl line 7: not JSON", "submitted  2026-11-26T05:30:00Z",
                      "output     s3://bucket/out/"):
            assert words in r.out, (words, r)
        r = cli("get", JOB_ID, "--json", "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert f.requests[1]["path"] == "/model-invocation-job/" + JOB_ID
        assert r.json() == f.jobs[JOB_ID][0]


def test_get_refuses_what_is_not_a_job(d):
    with Fake() as f:
        for bad in ("nope", "ABCD1234EFGH", "arn:aws:s3:::bucket/abcd1234efgh"):
            r = cli("get", bad, "--endpoint", f.url, *KEYS)
            assert r.rc == 2 and "is not a job id" in r.err, r
        r = cli("get", "--endpoint", f.url, *KEYS)
        assert r.rc == 2 and "give the JOB" in r.err, r
        assert f.requests == []


def test_stop(d):
    with Fake() as f:
        f.jobs[JOB_ID] = [job()]
        r = cli("stop", arn(JOB_ID), "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert "stop requested" in r.out and "barge wait %s" % JOB_ID in r.out, r
        q = f.requests[0]
        assert q["method"] == "POST" and q["body"] == b"", q
        assert q["path"].endswith("model-invocation-job%2F" + JOB_ID + "/stop"), q
        assert "content-type" not in q["headers"], q["headers"]
        r = cli("stop", "qqqq0000qqqq", "--endpoint", f.url, *KEYS)
        assert r.rc == 1, r
        assert "barge stop: ResourceNotFoundException: Job qqqq0000qqqq not found." in r.err, r
        assert "barge list" in r.err


# ---------------------------------------------------------------- list


def summaries(n, start=0):
    return [job("job%09d" % i, status="Completed", processed=10, total=10,
                name="name-%d" % i) for i in range(start, start + n)]


def test_list_sends_the_query_and_follows_pages(d):
    with Fake() as f:
        f.pages = [summaries(2), summaries(2, 2), summaries(1, 4)]
        r = cli("list", "--status", "completed", "--name-contains", "a b/c",
                "--after", "2026-11-26T05:30:00+01:00", "--before", "2026-11-27T00:00:00Z",
                "--max", "2", "--sort-order", "ascending", "--all", "--json",
                "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert [q["path"] for q in f.requests] == ["/model-invocation-jobs"] * 3
        want = {"statusEquals": "Completed", "nameContains": "a b/c",
                "submitTimeAfter": "2026-11-26T05:30:00+01:00",
                "submitTimeBefore": "2026-11-27T00:00:00Z", "maxResults": "2",
                "sortOrder": "Ascending", "sortBy": "CreationTime"}
        assert f.requests[0]["params"] == want, f.requests[0]
        assert f.requests[1]["params"] == dict(want, nextToken="page-1")
        assert f.requests[2]["params"] == dict(want, nextToken="page-2")
        # Encoded once, by RFC 3986: no '+' for a space, ':' and '/' encoded.
        assert "nameContains=a%20b%2Fc" in f.requests[0]["query"], f.requests[0]["query"]
        assert "submitTimeAfter=2026-11-26T05%3A30%3A00%2B01%3A00" in f.requests[0]["query"]
        out = r.json()
        assert "nextToken" not in out
        assert [s["jobName"] for s in out["invocationJobSummaries"]] == [
            "name-%d" % i for i in range(5)]


def test_list_table_and_one_page(d):
    with Fake() as f:
        f.pages = [summaries(2), summaries(1, 2)]
        r = cli("list", "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert len(f.requests) == 1
        assert f.requests[0]["params"] == {"sortBy": "CreationTime"}
        lines = r.out.splitlines()
        assert re.match(r"JOB ID\s+NAME\s+STATUS\s+MODEL\s+SUBMITTED\s+PROCESSED$", lines[0]), r
        assert re.match(r"job000000000\s+name-0\s+Completed\s+%s\s+2026-11-26T05:30:00Z\s+10/10$"
                        % re.escape(HAIKU), lines[1]), r
        assert len(lines) == 3
        assert "--all" in r.err
        r = cli("list", "--json", "--endpoint", f.url, *KEYS)
        assert r.json()["nextToken"] == "page-1"
        for args, words in [(["--status", "Running"], "not a job status"),
                            (["--after", "yesterday"], "RFC 3339"),
                            (["--max", "0"], "from 1 to 1000"),
                            (["--sort-order", "Up"], "Ascending or Descending")]:
            r = cli("list", *args, "--endpoint", f.url, *KEYS)
            assert r.rc == 2 and words in r.err, (args, r)


# ---------------------------------------------------------------- wait


def run_wait(f, final, *extra, env=None):
    f.jobs[JOB_ID] = [job(status="Submitted"), job(status="Validating"),
                      job(status="InProgress", processed=40, total=100),
                      job(status="InProgress", processed=80, total=100, errors=1), final]
    e = {"BARGE_PROGRESS_INTERVAL_MS": "1"}
    e.update(env or {})
    return cli("wait", JOB_ID, "--interval-ms", "10", *extra, "--endpoint", f.url, *KEYS, env=e)


def test_wait_exit_status_follows_the_final_status(d):
    cases = [("Completed", 0), ("Failed", 1), ("Stopped", 3), ("PartiallyCompleted", 3),
             ("Expired", 3)]
    for status, rc in cases:
        with Fake() as f:
            final = job(status=status, processed=100 if status == "Completed" else 90,
                        total=100, errors=1, message="why: %s" % status)
            r = run_wait(f, final)
            assert r.rc == rc, (status, r)
            assert len(f.requests) == 5, (status, len(f.requests))
            lines = [l for l in r.err.splitlines() if l.startswith("progress:")]
            assert lines[0] == "progress: 0/0 records, 0 errors, job %s Submitted" % JOB_ID, r
            assert "progress: 40/100 records, 0 errors, job %s InProgress" % JOB_ID in lines, r
            assert "progress: 80/100 records, 1 errors, job %s InProgress" % JOB_ID in lines, r
            assert "\r" not in r.err and "\033[" not in r.err, r
            done = final["processedRecordCount"]
            assert r.out.splitlines()[0] == (
                "job %s %s: %d/100 records processed, %d succeeded, 1 failed"
                % (JOB_ID, status, done, done - 1)), r
            assert "message: why: %s" % status in r.out


def test_wait_json_and_no_progress(d):
    with Fake() as f:
        final = job(status="Completed", processed=100, total=100)
        r = run_wait(f, final, "--json", "--no-progress")
        assert r.rc == 0, r
        assert r.json() == final
        assert "progress" not in r.err, r


def test_wait_draws_a_bar_on_a_terminal(d):
    with Fake() as f:
        f.jobs[JOB_ID] = [job(status="InProgress", processed=50, total=100),
                          job(status="Completed", processed=100, total=100)]
        master, slave = pty.openpty()
        p = subprocess.Popen([BARGE, "wait", JOB_ID, "--interval-ms", "10", "--endpoint", f.url]
                             + KEYS, stdout=subprocess.PIPE, stderr=slave, text=True,
                             env=clean_env())
        os.close(slave)
        err = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        out, _ = p.communicate(timeout=30)
        os.close(master)
        err = err.decode()
        assert p.returncode == 0, (out, err)
        assert "[###############...............] 50/100 records" in err, repr(err)
        assert err.endswith("\r\033[K"), repr(err)
        assert "progress:" not in err
        assert out.startswith("job %s Completed" % JOB_ID), out


def test_wait_rides_out_a_busy_server(d):
    with Fake() as f:
        f.jobs[JOB_ID] = [job(status="InProgress", processed=1, total=2),
                          job(status="Completed", processed=2, total=2)]
        busy = (503, "ServiceUnavailableException", {"message": "busy"}, {"Retry-After": "0"})
        throttled = (429, "ThrottlingException", {"message": "slow down"}, {"Retry-After": "0"})
        # After a first answer, one 429 and five 503s in a row: more than one
        # call's retries, so wait itself must carry on.
        f.script = [None, throttled] + [busy] * 5
        r = cli("wait", JOB_ID, "--interval-ms", "10", "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert r.out.startswith("job %s Completed" % JOB_ID), r
        assert "ServiceUnavailableException: busy; trying again" in r.err, r
        # 1 answer, 4 tries of one poll (429, 503 x3), 3 of the next (503 x2, then the route).
        assert f.script == [] and len(f.requests) == 8, (f.script, len(f.requests))


def test_wait_gives_up_at_the_timeout(d):
    with Fake() as f:
        f.jobs[JOB_ID] = [job(status="InProgress", processed=1, total=10)]
        r = cli("wait", JOB_ID, "--interval-ms", "50", "--timeout-s", "1", "--endpoint", f.url,
                *KEYS)
        assert r.rc == 1, r
        assert "still InProgress after 1 s" in r.err and "barge stop %s" % JOB_ID in r.err, r
        r = cli("wait", "zzzz0000zzzz", "--endpoint", f.url, *KEYS)
        assert r.rc == 1 and "ResourceNotFoundException" in r.err, r


# ---------------------------------------------------------------- results


def make_outputs(d):
    out = os.path.join(os.path.realpath(d), "out")
    jd = os.path.join(out, JOB_ID)
    os.makedirs(os.path.join(jd, "parts"))
    write_lines(os.path.join(jd, "b.jsonl.out"), ['{"recordId":"B1","modelOutput":{}}'])
    with open(os.path.join(jd, "a.jsonl.out"), "w") as fh:
        # No newline at the end: results must still end the line.
        fh.write('{"recordId":"A1","modelOutput":{}}\n{"recordId":"A2","error":{"errorCode":400,'
                 '"errorMessage":"bad"}}')
    write_lines(os.path.join(jd, "manifest.json.out"), ['{"totalRecordCount":3}'])
    write_lines(os.path.join(jd, "parts", "000000.out"), ['{"recordId":"PART"}'])
    return out


def test_results_prints_the_out_files(d):
    out = make_outputs(d)
    with Fake() as f:
        f.jobs[JOB_ID] = [job(status="Completed", processed=3, total=3, output="file://" + out + "/")]
        r = cli("results", JOB_ID, "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert r.out.splitlines() == [
            '{"recordId":"A1","modelOutput":{}}',
            '{"recordId":"A2","error":{"errorCode":400,"errorMessage":"bad"}}',
            '{"recordId":"B1","modelOutput":{}}'], r
        r = cli("results", arn(JOB_ID), "--manifest", "--endpoint", f.url, *KEYS)
        assert r.rc == 0 and json.loads(r.out) == {"totalRecordCount": 3}, r
        dl = os.path.join(d, "dl", "here")
        r = cli("results", JOB_ID, "--download", dl, "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        assert sorted(os.listdir(dl)) == ["a.jsonl.out", "b.jsonl.out", "manifest.json.out"]
        assert read_jsonl(os.path.join(dl, "b.jsonl.out")) == [{"recordId": "B1", "modelOutput": {}}]
        assert "3 files copied to" in r.err and r.out == "", r


def test_results_of_unfinished_s3_and_missing_outputs(d):
    out = make_outputs(d)
    with Fake() as f:
        f.jobs[JOB_ID] = [job(status="InProgress", output="file://" + out)]
        r = cli("results", JOB_ID, "--endpoint", f.url, *KEYS)
        assert r.rc == 1 and "is InProgress" in r.err and "barge wait" in r.err, r
        # S3 outputs are read with [storage.s3]'s credentials: with none
        # configured, results says where S3 credentials come from (exit 2).
        f.jobs[JOB_ID] = [job(status="Completed", output="s3://bucket/out/")]
        r = cli("results", JOB_ID, "--endpoint", f.url, *KEYS,
                env={"AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "none")})
        assert r.rc == 2 and "[storage.s3]" in r.err, r
        f.jobs[JOB_ID] = [job(status="Failed", output="file://" + d + "/elsewhere/",
                              message="validation failed")]
        r = cli("results", JOB_ID, "--endpoint", f.url, *KEYS)
        assert r.rc == 1 and "has no outputs" in r.err and "validation failed" in r.err, r


# ---------------------------------------------------------------- errors


def test_error_answers(d):
    with Fake() as f:
        f.script = [
            (400, "ValidationException", {"message": "jobName must match [a-zA-Z0-9]..."}, None),
            (400, None, {"__type": "com.amazonaws.bedrock#ConflictException",
                         "message": "job is already stopping"}, None),
            (403, "AccessDeniedException:http://internal.amazon.com/coral/", {"Message": "no"}, None),
            (500, None, b"<html>oops</html>", None),
            None,
            (402, None, b"", None),
        ]
        r = cli("submit", "--input", "s3://b/i", "--output", "s3://b/o/", "--model", HAIKU,
                "--name", "-bad", "--endpoint", f.url, *KEYS)
        assert r.rc == 2, r
        assert "barge submit: ValidationException: jobName must match [a-zA-Z0-9]..." in r.err, r
        r = cli("stop", JOB_ID, "--endpoint", f.url, *KEYS)
        assert r.rc == 1 and "barge stop: ConflictException: job is already stopping" in r.err, r
        r = cli("list", "--endpoint", f.url, *KEYS)
        assert r.rc == 2 and "barge list: AccessDeniedException: no" in r.err, r
        # A server fault on a read is tried again: the next answer is the route's.
        f.jobs[JOB_ID] = [job()]
        r = cli("get", JOB_ID, "--endpoint", f.url, *KEYS)
        assert r.rc == 0, r
        r = cli("get", JOB_ID, "--endpoint", f.url, *KEYS)
        assert r.rc == 1 and "barge get: HTTP 402: (no message)" in r.err, r


def test_a_bad_signature_is_explained(d):
    with Fake() as f:
        r = cli("list", "--endpoint", f.url, "--access-key-id", "AKIDUNKNOWN",
                "--secret-access-key", "x")
        assert r.rc == 2, r
        assert "UnrecognizedClientException" in r.err and "the command line" in r.err, r
        assert "AKIDUNKNOWN" in r.err and "x\n" not in r.err
        f.problems.clear()
        r = cli("list", "--endpoint", f.url, "--access-key-id", AKID, "--secret-access-key", "wrong")
        assert r.rc == 2 and "InvalidSignatureException" in r.err, r
        assert "wrong" not in r.err, r
        f.problems.clear()


def test_unreachable_endpoint(d):
    port = free_port()
    r = cli("list", "--endpoint", "http://127.0.0.1:%d" % port, *KEYS)
    assert r.rc == 1, r
    assert "cannot reach the barge server at http://127.0.0.1:%d" % port in r.err, r
    assert "barge serve" in r.err and "--endpoint" in r.err, r
    # Without any setting, the default is the default listen address.
    conf = write_config(os.path.join(d, "c.ini"), "[server]\nlisten = 127.0.0.1:%d\n" % port)
    r = cli("wait", JOB_ID, "--config", conf, *KEYS)
    assert r.rc == 1 and "[server] listen in %s" % conf in r.err, r
    r = cli("get", JOB_ID, "--endpoint", "ftp://127.0.0.1/", *KEYS)
    assert r.rc == 2 and "not an http:// or https:// URL" in r.err, r


def test_missing_credentials_and_config(d):
    r = cli("list", "--endpoint", "http://127.0.0.1:1")
    assert r.rc == 2 and "no credentials" in r.err and "--access-key-id" in r.err, r
    r = cli("list", "--endpoint", "http://127.0.0.1:1", "--access-key-id", AKID)
    assert r.rc == 2 and "go together" in r.err, r
    r = cli("list", "--config", os.path.join(d, "none.ini"), *KEYS)
    assert r.rc == 2 and "none.ini" in r.err, r
    conf = write_config(os.path.join(d, "c.ini"), "[account.team-a]\naccess_key_id = %s\n"
                        "secret_access_key_env = TEAM_A_SECRET\n" % TEAM_AKID)
    r = cli("list", "--config", conf, "--endpoint", "http://127.0.0.1:1")
    assert r.rc == 2 and "[account.team-a]" in r.err and "secret_access_key_env" in r.err, r


def test_help(d):
    for cmd in ("submit", "get", "list", "stop", "wait", "results"):
        r = cli(cmd, "--help")
        assert r.rc == 0, r
        assert r.out.startswith("usage: barge %s" % cmd) and "--endpoint URL" in r.out, r
        assert "exit status" in r.out and "ValidationException" in r.out, r
        r = cli(cmd, "--bogus")
        assert r.rc == 2 and "unknown option --bogus" in r.err, r
