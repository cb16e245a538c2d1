"""test_s3.py - barge run and barge serve with their inputs and outputs on S3,
and barge results reading them back: a real S3 server that checks SigV4
signatures (@20minutes/s3rver, tests/peers) on 127.0.0.1, with inputs
uploaded and outputs read back by an independent client, the AWS SDK for
JavaScript (@aws-sdk/client-s3, tests/peers/s3_sdk.mjs). docs/s3.md says
what s3rver does differently from S3.

Every test starts its own s3rver on a free port with a fresh directory and a
bucket, and stops it in a finally block."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from lib import BARGE, HAIKU, Result, Serve, assert_exactly_once, aws_call, barge, claude_input, \
    claude_records, debian_botocore, finish, read_jsonl, start, wait_progress, wait_status, \
    free_port, kill_now, pg_database, terminate, write_config, write_jsonl, Worker

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = os.path.join(ROOT, "tests", "peers")
SDK = os.path.join(PEERS, "s3_sdk.mjs")
BUCKET = "barge-test"
# s3rver 4 lists past 1,000 keys with DES-encrypted continuation tokens,
# which node 20's OpenSSL 3 offers only with the legacy provider.
S3RVER_JS = 'require("@20minutes/s3rver/lib/cli.js").parseAsync(process.argv.slice(1), {from: "user"})'


class S3rver:
    """s3rver on 127.0.0.1 with data in `directory` and the bucket BUCKET."""

    def __init__(self, directory, port=None, quiet=True):
        self.dir = directory
        self.port = port or free_port()
        self.quiet = quiet
        self.proc = None
        self.log = None
        self.start()

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(self.dir + ".log", "a")
        self.proc = subprocess.Popen(
            ["node", "--openssl-legacy-provider", "-e", S3RVER_JS, "--", "-d", self.dir,
             "-a", "127.0.0.1", "-p", str(self.port), "--configure-bucket", BUCKET]
            + (["-s"] if self.quiet else []),
            cwd=PEERS, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        with open(self.dir + ".log") as f:
            raise AssertionError("s3rver did not start on port %d: %s" % (self.port, f.read()))

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def kill(self):
        """Stops the server abruptly, as a crash would."""
        kill_now(self.proc)
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        terminate(self.proc)
        if self.log:
            self.log.close()
            self.log = None

    def logs(self):
        with open(self.dir + ".log", encoding="utf-8", errors="replace") as f:
            return f.read()

    def open_uploads(self):
        """Multipart uploads s3rver still holds (it keeps each in a directory)."""
        found = []
        for root, dirs, _ in os.walk(self.dir):
            for d in dirs:
                if "uploads" in d:
                    found += os.listdir(os.path.join(root, d))
        return found


def sdk(srv, *operations, check=True):
    """Runs operations with @aws-sdk/client-s3; returns one result per operation."""
    scenario = {"endpoint": srv.endpoint, "bucket": BUCKET, "operations": list(operations)}
    env = dict(os.environ, NODE_NO_WARNINGS="1")
    p = subprocess.run(["node", SDK], input=json.dumps(scenario), capture_output=True,
                       text=True, cwd=PEERS, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    res = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert len(res) == len(operations), p.stdout + p.stderr
    if check:
        for o, r in zip(operations, res):
            assert r["ok"], (o, r)
    return res


def put(srv, d, key, records=None, lines=None):
    """Uploads records (or raw lines) to key through the SDK."""
    path = os.path.join(d, "upload.jsonl")
    if lines is None:
        lines = [json.dumps(r) for r in records]
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in lines))
    sdk(srv, {"op": "put", "key": key, "file": path})


def get_jsonl(srv, d, key):
    path = os.path.join(d, "download.jsonl")
    sdk(srv, {"op": "get", "key": key, "file": path})
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def get_json(srv, d, key):
    path = os.path.join(d, "download.json")
    sdk(srv, {"op": "get", "key": key, "file": path})
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def list_keys(srv, prefix):
    return [o["key"] for o in sdk(srv, {"op": "list", "prefix": prefix})[0]["objects"]]


def s3_config(d, srv, secret="S3RVER", extra=""):
    path = os.path.join(d, "s3.ini")
    with open(path, "w") as f:
        f.write("[storage.s3]\nendpoint = %s\nregion = us-east-1\npath_style = true\n"
                "access_key_id = S3RVER\nsecret_access_key = %s\n%s" % (srv.endpoint, secret, extra))
    return path


def no_sanitizer_report(res):
    """Under ASan/UBSan a report must fail the test even where failure is expected."""
    assert "Sanitizer" not in res.err and "runtime error:" not in res.err, res.err
    return res


def run(d, cfg, inputs, output, *extra, env=None):
    return no_sanitizer_report(barge(
        "run", *inputs, "--model", HAIKU, "--output", output, "--config", cfg, "--state",
        os.path.join(d, "state"), "--no-progress", "--json", *extra, env=env, timeout=600))


def start_run(d, cfg, inputs, output):
    """barge run in the background with frequent progress lines on stderr."""
    return start("run", *inputs, "--model", HAIKU, "--output", output, "--config", cfg,
                 "--state", os.path.join(d, "state"), "--json",
                 env={"BARGE_PROGRESS_INTERVAL_MS": "100"})


def slow_config(d, srv):
    """20 ms a request, 16 at a time, chunks of 50 records: a job of 3,000
    records lasts about four seconds and writes a part every 60 ms or so."""
    return s3_config(d, srv, extra="[backend.sim]\nkind = sim\nttft_ms = 20\n"
                                   "max_concurrency = 16\n[limits]\nchunk_records = 50\n")


# A small process that runs a command and reports its peak memory: the
# figure includes what the parent held when it forked, so the parent must be
# small, not this test with its records in memory.
RSS_WRAPPER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("maxrss_kib=%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(d, cfg, inputs, output, env):
    """run, and the peak resident memory of the barge process in KiB."""
    e = dict(os.environ)
    e.pop("BARGE_CONFIG", None)
    e.pop("BARGE_STATE", None)
    e.update(env)
    p = subprocess.run(["python3", "-c", RSS_WRAPPER, BARGE, "run", *inputs, "--model", HAIKU,
                        "--output", output, "--config", cfg, "--state",
                        os.path.join(d, "state"), "--no-progress", "--json"],
                       capture_output=True, text=True, env=e, timeout=600)
    err, _, last = p.stderr.rstrip("\n").rpartition("\n")
    assert last.startswith("maxrss_kib="), p.stderr
    return no_sanitizer_report(Result(p.returncode, p.stdout, err + "\n")), int(last.split("=")[1])


def job_keys(srv, out_prefix, job_id):
    """Every key under the job's output prefix, relative to it."""
    base = "%s/%s/" % (out_prefix, job_id)
    return sorted(k[len(base):] for k in list_keys(srv, base))


def check_output(srv, d, out_prefix, res, name, recs):
    """The .out of input `name` holds every record of recs once, in order,
    with modelInput echoed; the manifest's counts agree."""
    assert res.rc == 0, res
    summary = res.json()
    job = summary["jobId"]
    assert summary["status"] == "Completed", res
    assert summary["outputUri"] == "s3://%s/%s/%s" % (BUCKET, out_prefix, job), summary
    lines = get_jsonl(srv, d, "%s/%s/%s.out" % (out_prefix, job, name))
    assert_exactly_once(lines, [r["recordId"] for r in recs])
    for line, r in zip(lines, recs):
        assert line["modelInput"] == r["modelInput"]
        assert "modelOutput" in line, line
    return job, lines


# ---- tests ----

def test_single_object_input(d):
    srv = S3rver(os.path.join(d, "s3"))
    try:
        recs = claude_records(40)
        put(srv, d, "in/a.jsonl", recs)
        cfg = s3_config(d, srv)
        res = run(d, cfg, ["s3://%s/in/a.jsonl" % BUCKET], "s3://%s/out" % BUCKET)
        job, _ = check_output(srv, d, "out", res, "a.jsonl", recs)
        man = get_json(srv, d, "out/%s/manifest.json.out" % job)
        assert (man["totalRecordCount"], man["successRecordCount"]) == (40, 40), man
        # The parts are gone once the job is finished; only the outputs stay.
        assert job_keys(srv, "out", job) == ["a.jsonl.out", "manifest.json.out"]
        # A trailing slash on --output names the same place.
        res = run(d, cfg, ["s3://%s/in/a.jsonl" % BUCKET], "s3://%s/out2/" % BUCKET,
                  "--restart")
        check_output(srv, d, "out2", res, "a.jsonl", recs)
    finally:
        srv.stop()


def test_prefix_input(d):
    srv = S3rver(os.path.join(d, "s3"))
    try:
        x, y, z = claude_records(5, "X"), claude_records(7, "Y"), claude_records(3, "Z")
        put(srv, d, "in/x.jsonl", x)
        put(srv, d, "in/y.jsonl", y)
        put(srv, d, "in/sub/z.jsonl", z)
        put(srv, d, "in/readme.txt", lines=["not an input"])
        # A sibling whose key starts with "in" but is not under "in/".
        put(srv, d, "input.jsonl", claude_records(2, "N"))
        cfg = s3_config(d, srv)
        for uri in ("s3://%s/in" % BUCKET, "s3://%s/in/" % BUCKET):
            res = run(d, cfg, [uri], "s3://%s/out" % BUCKET, "--restart")
            job, _ = check_output(srv, d, "out", res, "x.jsonl", x)
            check_output(srv, d, "out", res, "y.jsonl", y)
            check_output(srv, d, "out", res, "sub/z.jsonl", z)
            assert res.json()["totalRecordCount"] == 15
            assert job_keys(srv, "out", job) == ["manifest.json.out", "sub/z.jsonl.out",
                                                 "x.jsonl.out", "y.jsonl.out"]
        # A prefix with nothing under it fails the job and says where it looked.
        res = run(d, cfg, ["s3://%s/nothing/" % BUCKET], "s3://%s/out" % BUCKET, "--restart")
        assert res.rc == 1, res
        assert "s3://%s/nothing/" % BUCKET in res.err, res.err
    finally:
        srv.stop()


def test_keys_with_spaces_unicode_plus(d):
    srv = S3rver(os.path.join(d, "s3"))
    try:
        one = claude_records(6, "U")
        two = claude_records(4, "V")
        key_one = "in put/caf\u00e9 d\u00e9j\u00e0+vu \u65e5\u672c.jsonl"
        put(srv, d, key_one, one)
        put(srv, d, "in put/dir +\u00fc/a b+c.jsonl", two)
        cfg = s3_config(d, srv)
        out = "out dir+\u00fc/x y"
        res = run(d, cfg, ["s3://%s/%s" % (BUCKET, key_one)], "s3://%s/%s" % (BUCKET, out))
        job, _ = check_output(srv, d, out, res, "caf\u00e9 d\u00e9j\u00e0+vu \u65e5\u672c.jsonl",
                              one)
        assert job_keys(srv, out, job) == ["caf\u00e9 d\u00e9j\u00e0+vu \u65e5\u672c.jsonl.out",
                                           "manifest.json.out"]
        # The same through a prefix with a space, '+' and unicode in it.
        res = run(d, cfg, ["s3://%s/in put/dir +\u00fc/" % BUCKET], "s3://%s/%s" % (BUCKET, out))
        check_output(srv, d, out, res, "a b+c.jsonl", two)
    finally:
        srv.stop()


def test_multipart_output_over_20_mib(d):
    # Not quiet: its request log shows the UploadPart requests.
    srv = S3rver(os.path.join(d, "s3"), quiet=False)
    try:
        # 6,000 records of about 4 KB: a 24 MB input read in ranged blocks,
        # and an .out of more than 20 MiB that goes up in parts of 8 MiB.
        pad = "lorem ipsum dolor sit amet " * 150
        recs = [{"recordId": "M%05d" % i,
                 "modelInput": claude_input(i, "%05d %s" % (i, pad[:4000]))} for i in range(6000)]
        put(srv, d, "big/in.jsonl", recs)
        cfg = s3_config(d, srv)
        res, rss_kib = run_measured(d, cfg, ["s3://%s/big/in.jsonl" % BUCKET],
                                    "s3://%s/out" % BUCKET, {"BARGE_LOG": "info"})
        job, lines = check_output(srv, d, "out", res, "in.jsonl", recs)
        head = sdk(srv, {"op": "head", "key": "out/%s/in.jsonl.out" % job})[0]
        size = head["size"]
        assert size > 20 * 1024 * 1024, head
        parts = (size + 8 * 1024 * 1024 - 1) // (8 * 1024 * 1024)
        assert "S3: wrote s3://%s/out/%s/in.jsonl.out in %d parts (multipart upload)" % (
            BUCKET, job, parts) in res.err, res.err
        # The server saw each part, and the upload is closed.
        assert srv.logs().count("partNumber=") >= parts, srv.logs()[-2000:]
        assert srv.open_uploads() == [], srv.open_uploads()
        # Memory stays bounded by blocks and parts, not the object sizes
        # (ASan's own overhead makes its figure meaningless).
        if "asan" not in os.environ.get("BARGE_TREE", "") + BARGE:
            assert rss_kib < 96 * 1024, rss_kib
        print("# barge run peak RSS %.0f MiB for a %.1f MiB input and a %.1f MiB output" %
              (rss_kib / 1024.0, os.path.getsize(os.path.join(d, "upload.jsonl")) / 1048576.0,
               size / 1048576.0))
    finally:
        srv.stop()


def test_wrong_secret_fails_clearly(d):
    srv = S3rver(os.path.join(d, "s3"))
    try:
        recs = claude_records(5)
        put(srv, d, "in/a.jsonl", recs)
        cfg = s3_config(d, srv, secret="not-the-secret")
        # An input that cannot be read: the job fails in validation.
        res = run(d, cfg, ["s3://%s/in/a.jsonl" % BUCKET], "s3://%s/out" % BUCKET)
        assert res.rc == 1, res
        assert res.json()["status"] == "Failed", res
        assert "check the credentials of [storage.s3]" in res.err, res.err
        assert "not-the-secret" not in res.err + res.out
        # A local input with an output that cannot be written: the job fails
        # when its first part is written, and no object appears.
        local = write_jsonl(os.path.join(d, "local.jsonl"), recs)
        res = run(d, cfg, [local], "s3://%s/out" % BUCKET)
        assert res.rc == 1, res
        assert "SignatureDoesNotMatch" in res.err, res.err
        assert "check the credentials of [storage.s3]" in res.err, res.err
        assert "not-the-secret" not in res.err + res.out
        assert list_keys(srv, "out/") == []
    finally:
        srv.stop()


def test_missing_bucket_fails_clearly(d):
    srv = S3rver(os.path.join(d, "s3"))
    try:
        cfg = s3_config(d, srv)
        res = run(d, cfg, ["s3://no-such-bucket/in/a.jsonl"], "s3://%s/out" % BUCKET)
        assert res.rc == 1, res
        assert "bucket no-such-bucket does not exist" in res.err, res.err
        local = write_jsonl(os.path.join(d, "local.jsonl"), claude_records(3))
        res = run(d, cfg, [local], "s3://no-such-bucket/out")
        assert res.rc == 1, res
        assert "bucket no-such-bucket does not exist" in res.err, res.err
        # A missing object in a bucket that exists is named as such.
        res = run(d, cfg, ["s3://%s/in/missing.jsonl" % BUCKET], "s3://%s/out" % BUCKET,
                  "--restart")
        assert res.rc == 1, res
        assert "s3://%s/in/missing.jsonl does not exist" % BUCKET in res.err, res.err
    finally:
        srv.stop()


def test_server_restart_mid_job(d):
    srv = S3rver(os.path.join(d, "s3"))
    p = None
    try:
        n = 3000
        recs = claude_records(n)
        put(srv, d, "in/a.jsonl", recs)
        p = start_run(d, slow_config(d, srv), ["s3://%s/in/a.jsonl" % BUCKET],
                      "s3://%s/out" % BUCKET)
        wait_progress(p, at_least=300, timeout=120)
        srv.kill()
        time.sleep(2.0)
        srv.start()
        res = no_sanitizer_report(finish(p, timeout=300))
        p = None
        assert res.rc == 0, res
        # The outage was noticed and ridden out.
        assert "trying again" in res.err, res.err
        check_output(srv, d, "out", res, "a.jsonl", recs)
        assert res.json()["totalRecordCount"] == n
    finally:
        if p and p.poll() is None:
            p.kill()
            p.communicate()
        srv.stop()


def test_resume_checks_input_etag(d):
    srv = S3rver(os.path.join(d, "s3"))
    p = None
    try:
        recs = claude_records(3000)
        put(srv, d, "in/a.jsonl", recs)
        cfg = slow_config(d, srv)
        inputs = ["s3://%s/in/a.jsonl" % BUCKET]
        # Stopped by SIGTERM, then the same command resumes it to the end.
        p = start_run(d, cfg, inputs, "s3://%s/out" % BUCKET)
        wait_progress(p, at_least=300, timeout=120)
        p.send_signal(signal.SIGTERM)
        res = no_sanitizer_report(finish(p, timeout=120))
        p = None
        assert res.rc == 3, res
        stopped = res.json()
        assert stopped["status"] == "Stopped", stopped
        assert stopped["processedRecordCount"] < 3000, stopped
        res = run(d, cfg, inputs, "s3://%s/out" % BUCKET)
        assert res.json()["jobId"] == stopped["jobId"], res
        check_output(srv, d, "out", res, "a.jsonl", recs)
        # Stopped again, and the input replaced: the resume is refused, since
        # the input's ETag is not the one validated.
        p = start_run(d, cfg, inputs, "s3://%s/out2" % BUCKET)
        wait_progress(p, at_least=300, timeout=120)
        p.send_signal(signal.SIGTERM)
        res = no_sanitizer_report(finish(p, timeout=120))
        p = None
        assert res.rc == 3, res
        put(srv, d, "in/a.jsonl", recs + claude_records(1, "EXTRA"))
        res = run(d, cfg, inputs, "s3://%s/out2" % BUCKET)
        assert res.rc == 2, res
        assert "changed since job" in res.err, res.err
    finally:
        if p and p.poll() is None:
            p.kill()
            p.communicate()
        srv.stop()


def test_continuation_over_1000_parts(d):
    srv = S3rver(os.path.join(d, "s3"))
    try:
        # One record a chunk: 1,200 part objects, whose removal lists them
        # in two pages joined by a continuation token.
        recs = claude_records(1200)
        put(srv, d, "in/a.jsonl", recs)
        cfg = s3_config(d, srv, extra="[limits]\nchunk_records = 1\n")
        res = run(d, cfg, ["s3://%s/in/a.jsonl" % BUCKET], "s3://%s/out" % BUCKET)
        job, _ = check_output(srv, d, "out", res, "a.jsonl", recs)
        assert job_keys(srv, "out", job) == ["a.jsonl.out", "manifest.json.out"]
    finally:
        srv.stop()


# ---- barge serve with S3 inputs and outputs, and `barge results` ----

TEAM_KEY = ("AKIDTEAMS3", "secret-of-team-s3/+")
ENDED = {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}


def serve_config(d, srv, extra="", server="runners = 2", name="serve.ini", data="data"):
    """barge serve with [storage.s3] on s3rver and one account that may use
    s3://BUCKET/team/ and nothing else of the bucket."""
    return write_config(os.path.join(d, name), """
[server]
data = %(d)s/%(data)s
%(server)s
[storage.s3]
endpoint = %(ep)s
region = us-east-1
path_style = true
access_key_id = S3RVER
secret_access_key = S3RVER
[account.team]
account_id = 111111111111
access_key_id = %(k)s
secret_access_key = %(s)s
allowed_uris = s3://%(b)s/team/
[backend.sim]
kind = sim
%(extra)s""" % {"d": d, "ep": srv.endpoint, "k": TEAM_KEY[0], "s": TEAM_KEY[1], "b": BUCKET,
                "extra": extra, "server": server, "data": data})


def stop_serve(api):
    """Stops barge serve: a clean exit, and no sanitizer report in its log."""
    if api:
        assert api.stop() == 0, api.logs()[-3000:]
        no_sanitizer_report(Result(0, "", api.logs()))


def create_job(base, input_uri, output_uri, name="s3-job"):
    body = {"jobName": name, "roleArn": "arn:aws:iam::111111111111:role/batch",
            "modelId": HAIKU,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}}}
    return aws_call(base, "POST", "/model-invocation-job", body, key=TEAM_KEY)


def serve_job(api, input_uri, output_uri, timeout=180):
    """Creates a job and waits for its end; returns (job id, job)."""
    st, err, body = create_job(api.base, input_uri, output_uri)
    assert st == 200, (st, err, body)
    job = wait_status(api.base, body["jobArn"], ENDED, key=TEAM_KEY, timeout=timeout)
    assert job["status"] == "Completed", (job, api.logs()[-3000:])
    return body["jobArn"].rsplit("/", 1)[1], job


def client_env(api):
    """The client's environment: the barge server's endpoint and the
    account's keys, as a user of `barge submit` has them."""
    return {"BARGE_ENDPOINT": api.base, "AWS_ACCESS_KEY_ID": TEAM_KEY[0],
            "AWS_SECRET_ACCESS_KEY": TEAM_KEY[1], "AWS_REGION": "us-east-1"}


def test_serve_s3_prefix_input_and_access(d):
    srv = S3rver(os.path.join(d, "s3"))
    api = None
    try:
        a, b = claude_records(40, "A"), claude_records(25, "B")
        put(srv, d, "team/in/a.jsonl", a)
        put(srv, d, "team/in/b.jsonl", b)
        put(srv, d, "other/in/a.jsonl", a)
        api = Serve(serve_config(d, srv), os.path.join(d, "serve.log"))
        jid, job = serve_job(api, "s3://%s/team/in/" % BUCKET, "s3://%s/team/out/" % BUCKET)
        assert (job["totalRecordCount"], job["processedRecordCount"]) == (65, 65), job
        # One .out per input object and the manifest; no parts left behind.
        assert job_keys(srv, "team/out", jid) == ["a.jsonl.out", "b.jsonl.out",
                                                  "manifest.json.out"]
        for name, recs in (("a.jsonl", a), ("b.jsonl", b)):
            lines = get_jsonl(srv, d, "team/out/%s/%s.out" % (jid, name))
            assert_exactly_once(lines, [r["recordId"] for r in recs])
            assert all("modelOutput" in l for l in lines), lines[:2]
        man = get_json(srv, d, "team/out/%s/manifest.json.out" % jid)
        assert (man["totalRecordCount"], man["successRecordCount"], man["errorRecordCount"]) \
            == (65, 65, 0), man
        # Locations outside the account's allowed_uris are refused, in the
        # same bucket as well, and so is a way out of it through "..".
        for inp, out in (("s3://%s/other/in/a.jsonl" % BUCKET, "s3://%s/team/out/" % BUCKET),
                         ("s3://%s/other/in/" % BUCKET, "s3://%s/team/out/" % BUCKET),
                         ("s3://%s/team/in/" % BUCKET, "s3://%s/other/out/" % BUCKET),
                         ("s3://%s/teamx/in/a.jsonl" % BUCKET, "s3://%s/team/out/" % BUCKET)):
            st, err, body = create_job(api.base, inp, out, name="refused")
            assert (st, err) == (403, "AccessDeniedException"), (inp, out, st, err, body)
        st, err, body = create_job(api.base, "s3://%s/team/../other/in/a.jsonl" % BUCKET,
                                   "s3://%s/team/out/" % BUCKET, name="dotdot")
        assert (st, err) == (400, "ValidationException"), (st, err, body)
        assert list_keys(srv, "other/out/") == []
        # A request signed with a clock 20 minutes slow is refused.
        st, err, _ = aws_call(api.base, "GET", "/model-invocation-jobs", key=TEAM_KEY,
                              skew_s=-1200)
        assert (st, err) == (403, "InvalidSignatureException"), (st, err)
    finally:
        stop_serve(api)
        srv.stop()


def test_serve_and_worker_on_postgres_and_s3(d):
    # The deployment docs/workers.md describes: a server with no runners and
    # a worker with a data directory of its own (another machine's), sharing
    # jobs through PostgreSQL and objects through S3.
    srv = S3rver(os.path.join(d, "s3"))
    api = worker = None
    try:
        recs = claude_records(500, "W")
        put(srv, d, "team/in/w.jsonl", recs)
        store = "store = %s\nlease_seconds = 3\n" % pg_database()
        api = Serve(serve_config(d, srv, "ttft_ms = 10\n", server=store + "runners = 0"),
                    os.path.join(d, "serve.log"))
        worker = Worker(serve_config(d, srv, "ttft_ms = 10\n", server=store + "runners = 2",
                                     name="worker.ini", data="worker-data"),
                        os.path.join(d, "worker.log"))
        jid, job = serve_job(api, "s3://%s/team/in/w.jsonl" % BUCKET,
                             "s3://%s/team/out/" % BUCKET)
        assert (job["totalRecordCount"], job["processedRecordCount"]) == (500, 500), job
        assert job_keys(srv, "team/out", jid) == ["manifest.json.out", "w.jsonl.out"]
        lines = get_jsonl(srv, d, "team/out/%s/w.jsonl.out" % jid)
        assert_exactly_once(lines, [r["recordId"] for r in recs])
        assert "job %s: runner worker-" % jid in worker.logs(), worker.logs()
        assert "runner serve-" not in api.logs()
    finally:
        if worker:
            assert worker.stop() == 0, worker.logs()[-3000:]
            no_sanitizer_report(Result(0, "", worker.logs()))
        stop_serve(api)
        srv.stop()


def test_results_from_s3(d):
    srv = S3rver(os.path.join(d, "s3"))
    api = None
    try:
        # a.jsonl makes an .out of about 24 MiB: the server writes it in a
        # multipart upload, and `barge results` reads it in ranged blocks.
        pad = "lorem ipsum dolor sit amet " * 300
        a = [{"recordId": "A%05d" % i, "modelInput": claude_input(i, "%05d %s" % (i, pad[:8000]))}
             for i in range(3000)]
        b = claude_records(30, "B")
        put(srv, d, "team/in/a.jsonl", a)
        put(srv, d, "team/in/b.jsonl", b)
        api = Serve(serve_config(d, srv), os.path.join(d, "serve.log"))
        jid, _ = serve_job(api, "s3://%s/team/in" % BUCKET, "s3://%s/team/out" % BUCKET)
        assert srv.open_uploads() == [], srv.open_uploads()
        # The client signs its calls to barge with the account's keys from
        # the environment, and reads S3 with the keys of [storage.s3].
        cfg = s3_config(d, srv)
        env = client_env(api)
        res, rss_kib = results_measured(env, jid, "--config", cfg)
        assert res.rc == 0, Result(res.rc, res.out[:2000], res.err)
        lines = [json.loads(l) for l in res.out.splitlines()]
        # Every record exactly once, the files in name order.
        assert_exactly_once(lines, [r["recordId"] for r in a + b])
        # Memory is bounded by one block, not by the output (ASan's own
        # overhead makes its figure meaningless).
        assert len(res.out) > 24 * 1024 * 1024
        if "asan" not in os.environ.get("BARGE_TREE", "") + BARGE:
            assert rss_kib < 32 * 1024, rss_kib
        print("# barge results peak RSS %.0f MiB for %.1f MiB of output" %
              (rss_kib / 1024.0, len(res.out) / 1048576.0))
        # The same job named by its ARN, and $BARGE_CONFIG instead of --config.
        res = no_sanitizer_report(barge("results", "--manifest",
                                        "arn:aws:bedrock:us-east-1:111111111111:"
                                        "model-invocation-job/" + jid,
                                        env=dict(env, BARGE_CONFIG=cfg)))
        assert res.rc == 0, res
        man = json.loads(res.out)
        assert (man["jobId"], man["totalRecordCount"]) == (jid, 3030), man
        # --download writes the files, byte for byte what S3 holds.
        dl = os.path.join(d, "dl", "here")
        res = no_sanitizer_report(barge("results", jid, "--download", dl, "--config", cfg,
                                        env=env))
        assert res.rc == 0 and res.out == "", res
        assert "3 files copied to %s" % dl in res.err, res
        assert sorted(os.listdir(dl)) == ["a.jsonl.out", "b.jsonl.out", "manifest.json.out"]
        for name in ("a.jsonl.out", "b.jsonl.out"):
            got = os.path.join(d, "got.out")
            sdk(srv, {"op": "get", "key": "team/out/%s/%s" % (jid, name), "file": got})
            with open(got, "rb") as f1, open(os.path.join(dl, name), "rb") as f2:
                assert f1.read() == f2.read(), name
        assert [r["recordId"] for r in read_jsonl(os.path.join(dl, "b.jsonl.out"))] == \
            [r["recordId"] for r in b]
        # Without keys in [storage.s3], S3 is asked with the environment's,
        # which are barge's: refused, exit 2, and the remedy is named.
        bare = write_config(os.path.join(d, "bare.ini"), "[storage.s3]\nendpoint = %s\n"
                            "region = us-east-1\npath_style = true\n" % srv.endpoint)
        res = no_sanitizer_report(barge("results", jid, "--config", bare, env=env))
        assert res.rc == 2, res
        assert "InvalidAccessKeyId" in res.err and "[storage.s3]" in res.err, res
        assert TEAM_KEY[1] not in res.err + res.out and "S3RVER" not in res.out
        # A job that failed before writing any output: nothing under its prefix.
        st, err, body = create_job(api.base, "s3://%s/team/nothing/" % BUCKET,
                                   "s3://%s/team/out2/" % BUCKET, name="empty")
        assert st == 200, (st, err, body)
        job = wait_status(api.base, body["jobArn"], ENDED, key=TEAM_KEY)
        assert job["status"] == "Failed", job
        res = no_sanitizer_report(barge("results", body["jobArn"], "--config", cfg, env=env))
        assert res.rc == 1 and res.out == "", res
        assert "has no outputs" in res.err and "s3://%s/team/out2/" % BUCKET in res.err, res
        assert "its message: s3://%s/team/nothing/ does not exist" % BUCKET in res.err, res
    finally:
        stop_serve(api)
        srv.stop()


def results_measured(env, *args):
    """barge results, and the peak resident memory of the process in KiB."""
    e = dict(os.environ)
    e.pop("BARGE_CONFIG", None)
    e.update(env)
    p = subprocess.run(["python3", "-c", RSS_WRAPPER, BARGE, "results", *args],
                       capture_output=True, text=True, env=e, timeout=300)
    err, _, last = p.stderr.rstrip("\n").rpartition("\n")
    assert last.startswith("maxrss_kib="), p.stderr
    return no_sanitizer_report(Result(p.returncode, p.stdout, err + "\n")), int(last.split("=")[1])


def test_serve_s3_parts_while_running(d):
    srv = S3rver(os.path.join(d, "s3"))
    api = None
    try:
        n = 3000
        recs = claude_records(n)
        put(srv, d, "team/in/a.jsonl", recs)
        # 20 ms a request, 16 at a time, chunks of 50: about four seconds.
        api = Serve(serve_config(d, srv, extra="ttft_ms = 20\nmax_concurrency = 16\n"
                                              "[limits]\nchunk_records = 50\n"),
                    os.path.join(d, "serve.log"))
        st, err, body = create_job(api.base, "s3://%s/team/in/a.jsonl" % BUCKET,
                                   "s3://%s/team/out/" % BUCKET)
        assert st == 200, (st, err, body)
        arn = body["jobArn"]
        jid = arn.rsplit("/", 1)[1]
        parts = "team/out/%s/parts/" % jid
        wait_status(api.base, arn, {"InProgress"}, key=TEAM_KEY, timeout=60)
        # Finished chunks show up under parts/ while the job runs.
        seen = []
        deadline = time.time() + 60
        while not seen and time.time() < deadline:
            seen = list_keys(srv, parts)
            if not seen:
                time.sleep(0.2)
        _, _, job = aws_call(api.base, "GET", "/model-invocation-job/" +
                             urllib.parse.quote(arn, safe=""), key=TEAM_KEY)
        assert seen, "no part appeared under %s" % parts
        assert job["status"] == "InProgress", job
        assert all(re.fullmatch(re.escape(parts) + r"a\.jsonl\.\d{6}\.[0-9a-f]{8}\.out", k) for k in seen), seen
        assert 0 < len(seen) < n // 50, seen
        first = get_jsonl(srv, d, seen[0])
        assert first and all(l["recordId"] in {r["recordId"] for r in recs} for l in first)
        job = wait_status(api.base, arn, ENDED, key=TEAM_KEY, timeout=180)
        assert job["status"] == "Completed", job
        # The parts are removed once the outputs are written, just after the
        # job is marked Completed.
        deadline = time.time() + 30
        while list_keys(srv, parts) and time.time() < deadline:
            time.sleep(0.2)
        assert list_keys(srv, parts) == []
        assert job_keys(srv, "team/out", jid) == ["a.jsonl.out", "manifest.json.out"]
        assert_exactly_once(get_jsonl(srv, d, "team/out/%s/a.jsonl.out" % jid),
                            [r["recordId"] for r in recs])
    finally:
        stop_serve(api)
        srv.stop()


# ---- a fake S3 for what s3rver cannot show ----

def xml_text(v):
    return escape(str(v), {'"': "&quot;", "'": "&apos;"})


class FakeS3:
    """A small in-memory S3 on 127.0.0.1 for one bucket, addressed
    virtual-hosted style (BUCKET.s3.localhost:PORT, which libcurl resolves to
    127.0.0.1 by itself). Every request's SigV4 signature is checked against
    Debian's botocore, an independent signer. faults maps an operation name
    to answers to give first: (503, "SlowDown") and the like, or (200, CODE)
    for a 200 whose body is an <Error>, as CompleteMultipartUpload may send.
    Listings come in pages of `page` keys; parts but the last must be 5 MiB."""

    def __init__(self, bucket, key=("AKIDFAKES3", "fake/secret+key"), page=3):
        self.bucket, self.key, self.page = bucket, key, page
        self.objects = {}
        self.uploads = {}
        self.faults = {}
        self.ops = []
        self.bad_signatures = 0
        self.rejected = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.serve(self, "GET")

            def do_HEAD(self):
                fake.serve(self, "HEAD")

            def do_PUT(self):
                fake.serve(self, "PUT")

            def do_POST(self):
                fake.serve(self, "POST")

            def do_DELETE(self):
                fake.serve(self, "DELETE")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return "http://s3.localhost:%d" % self.port

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def config(self, d, name="fake.ini"):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write("[storage.s3]\nendpoint = %s\nregion = eu-west-3\npath_style = false\n"
                    "access_key_id = %s\nsecret_access_key = %s\n" % (
                        self.endpoint, self.key[0], self.key[1]))
        return path

    def signature_ok(self, h, method, host, body):
        debian_botocore()
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/\d{8}/([^/]+)/s3/aws4_request, ?"
                     r"SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$",
                     h.headers.get("Authorization", ""))
        if not m or m.group(1) != self.key[0] or "x-amz-content-sha256" not in h.headers:
            return False
        headers = {n: h.headers[n] for n in m.group(3).split(";") if n != "x-amz-date"}
        req = AWSRequest(method=method, url="http://%s%s" % (host, h.path), headers=headers,
                         data=body)
        # Signed at the request's own x-amz-date, with botocore's steps
        # rather than its clock (which versions read in different ways).
        auth = S3SigV4Auth(Credentials(*self.key), "s3", m.group(2))
        req.context["timestamp"] = h.headers["x-amz-date"]
        auth._modify_request_before_signing(req)
        want = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
        return hmac.compare_digest(want, m.group(4))

    def reply(self, h, status, body=b"", headers=None, method="GET"):
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD" and body:
            h.wfile.write(body)

    def error(self, h, status, code, message, method="GET"):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                "<Message>%s</Message><RequestId>1</RequestId></Error>" % (code, message))
        self.reply(h, status, body.encode(), {"Content-Type": "application/xml"}, method)

    @staticmethod
    def operation(method, key, q):
        if method == "GET" and not key:
            return "ListObjectsV2"
        if method == "POST":
            return "CreateMultipartUpload" if "uploads" in q else "CompleteMultipartUpload"
        if method == "PUT":
            return "UploadPart" if "partNumber" in q else "PutObject"
        if method == "DELETE":
            return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
        return {"GET": "GetObject", "HEAD": "HeadObject"}[method]

    def serve(self, h, method):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        host = h.headers.get("Host", "")
        url = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if not self.signature_ok(h, method, host, body):
            with self.lock:
                self.bad_signatures += 1
                self.rejected.append("%s %s %s" % (method, h.path, dict(h.headers)))
            return self.error(h, 403, "SignatureDoesNotMatch", "checked with botocore", method)
        if host.split(":")[0] != "%s.s3.localhost" % self.bucket:
            return self.error(h, 404, "NoSuchBucket", "no bucket at " + host, method)
        key = urllib.parse.unquote(url.path[1:])
        op = self.operation(method, key, q)
        with self.lock:
            self.ops.append(op)
            fault = self.faults.get(op)
            fault = fault.pop(0) if fault else None
        if fault and fault[0] != 200:
            return self.error(h, fault[0], fault[1], "injected by the test", method)
        if fault:
            return self.error(h, 200, fault[1], "injected by the test", method)
        with self.lock:
            getattr(self, "op_" + op)(h, method, key, q, body)

    def op_ListObjectsV2(self, h, method, key, q, body):
        prefix = q.get("prefix", "")
        keys = sorted((k for k in self.objects if k.startswith(prefix)), key=lambda k: k.encode())
        if q.get("continuation-token"):
            after = base64.b64decode(q["continuation-token"]).decode()
            keys = [k for k in keys if k.encode() > after.encode()]
        size = min(self.page, int(q.get("max-keys", 1000)))
        page, more = keys[:size], len(keys) > size
        xml = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns='
               '"http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name><Prefix>%s</Prefix>'
               '<KeyCount>%d</KeyCount><IsTruncated>%s</IsTruncated>' % (
                   self.bucket, xml_text(prefix), len(page), "true" if more else "false")]
        for k in page:
            xml.append("<Contents><Key>%s</Key><ETag>&quot;%s&quot;</ETag><Size>%d</Size>"
                       "</Contents>" % (xml_text(k), hashlib.md5(self.objects[k]).hexdigest(),
                                         len(self.objects[k])))
        if more:
            xml.append("<NextContinuationToken>%s</NextContinuationToken>" %
                       base64.b64encode(page[-1].encode()).decode())
        xml.append("</ListBucketResult>")
        self.reply(h, 200, "".join(xml).encode(), {"Content-Type": "application/xml"})

    def object_headers(self, data):
        return {"ETag": '"%s"' % hashlib.md5(data).hexdigest(),
                "Last-Modified": "Thu, 26 Nov 2026 07:49:54 GMT"}

    def op_GetObject(self, h, method, key, q, body):
        if key not in self.objects:
            return self.error(h, 404, "NoSuchKey", "no such key", method)
        data = self.objects[key]
        headers = self.object_headers(data)
        m = re.match(r"bytes=(\d+)-(\d+)$", h.headers.get("Range", ""))
        if m:
            a, b = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
            if a >= len(data):
                return self.error(h, 416, "InvalidRange", "not satisfiable", method)
            headers["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(data))
            return self.reply(h, 206, data[a:b + 1], headers, method)
        self.reply(h, 200, data, headers, method)

    def op_HeadObject(self, h, method, key, q, body):
        if key not in self.objects:
            return self.reply(h, 404, method="HEAD")
        headers = self.object_headers(self.objects[key])
        headers["Content-Length"] = str(len(self.objects[key]))
        self.reply(h, 200, b"", headers, "HEAD")

    def op_PutObject(self, h, method, key, q, body):
        self.objects[key] = body
        self.reply(h, 200, b"", self.object_headers(body))

    def op_DeleteObject(self, h, method, key, q, body):
        self.objects.pop(key, None)
        self.reply(h, 204)

    def op_CreateMultipartUpload(self, h, method, key, q, body):
        uid = "up/%d+%s=" % (len(self.uploads) + 1, key[:8])
        self.uploads[uid] = {"key": key, "parts": {}}
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>%s'
               '</Bucket><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>' % (
                   self.bucket, xml_text(key), xml_text(uid)))
        self.reply(h, 200, xml.encode(), {"Content-Type": "application/xml"})

    def op_UploadPart(self, h, method, key, q, body):
        up = self.uploads.get(q["uploadId"])
        if not up or up["key"] != key:
            return self.error(h, 404, "NoSuchUpload", "no such upload")
        up["parts"][int(q["partNumber"])] = body
        self.reply(h, 200, b"", self.object_headers(body))

    def op_CompleteMultipartUpload(self, h, method, key, q, body):
        up = self.uploads.get(q["uploadId"])
        if not up or up["key"] != key:
            return self.error(h, 404, "NoSuchUpload", "no such upload")
        listed = re.findall(r"<Part><PartNumber>(\d+)</PartNumber><ETag>([^<]*)</ETag></Part>",
                            body.decode())
        numbers = [int(n) for n, _ in listed]
        if not numbers or numbers != list(range(1, len(numbers) + 1)):
            return self.error(h, 400, "InvalidPartOrder", "parts out of order")
        for n, etag in listed:
            data = up["parts"].get(int(n))
            if data is None or etag.replace("&quot;", '"') != self.object_headers(data)["ETag"]:
                return self.error(h, 400, "InvalidPart", "part %s does not match" % n)
            if int(n) < len(listed) and len(data) < 5 * 1024 * 1024:
                return self.error(h, 400, "EntityTooSmall", "part %s is too small" % n)
        data = b"".join(up["parts"][n] for n in numbers)
        self.objects[key] = data
        del self.uploads[q["uploadId"]]
        digest = hashlib.md5(b"".join(hashlib.md5(up["parts"][n]).digest() for n in numbers))
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n\n<CompleteMultipartUploadResult><Key>%s'
               '</Key><ETag>"%s-%d"</ETag></CompleteMultipartUploadResult>' % (
                   xml_text(key), digest.hexdigest(), len(numbers)))
        self.reply(h, 200, xml.encode(), {"Content-Type": "application/xml"})

    def op_AbortMultipartUpload(self, h, method, key, q, body):
        if self.uploads.pop(q["uploadId"], None) is None:
            return self.error(h, 404, "NoSuchUpload", "no such upload")
        self.reply(h, 204)


def fake_jsonl(fake, key):
    return [json.loads(l) for l in fake.objects[key].decode().splitlines() if l.strip()]


def test_virtual_hosted_retries_and_pages(d):
    fake = FakeS3("vbucket")
    try:
        ins = {"in/a b+\u00fc.jsonl": claude_records(30, "A")}
        for i in range(6):
            ins["in/part-%d.jsonl" % i] = claude_records(3, "P%d" % i)
        for k, recs in ins.items():
            fake.objects[k] = "".join(json.dumps(r) + "\n" for r in recs).encode()
        # Each operation fails once or twice in a way S3 does when busy.
        fake.faults = {"HeadObject": [(503, "SlowDown")],
                       "ListObjectsV2": [(500, "InternalError")],
                       "GetObject": [(503, "ServiceUnavailable")],
                       "PutObject": [(503, "SlowDown"), (500, "InternalError")],
                       "DeleteObject": [(503, "SlowDown")]}
        cfg = fake.config(d)
        # A prefix of 7 objects, listed 3 at a time; chunks of 2 records make
        # 24 parts, removed while they are listed 3 at a time.
        with open(cfg, "a") as f:
            f.write("[limits]\nchunk_records = 2\n")
        res = run(d, cfg, ["s3://vbucket/in"], "s3://vbucket/out")
        assert res.rc == 0, res
        assert fake.bad_signatures == 0, fake.rejected
        assert "trying again" in res.err, res.err
        job = res.json()["jobId"]
        assert res.json()["totalRecordCount"] == 48
        for k, recs in ins.items():
            name = k[len("in/"):]
            lines = fake_jsonl(fake, "out/%s/%s.out" % (job, name))
            assert_exactly_once(lines, [r["recordId"] for r in recs])
        assert sorted(k for k in fake.objects if k.startswith("out/")) == sorted(
            ["out/%s/%s.out" % (job, k[len("in/"):]) for k in ins] +
            ["out/%s/manifest.json.out" % job])
        assert all(not f for f in fake.faults.values()), fake.faults
    finally:
        fake.stop()


def test_multipart_complete_errors(d):
    fake = FakeS3("vbucket")
    try:
        # About 11 MiB of output: two parts, the first of 8 MiB.
        pad = "lorem ipsum dolor sit amet " * 150
        recs = [{"recordId": "M%05d" % i,
                 "modelInput": claude_input(i, "%05d %s" % (i, pad[:4000]))} for i in range(2600)]
        fake.objects["in/big.jsonl"] = "".join(json.dumps(r) + "\n" for r in recs).encode()
        cfg = fake.config(d)
        # A 200 that carries an <Error> is a failure, and InternalError is retried.
        fake.faults = {"CompleteMultipartUpload": [(200, "InternalError")]}
        res = run(d, cfg, ["s3://vbucket/in/big.jsonl"], "s3://vbucket/out")
        assert res.rc == 0, res
        job = res.json()["jobId"]
        assert_exactly_once(fake_jsonl(fake, "out/%s/big.jsonl.out" % job),
                            [r["recordId"] for r in recs])
        assert fake.ops.count("UploadPart") == 2 and fake.ops.count("CompleteMultipartUpload") == 2
        assert fake.uploads == {} and fake.bad_signatures == 0
        # A completion refused for good: the upload is aborted and no output
        # object appears under that name.
        fake.faults = {"CompleteMultipartUpload": [(400, "InvalidPart")]}
        res = run(d, cfg, ["s3://vbucket/in/big.jsonl"], "s3://vbucket/out2")
        assert res.rc != 0, res
        assert "InvalidPart" in res.err, res.err
        assert "AbortMultipartUpload" in fake.ops
        assert fake.uploads == {}
        assert not [k for k in fake.objects if k.startswith("out2/") and k.endswith("big.jsonl.out")]
    finally:
        fake.stop()
