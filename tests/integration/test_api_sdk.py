"""test_api_sdk.py - `barge serve` as Amazon Bedrock's batch job API, driven
by the real AWS SDK (@aws-sdk/client-bedrock, tests/peers/bedrock_sdk.mjs)
with only the endpoint changed: what a Bedrock user would check of Create,
Get, List, Stop, the errors, authentication and the job lifecycle.

Every test starts its own server on 127.0.0.1 on a free port with two
accounts (alpha and beta, each with its own keys and allowed root in the
test's directory) and stops it with SIGTERM at the end: it must exit 0 (under
ASan a leak makes it exit non-zero)."""
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time

from lib import BARGE, HAIKU, SONNET, claude_records, read_jsonl, write_jsonl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = os.path.join(ROOT, "tests", "peers")
SDK = os.path.join(PEERS, "bedrock_sdk.mjs")

ALPHA = {"accessKeyId": "AKIDALPHA0000000001", "secretAccessKey": "alpha/secret+key0001"}
BETA = {"accessKeyId": "AKIDBETA00000000002", "secretAccessKey": "beta/secret+key0002"}
ALPHA_ACCOUNT = "111111111111"
BETA_ACCOUNT = "222222222222"
ROLE = "arn:aws:iam::%s:role/BedrockBatch" % ALPHA_ACCOUNT
JOB_ARN = re.compile(r"^arn:aws:bedrock:us-east-1:%s:model-invocation-job/([a-z0-9]{12})$"
                     % ALPHA_ACCOUNT)
DATES = ["submitTime", "lastModifiedTime", "endTime", "jobExpirationTime"]
ENDED = ["Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"]


# ---- the server ----

def make_roots(tmp):
    """The accounts' allowed roots tmp/alpha and tmp/beta, each with in/ and out/."""
    for who in ("alpha", "beta"):
        for sub in ("in", "out"):
            os.makedirs(os.path.join(tmp, who, sub), exist_ok=True)


def write_config(tmp, hour_seconds=None, sim="ttft_ms = 5\nitl_ms = 1", alpha="", limits=""):
    """A config with accounts alpha and beta, each allowed under its own
    directory of tmp, and the sim backend."""
    make_roots(tmp)
    text = """[server]
data = {tmp}/data
region = us-east-1
runners = 2
{hours}
[account.alpha]
account_id = {alpha_id}
access_key_id = {alpha_key}
secret_access_key = {alpha_secret}
allowed_uris = file://{tmp}/alpha/
{alpha}

[account.beta]
account_id = {beta_id}
access_key_id = {beta_key}
secret_access_key = {beta_secret}
allowed_uris = file://{tmp}/beta/

[backend.sim]
kind = sim
{sim}

[limits]
{limits}
""".format(tmp=tmp, hours="hour_seconds = %d" % hour_seconds if hour_seconds else "",
           alpha_id=ALPHA_ACCOUNT, alpha_key=ALPHA["accessKeyId"],
           alpha_secret=ALPHA["secretAccessKey"], alpha=alpha, beta_id=BETA_ACCOUNT,
           beta_key=BETA["accessKeyId"], beta_secret=BETA["secretAccessKey"], sim=sim,
           limits=limits)
    path = os.path.join(tmp, "barge.ini")
    with open(path, "w") as f:
        f.write(text)
    return path


class Server:
    """barge serve --config F --listen 127.0.0.1:0; its log goes to a file."""

    def __init__(self, config, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = dict(os.environ)
        env.pop("BARGE_CONFIG", None)
        self.proc = subprocess.Popen([BARGE, "serve", "--config", config, "--listen",
                                      "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)$", line.strip())
        if not m:
            self.stop()
            raise AssertionError("barge serve did not start: %r\n%s" % (line, self.logs()))
        self.endpoint = "http://127.0.0.1:%s" % m.group(1)

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("barge serve did not stop within 60 s of SIGTERM")
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


@contextlib.contextmanager
def serving(tmp, **config):
    """Runs a server for the with block; it must then stop cleanly (exit 0)."""
    server = Server(write_config(tmp, **config), os.path.join(tmp, "serve.log"))
    try:
        yield server
    except BaseException:
        server.stop()
        raise
    rc = server.stop()
    assert rc == 0, "barge serve exited with status %s after SIGTERM; its log:\n%s" % (
        rc, server.logs()[-4000:])


# ---- the SDK ----

def sdk(server, operations, credentials=ALPHA, client=None):
    """Runs operations through bedrock_sdk.mjs; returns one result per operation."""
    assert shutil.which("node"), "node is not installed (scripts/deps.sh installs it)"
    assert os.path.isdir(os.path.join(PEERS, "node_modules", "@aws-sdk", "client-bedrock")), \
        "@aws-sdk/client-bedrock is not installed: run `npm ci` in tests/peers (scripts/test.sh does)"
    scenario = {"endpoint": server.endpoint, "region": "us-east-1",
                "credentials": credentials, "client": client or {},
                "operations": operations}
    p = subprocess.run(["node", SDK], input=json.dumps(scenario), capture_output=True,
                       text=True, cwd=PEERS, timeout=300)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert p.returncode == 0 and len(lines) == len(operations), (
        "bedrock_sdk.mjs failed (status %d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    return [json.loads(l) for l in lines]


def call(server, op, params=None, **kw):
    """One operation; kw may hold credentials=, client= or the op's own keys."""
    credentials = kw.pop("credentials", ALPHA)
    client = kw.pop("client", None)
    return sdk(server, [dict(op=op, params=params or {}, **kw)], credentials, client)[0]


def ok(result):
    """The response of a successful operation."""
    assert result["ok"], "%s failed: %s" % (result["op"], result["error"])
    return result["response"]


def error(result, name, status):
    """Checks that an operation failed with the SDK exception name and HTTP status."""
    assert not result["ok"], "%s succeeded where %s was expected: %s" % (
        result["op"], name, result.get("response"))
    e = result["error"]
    assert (e["name"], e["httpStatusCode"]) == (name, status), (
        "%s: expected %s (%d), got %s (%s): %s" % (result["op"], name, status, e["name"],
                                                   e["httpStatusCode"], e["message"]))
    assert e["message"], "the error has no message"
    return e


def uri(path):
    return "file://" + path


def create_params(name, input_uri, output_uri, model=HAIKU, **extra):
    p = {"jobName": name, "roleArn": ROLE, "modelId": model,
         "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
         "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}}}
    p.update(extra)
    return p


def create(server, tmp, name, records=3, who="alpha", credentials=ALPHA, **extra):
    """Writes an input of `records` records and creates a job on it; returns its ARN."""
    path = os.path.join(tmp, who, "in", name + ".jsonl")
    write_jsonl(path, claude_records(records))
    r = call(server, "CreateModelInvocationJob",
             create_params(name, uri(path), uri(os.path.join(tmp, who, "out") + "/"), **extra),
             credentials=credentials)
    return ok(r)["jobArn"]


def get(server, ident, credentials=ALPHA):
    return ok(call(server, "GetModelInvocationJob", {"jobIdentifier": ident},
                   credentials=credentials))


def wait_for(server, arn, statuses, timeout=60, credentials=ALPHA):
    """Polls Get until the job's status is one of statuses; returns the result."""
    r = call(server, "GetModelInvocationJob", {"jobIdentifier": arn}, until=statuses,
             timeoutMs=timeout * 1000, credentials=credentials)
    job = ok(r)
    assert job["status"] in statuses, "job %s is %s after %ds, expected one of %s" % (
        arn, job["status"], timeout, statuses)
    return r


def wait_processed(server, arn, at_least, timeout=60):
    """Polls Get until at least `at_least` records are processed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = get(server, arn)
        if job["processedRecordCount"] >= at_least or job["status"] in ENDED:
            return job
        time.sleep(0.2)
    raise AssertionError("job %s processed fewer than %d records in %ds" % (arn, at_least, timeout))


def list_jobs(server, credentials=ALPHA, **params):
    return ok(call(server, "ListModelInvocationJobs", params, credentials=credentials))


def pages_of(result):
    """The pages of a paginateListModelInvocationJobs operation."""
    assert result["ok"], "the paginator failed: %s" % result.get("error")
    return result["pages"]


def names(summaries):
    return [s["jobName"] for s in summaries]


def parse_date(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def iso(t):
    """An epoch time as the ISO string bedrock_sdk.mjs turns into a Date."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat()


def job_id(arn):
    m = JOB_ARN.match(arn)
    assert m, "not an alpha job ARN: %s" % arn
    return m.group(1)


def check_outputs(tmp, job, inputs, who="alpha"):
    """The job's output directory holds <input>.out for each input and a
    manifest whose counts are the job's; returns the output lines by input."""
    out = os.path.join(tmp, who, "out", job_id(job["jobArn"]))
    with open(os.path.join(out, "manifest.json.out")) as f:
        manifest = json.load(f)
    for k in ("totalRecordCount", "processedRecordCount", "successRecordCount",
              "errorRecordCount"):
        assert manifest[k] == job[k], "manifest %s is %s, Get says %s" % (k, manifest[k], job[k])
    lines = {name: read_jsonl(os.path.join(out, name + ".out")) for name in inputs}
    assert sum(len(v) for v in lines.values()) == job["processedRecordCount"], (
        "output lines %d, processedRecordCount %d" % (sum(len(v) for v in lines.values()),
                                                      job["processedRecordCount"]))
    return lines


# ---- the tests ----

def test_create_get_completed(tmp):
    """Create on a prefix of two inputs, then Get until Completed: every field
    a Bedrock user reads, with the SDK's types, and the outputs on disk."""
    make_roots(tmp)
    indir = os.path.join(tmp, "alpha", "in")
    write_jsonl(os.path.join(indir, "a.jsonl"), claude_records(4, prefix="A"))
    write_jsonl(os.path.join(indir, "b.jsonl"), claude_records(3, prefix="B"))
    outdir = os.path.join(tmp, "alpha", "out")
    with serving(tmp) as server:
        t0 = time.time()
        params = create_params("first-job.v1", uri(indir) + "/", uri(outdir) + "/",
                               tags=[{"key": "team", "value": "ml"}])
        created = call(server, "CreateModelInvocationJob", params)
        res = ok(created)
        assert list(res) == ["jobArn"], res
        assert created["metadata"]["httpStatusCode"] == 200
        arn = res["jobArn"]
        jid = job_id(arn)

        first = get(server, arn)
        assert first["status"] in ("Submitted", "Validating", "Scheduled", "InProgress",
                                   "Completed"), first["status"]

        r = wait_for(server, arn, ENDED)
        job = ok(r)
        assert job["status"] == "Completed", job
        assert r["statuses"][-1] == "Completed"
        assert job["jobArn"] == arn
        assert job["jobName"] == "first-job.v1"
        assert job["modelId"] == HAIKU
        assert job["roleArn"] == ROLE
        assert job["modelInvocationType"] == "InvokeModel"
        assert job["inputDataConfig"] == {"s3InputDataConfig": {
            "s3Uri": uri(indir) + "/", "s3InputFormat": "JSONL"}}, job["inputDataConfig"]
        assert job["outputDataConfig"] == {"s3OutputDataConfig": {"s3Uri": uri(outdir) + "/"}}, \
            job["outputDataConfig"]
        assert "message" not in job, job.get("message")
        # The SDK generates a clientRequestToken when none is given; Get shows it.
        assert isinstance(job.get("clientRequestToken"), str) and job["clientRequestToken"]
        assert job["timeoutDurationInHours"] == 24 and isinstance(job["timeoutDurationInHours"], int)
        for k in ("totalRecordCount", "processedRecordCount", "successRecordCount"):
            assert job[k] == 7 and isinstance(job[k], int), (k, job[k])
        assert job["errorRecordCount"] == 0
        # Dates are RFC 3339 strings that the SDK parsed into Date objects.
        for k in DATES:
            assert k in r["dates"], "%s is missing or not a Date: %s" % (k, job.get(k))
        submit, end = parse_date(job["submitTime"]), parse_date(job["endTime"])
        modified, expires = parse_date(job["lastModifiedTime"]), parse_date(job["jobExpirationTime"])
        assert abs(submit.timestamp() - t0) < 60, (job["submitTime"], t0)
        assert submit <= end <= modified + datetime.timedelta(seconds=1), job
        assert expires - submit == datetime.timedelta(hours=24), (job["submitTime"], job["jobExpirationTime"])

        # By the 12-character id too, the same job.
        assert get(server, jid) == job

        lines = check_outputs(tmp, job, ["a.jsonl", "b.jsonl"])
        assert [l["recordId"] for l in lines["a.jsonl"]] == ["A%06d" % i for i in range(4)]
        assert [l["recordId"] for l in lines["b.jsonl"]] == ["B%06d" % i for i in range(3)]
        for l in lines["a.jsonl"] + lines["b.jsonl"]:
            assert "modelOutput" in l and "modelInput" in l, l
        with open(os.path.join(outdir, jid, "manifest.json.out")) as f:
            m = json.load(f)
        assert m["inputTokenCount"] > 0 and m["outputTokenCount"] > 0, m


def test_final_counts_of_small_jobs(tmp):
    """Ten one-record jobs at once: each ends Completed with its record
    counted, in Get, in List and in its manifest, and written out."""
    with serving(tmp) as server:
        indir, outdir = os.path.join(tmp, "alpha", "in"), uri(os.path.join(tmp, "alpha", "out"))
        ops = []
        for i in range(10):
            path = os.path.join(indir, "small-%d.jsonl" % i)
            write_jsonl(path, claude_records(1))
            ops.append({"op": "CreateModelInvocationJob",
                        "params": create_params("small-%d" % i, uri(path), outdir)})
        arns = [ok(r)["jobArn"] for r in sdk(server, ops)]
        wrong = []
        for i, arn in enumerate(arns):
            job = ok(wait_for(server, arn, ENDED))
            assert job["status"] == "Completed", job
            out = os.path.join(tmp, "alpha", "out", job_id(arn))
            with open(os.path.join(out, "manifest.json.out")) as f:
                manifest = json.load(f)
            lines = read_jsonl(os.path.join(out, "small-%d.jsonl.out" % i))
            keys = ("totalRecordCount", "processedRecordCount", "successRecordCount",
                    "errorRecordCount")
            got = ([job[k] for k in keys], [manifest[k] for k in keys], len(lines))
            if got != ([1, 1, 1, 0], [1, 1, 1, 0], 1):
                wrong.append("%s: total/processed/success/errors %s in Get, %s in the manifest; "
                             "%d output line(s)" % ((job["jobName"],) + got))
        summaries = list_jobs(server)["invocationJobSummaries"]
        wrong += ["List: %s processed %d" % (s["jobName"], s["processedRecordCount"])
                  for s in summaries if s["processedRecordCount"] != 1]
        assert not wrong, "Completed jobs with wrong counts:\n" + "\n".join(wrong)


def test_client_request_token_is_idempotent(tmp):
    """The same clientRequestToken twice gives the same job, not a second one;
    another account's job with the same token is its own."""
    with serving(tmp) as server:
        path = os.path.join(tmp, "alpha", "in", "t.jsonl")
        write_jsonl(path, claude_records(2))
        params = create_params("token-job", uri(path), uri(os.path.join(tmp, "alpha", "out")),
                               clientRequestToken="c0ffee-1")
        a, b = sdk(server, [{"op": "CreateModelInvocationJob", "params": params}] * 2)
        assert ok(a)["jobArn"] == ok(b)["jobArn"], (a, b)
        jobs = list_jobs(server)["invocationJobSummaries"]
        assert [j["jobArn"] for j in jobs] == [ok(a)["jobArn"]], jobs
        assert jobs[0]["clientRequestToken"] == "c0ffee-1"

        beta_path = os.path.join(tmp, "beta", "in", "t.jsonl")
        write_jsonl(beta_path, claude_records(2))
        params = create_params("token-job", uri(beta_path), uri(os.path.join(tmp, "beta", "out")),
                               clientRequestToken="c0ffee-1")
        c = ok(call(server, "CreateModelInvocationJob", params, credentials=BETA))
        assert c["jobArn"] != ok(a)["jobArn"]
        assert ":%s:" % BETA_ACCOUNT in c["jobArn"], c
        wait_for(server, ok(a)["jobArn"], ENDED)
        wait_for(server, c["jobArn"], ENDED, credentials=BETA)


def test_get_by_arn_and_id(tmp):
    """Get takes the full ARN (which the SDK percent-encodes in the path) or
    the 12-character id; a well-formed id that names no job, another
    account's job, or an ARN of another account is ResourceNotFoundException;
    an identifier of the wrong shape is ValidationException."""
    with serving(tmp) as server:
        arn = create(server, tmp, "get-me")
        beta_arn = create(server, tmp, "beta-job", who="beta", credentials=BETA)
        jid = job_id(arn)
        by_arn, by_id = (ok(r) for r in sdk(server, [
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": arn}},
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": jid}}]))
        assert by_arn["jobArn"] == by_id["jobArn"] == arn
        assert by_arn["jobName"] == by_id["jobName"] == "get-me"

        beta_id = beta_arn.rsplit("/", 1)[1]
        results = sdk(server, [
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": "abcdefghijkl"}},
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": beta_arn}},
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": beta_id}},
            {"op": "StopModelInvocationJob", "params": {"jobIdentifier": beta_arn}},
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": "not-a-job"}},
        ])
        for r in results[:4]:
            error(r, "ResourceNotFoundException", 404)
        error(results[4], "ValidationException", 400)
        # beta still sees its own job, untouched by alpha's Stop.
        assert get(server, beta_arn, credentials=BETA)["status"] != "Stopping"
        wait_for(server, arn, ENDED)
        wait_for(server, beta_arn, ENDED, credentials=BETA)

        # An ARN names one job of one account in one region: alpha's job id
        # under beta's account number, or in another region, is not alpha's job.
        for foreign in (arn.replace(":%s:" % ALPHA_ACCOUNT, ":%s:" % BETA_ACCOUNT),
                        arn.replace(":us-east-1:", ":eu-west-1:")):
            r = call(server, "GetModelInvocationJob", {"jobIdentifier": foreign})
            assert not r["ok"], "Get %s answered job %s" % (foreign, r["response"]["jobArn"])
            error(r, "ResourceNotFoundException", 404)


def test_list_filters_sort_and_pages(tmp):
    """List with statusEquals, nameContains, submitTimeAfter/Before, both sort
    orders, and 7 jobs in pages of 3 through the SDK's paginator."""
    with serving(tmp) as server:
        indir, outdir = os.path.join(tmp, "alpha", "in"), uri(os.path.join(tmp, "alpha", "out"))
        for i in range(7):
            write_jsonl(os.path.join(indir, "page-%d.jsonl" % i), claude_records(1))
        with open(os.path.join(indir, "bad.jsonl"), "w") as f:
            f.write("{not json\n")
        ops = []
        for i in range(7):
            ops.append({"op": "CreateModelInvocationJob", "params": create_params(
                "page-%d" % i, uri(os.path.join(indir, "page-%d.jsonl" % i)), outdir)})
            ops.append({"op": "sleep", "ms": 20})  # distinct submit times, in order
        t_first = time.time() - 1
        created = sdk(server, ops[:8])          # page-0 .. page-3
        t_mid = time.time()
        created += sdk(server, ops[8:])         # page-4 .. page-6
        arns = [ok(r)["jobArn"] for r in created if r["op"] != "sleep"]
        bad = create_params("bad-input", uri(os.path.join(indir, "bad.jsonl")), outdir)
        bad_arn = ok(call(server, "CreateModelInvocationJob", bad))["jobArn"]
        for arn in arns:
            wait_for(server, arn, ENDED)
        failed = ok(wait_for(server, bad_arn, ENDED))
        assert failed["status"] == "Failed" and failed["message"], failed
        t_end = time.time() + 1
        pages = ["page-%d" % i for i in range(7)]

        # Newest first by default and with Descending; oldest first with Ascending.
        everything = list_jobs(server)["invocationJobSummaries"]
        assert names(everything) == ["bad-input"] + pages[::-1], names(everything)
        assert names(list_jobs(server, sortOrder="Descending", sortBy="CreationTime")
                     ["invocationJobSummaries"]) == ["bad-input"] + pages[::-1]
        asc = list_jobs(server, sortOrder="Ascending", sortBy="CreationTime")["invocationJobSummaries"]
        assert names(asc) == pages + ["bad-input"], names(asc)
        times = [parse_date(s["submitTime"]) for s in asc]
        assert times == sorted(times), times
        assert [s["jobArn"] for s in asc[:7]] == arns
        for s in asc[:7]:
            assert s["status"] == "Completed" and s["totalRecordCount"] == 1, s
            assert all(k in s for k in DATES), s

        def listed(**params):
            return names(list_jobs(server, sortOrder="Ascending", **params)["invocationJobSummaries"])

        assert listed(statusEquals="Completed") == pages
        assert listed(statusEquals="Failed") == ["bad-input"]
        assert listed(statusEquals="InProgress") == []
        assert listed(nameContains="page-") == pages
        assert listed(nameContains="bad") == ["bad-input"]
        assert listed(nameContains="page-5") == ["page-5"]
        assert listed(submitTimeAfter={"$date": iso(t_mid)}) == pages[4:] + ["bad-input"]
        assert listed(submitTimeBefore={"$date": iso(t_mid)}) == pages[:4]
        assert listed(submitTimeAfter={"$date": iso(t_first)},
                      submitTimeBefore={"$date": iso(t_mid)}) == pages[:4]
        assert listed(submitTimeAfter={"$date": iso(t_end)}) == []
        assert listed(statusEquals="Completed", nameContains="page-", maxResults=2,
                      submitTimeAfter={"$date": iso(t_mid)}) == ["page-4", "page-5"]

        # The paginator, pages of 3: every job exactly once, in order, then no token.
        for order, want in (("Ascending", pages), ("Descending", pages[::-1])):
            got = pages_of(call(server, "paginateListModelInvocationJobs",
                                {"nameContains": "page-", "sortOrder": order}, pageSize=3))
            assert [len(p["invocationJobSummaries"]) for p in got] == [3, 3, 1], got
            assert [n for p in got for n in names(p["invocationJobSummaries"])] == want
            assert all("nextToken" in p for p in got[:-1]) and "nextToken" not in got[-1]
        got = [n for p in pages_of(call(server, "paginateListModelInvocationJobs", {}, pageSize=4))
               for n in names(p["invocationJobSummaries"])]
        assert sorted(got) == sorted(pages + ["bad-input"]) and len(got) == 8, got
        # A page's token by hand: the next page starts right after it.
        first = list_jobs(server, maxResults=3, sortOrder="Ascending")
        second = list_jobs(server, maxResults=3, sortOrder="Ascending", nextToken=first["nextToken"])
        assert names(first["invocationJobSummaries"]) + names(second["invocationJobSummaries"]) == \
            pages[:6]

        # A job created between two pages neither shifts nor repeats the
        # pages of the jobs listed before it.
        first = list_jobs(server, maxResults=3)
        late = ok(call(server, "CreateModelInvocationJob", create_params(
            "late-job", uri(os.path.join(indir, "page-0.jsonl")), outdir)))["jobArn"]
        second = list_jobs(server, maxResults=3, nextToken=first["nextToken"])
        assert names(first["invocationJobSummaries"]) == ["bad-input", "page-6", "page-5"]
        assert names(second["invocationJobSummaries"]) == ["page-4", "page-3", "page-2"]
        wait_for(server, late, ENDED)

        # beta sees none of alpha's jobs.
        assert list_jobs(server, credentials=BETA)["invocationJobSummaries"] == []

        results = sdk(server, [
            {"op": "ListModelInvocationJobs", "params": {"statusEquals": "Finished"}},
            {"op": "ListModelInvocationJobs", "params": {"maxResults": 0}},
            {"op": "ListModelInvocationJobs", "params": {"maxResults": 1001}},
            {"op": "ListModelInvocationJobs", "params": {"sortOrder": "Sideways"}},
            {"op": "ListModelInvocationJobs", "params": {"nextToken": "garbage"}},
        ])
        for r in results:
            error(r, "ValidationException", 400)


# A slow backend for jobs that must still run when the test acts: barge sends
# one request at a time per runner (2 runners) and each takes 500 ms, so a job
# does about 4 records a second.
SLOW = "ttft_ms = 500\nitl_ms = 0\nmax_concurrency = 1"


def test_stop(tmp):
    """Stop a job waiting for a slot (Scheduled) and one InProgress: both end
    Stopped; the running one soon, with no request started after the Stop and
    its finished records written out. Stop of an ended job is ConflictException."""
    with serving(tmp, sim=SLOW, alpha="max_running_jobs_per_model = 1",
                 limits="chunk_records = 5") as server:
        done = create(server, tmp, "quick", records=1)
        assert ok(wait_for(server, done, ENDED))["status"] == "Completed"

        long_arn = create(server, tmp, "long-run", records=200)   # about 50 s
        wait_for(server, long_arn, ["InProgress"] + ENDED)
        waiting = create(server, tmp, "waiting", records=5)
        job = ok(wait_for(server, waiting, ["Scheduled"] + ENDED))
        assert job["status"] == "Scheduled", job

        ok(call(server, "StopModelInvocationJob", {"jobIdentifier": waiting}))
        job = ok(wait_for(server, waiting, ENDED))
        assert job["status"] == "Stopped", job
        assert job["processedRecordCount"] == 0 and job["totalRecordCount"] == 5, job
        assert "endTime" in job, job

        before = wait_processed(server, long_arn, 5)
        assert before["status"] == "InProgress", before
        t_stop = time.time()
        r = sdk(server, [{"op": "StopModelInvocationJob", "params": {"jobIdentifier": long_arn}},
                         {"op": "GetModelInvocationJob", "params": {"jobIdentifier": long_arn}}])
        assert ok(r[0]) == {}
        assert ok(r[1])["status"] in ("Stopping", "Stopped"), ok(r[1])
        job = ok(wait_for(server, long_arn, ENDED))
        took = time.time() - t_stop
        assert job["status"] == "Stopped", job
        assert job["totalRecordCount"] == 200
        assert job["processedRecordCount"] == job["successRecordCount"] + job["errorRecordCount"]
        # No request starts after a Stop: only the two in flight (one per
        # runner) and those finished since Get last counted (its count moves
        # once a second) may be added; every other record stays unprocessed
        # and unbilled.
        assert before["processedRecordCount"] <= job["processedRecordCount"] <= \
            before["processedRecordCount"] + 12, (
                "Get said %d processed just before Stop; the job ended Stopped with %d, %.1f s "
                "after the Stop" % (before["processedRecordCount"], job["processedRecordCount"], took))
        assert took < 15, "Stop took %.1f s to end the job" % took
        lines = check_outputs(tmp, job, ["long-run.jsonl"])["long-run.jsonl"]
        ids = [l["recordId"] for l in lines]
        assert len(set(ids)) == len(ids), "a record was written twice"
        assert set(ids) <= {"R%06d" % i for i in range(200)}

        for arn in (done, waiting, long_arn):
            e = error(call(server, "StopModelInvocationJob", {"jobIdentifier": arn}),
                      "ConflictException", 400)
            assert job_id(arn) in e["message"], e


def test_create_validation(tmp):
    """Create requests Bedrock refuses as ValidationException; none makes a job."""
    with serving(tmp) as server:
        path = os.path.join(tmp, "alpha", "in", "v.jsonl")
        write_jsonl(path, claude_records(1))
        good = create_params("valid-name", uri(path), uri(os.path.join(tmp, "alpha", "out")))

        def without(key):
            return {k: v for k, v in good.items() if k != key}

        cases = [
            dict(good, jobName="-starts-with-dash"),
            dict(good, jobName="has space"),
            dict(good, jobName="under_score"),
            dict(good, jobName="x" * 64),
            dict(good, timeoutDurationInHours=23),
            dict(good, timeoutDurationInHours=169),
            dict(good, modelId="anthropic.no-such-model-v9:0"),
            dict(good, modelInvocationType="Telepathy"),
            without("jobName"),
            without("roleArn"),
            without("modelId"),
            without("inputDataConfig"),
            without("outputDataConfig"),
            dict(good, inputDataConfig={"s3InputDataConfig": {"s3InputFormat": "JSONL"}}),
            dict(good, timeoutDurationInHours=0),   # the SDK sends 0; absent means 24, 0 does not
        ]
        results = sdk(server, [{"op": "CreateModelInvocationJob", "params": c} for c in cases])
        for case, r in zip(cases, results):
            changed = {k: case.get(k, "(absent)") for k in set(good) | set(case)
                       if case.get(k) != good.get(k)}
            assert not r["ok"], "Create accepted a job with %s" % changed
            e = error(r, "ValidationException", 400)
            assert e["fault"] == "client"
        # The message says what is wrong.
        assert "jobName" in results[0]["error"]["message"]
        assert "24" in results[4]["error"]["message"] and "168" in results[5]["error"]["message"]
        assert "anthropic.no-such-model-v9:0" in results[6]["error"]["message"]
        assert list_jobs(server)["invocationJobSummaries"] == []

        # The edges that are allowed.
        ok(call(server, "CreateModelInvocationJob",
                dict(good, jobName="A" + "b" * 62, timeoutDurationInHours=168,
                     clientRequestToken="edge-1")))
        ok(call(server, "CreateModelInvocationJob",
                dict(good, jobName="a1+b-c.d", timeoutDurationInHours=24,
                     clientRequestToken="edge-2")))
        jobs = list_jobs(server, sortOrder="Ascending")["invocationJobSummaries"]
        assert [j["timeoutDurationInHours"] for j in jobs] == [168, 24], jobs
        for j in jobs:
            wait_for(server, j["jobArn"], ENDED)


def test_locations_access_denied(tmp):
    """An account may only read and write under its allowed_uris: another
    account's root, a directory outside, and a symlink inside the root that
    points outside are AccessDeniedException; a path with ".." segments is
    refused as malformed. Nothing is written outside."""
    make_roots(tmp)
    alpha_in = os.path.join(tmp, "alpha", "in")
    alpha_out = os.path.join(tmp, "alpha", "out")
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    write_jsonl(os.path.join(alpha_in, "mine.jsonl"), claude_records(1))
    write_jsonl(os.path.join(tmp, "beta", "in", "theirs.jsonl"), claude_records(1))
    write_jsonl(os.path.join(outside, "secret.jsonl"), claude_records(1))
    os.symlink(os.path.join(outside, "secret.jsonl"), os.path.join(alpha_in, "link.jsonl"))
    os.symlink(outside, os.path.join(alpha_out, "escape"))
    mine = uri(os.path.join(alpha_in, "mine.jsonl"))
    with serving(tmp) as server:
        denied = [
            create_params("in-beta", uri(os.path.join(tmp, "beta", "in", "theirs.jsonl")),
                          uri(alpha_out)),
            create_params("out-beta", mine, uri(os.path.join(tmp, "beta", "out"))),
            create_params("in-outside", uri(os.path.join(outside, "secret.jsonl")), uri(alpha_out)),
            create_params("out-root", mine, "file:///"),
            create_params("in-link", uri(os.path.join(alpha_in, "link.jsonl")), uri(alpha_out)),
            create_params("out-link", mine, uri(os.path.join(alpha_out, "escape")) + "/"),
        ]
        # A location with ".." segments is malformed wherever it points
        # (docs/api.md: they are refused before the allowed roots are looked at).
        dotdot = [
            create_params("in-dotdot", uri(alpha_in + "/../../outside/secret.jsonl"), uri(alpha_out)),
            create_params("out-dotdot", mine, uri(alpha_out + "/../../outside/")),
            create_params("in-dotdot-inside", uri(alpha_in + "/../in/mine.jsonl"), uri(alpha_out)),
        ]
        results = sdk(server, [{"op": "CreateModelInvocationJob", "params": p}
                               for p in denied + dotdot])
        for p, r in zip(denied, results):
            assert not r["ok"], "%s was accepted" % p["jobName"]
            error(r, "AccessDeniedException", 403)
        for p, r in zip(dotdot, results[len(denied):]):
            assert not r["ok"], "%s was accepted" % p["jobName"]
            e = error(r, "ValidationException", 400)
            assert '".."' in e["message"], e
        assert list_jobs(server)["invocationJobSummaries"] == []
        assert sorted(os.listdir(outside)) == ["secret.jsonl"], os.listdir(outside)

        # beta may use its own root.
        arn = ok(call(server, "CreateModelInvocationJob",
                      create_params("beta-ok", uri(os.path.join(tmp, "beta", "in", "theirs.jsonl")),
                                    uri(os.path.join(tmp, "beta", "out"))), credentials=BETA))["jobArn"]
        assert ok(wait_for(server, arn, ENDED, credentials=BETA))["status"] == "Completed"


def test_queue_quota(tmp):
    """max_queued_jobs_per_model: the job past the limit is
    ServiceQuotaExceededException; another model, another account and a
    freed place have room. The server stops cleanly with a job in progress."""
    with serving(tmp, sim=SLOW,
                 alpha="max_running_jobs_per_model = 1\nmax_queued_jobs_per_model = 2") as server:
        running = create(server, tmp, "running", records=200)
        wait_for(server, running, ["InProgress"] + ENDED)
        queued = [create(server, tmp, "queued-%d" % i, records=2) for i in range(2)]
        for arn in queued:
            assert ok(wait_for(server, arn, ["Scheduled"] + ENDED))["status"] == "Scheduled"
        path = os.path.join(tmp, "alpha", "in", "queued-0.jsonl")
        outdir = uri(os.path.join(tmp, "alpha", "out"))
        r = call(server, "CreateModelInvocationJob", create_params("one-too-many", uri(path), outdir))
        e = error(r, "ServiceQuotaExceededException", 400)
        assert "max_queued_jobs_per_model" in e["message"], e
        assert "one-too-many" not in names(list_jobs(server)["invocationJobSummaries"])

        ok(call(server, "CreateModelInvocationJob",
                create_params("other-model", uri(path), outdir, model=SONNET)))
        create(server, tmp, "beta-job", who="beta", credentials=BETA)
        ok(call(server, "StopModelInvocationJob", {"jobIdentifier": queued[0]}))
        assert ok(wait_for(server, queued[0], ENDED))["status"] == "Stopped"
        ok(call(server, "CreateModelInvocationJob", create_params("fits-now", uri(path), outdir)))
        assert get(server, running)["status"] == "InProgress"


def test_authentication(tmp):
    """A wrong secret, an unknown access key and a clock 20 minutes off are
    403s with the names AWS uses; none of them creates a job. The SDK corrects
    its clock from the server's Date header and then succeeds, as with AWS."""
    with serving(tmp) as server:
        path = os.path.join(tmp, "alpha", "in", "auth.jsonl")
        write_jsonl(path, claude_records(1))
        params = create_params("auth-job", uri(path), uri(os.path.join(tmp, "alpha", "out")))
        wrong = dict(ALPHA, secretAccessKey="not-the-secret")
        unknown = {"accessKeyId": "AKIDNOBODY000000000", "secretAccessKey": "whatever"}
        results = sdk(server, [
            {"op": "CreateModelInvocationJob", "params": params, "credentials": wrong},
            {"op": "ListModelInvocationJobs", "params": {}, "credentials": wrong},
            {"op": "CreateModelInvocationJob", "params": params, "credentials": unknown},
            {"op": "GetModelInvocationJob", "params": {"jobIdentifier": "abcdefghijkl"},
             "credentials": unknown},
            {"op": "CreateModelInvocationJob", "params": params,
             "client": {"systemClockOffset": -20 * 60 * 1000, "maxAttempts": 1}},
            {"op": "CreateModelInvocationJob", "params": params,
             "client": {"systemClockOffset": 20 * 60 * 1000, "maxAttempts": 1}},
        ])
        for r in results[:2]:
            e = error(r, "InvalidSignatureException", 403)
            assert "signature" in e["message"].lower(), e
        for r in results[2:4]:
            error(r, "UnrecognizedClientException", 403)
        e = error(results[4], "InvalidSignatureException", 403)
        assert "Signature expired" in e["message"], e
        e = error(results[5], "InvalidSignatureException", 403)
        assert "not yet current" in e["message"], e
        assert list_jobs(server)["invocationJobSummaries"] == []

        # With its usual retries the SDK learns the server's time and succeeds.
        r = call(server, "CreateModelInvocationJob", dict(params, clientRequestToken="skewed-1"),
                 client={"systemClockOffset": -20 * 60 * 1000})
        arn = ok(r)["jobArn"]
        assert r["metadata"]["attempts"] == 2, r["metadata"]
        jobs = list_jobs(server)["invocationJobSummaries"]
        assert [j["jobArn"] for j in jobs] == [arn], jobs
        wait_for(server, arn, ENDED)


def test_timeouts_expire_and_partially_complete(tmp):
    """With an hour of 1 s: a running job that outlives timeoutDurationInHours
    ends PartiallyCompleted at its timeout with its finished records written,
    and a job that never got a slot (one running job per model) ends Expired."""
    with serving(tmp, hour_seconds=1, sim=SLOW, alpha="max_running_jobs_per_model = 1",
                 limits="chunk_records = 5") as server:
        # 200 records need about 50 s; the job has 27.
        running = create(server, tmp, "outlives", records=200, timeoutDurationInHours=27)
        wait_for(server, running, ["InProgress"] + ENDED)
        # The waiting job's 24 s run out while the first still holds the slot.
        waiting = create(server, tmp, "never-starts", records=3, timeoutDurationInHours=24)
        assert ok(wait_for(server, waiting, ["Scheduled"] + ENDED))["status"] == "Scheduled"

        job = ok(wait_for(server, waiting, ENDED, timeout=60))
        assert job["status"] == "Expired", job
        assert job["processedRecordCount"] == 0, job
        assert job["timeoutDurationInHours"] == 24
        submit, expires = parse_date(job["submitTime"]), parse_date(job["jobExpirationTime"])
        assert expires - submit == datetime.timedelta(seconds=24), job
        assert "endTime" in job and parse_date(job["endTime"]) >= expires, job
        assert get(server, running)["status"] == "InProgress"

        job = ok(wait_for(server, running, ENDED, timeout=60))
        assert job["status"] == "PartiallyCompleted", job
        assert 0 < job["processedRecordCount"] < 200, job
        assert job["totalRecordCount"] == 200
        assert job["processedRecordCount"] == job["successRecordCount"] + job["errorRecordCount"]
        submit, expires = parse_date(job["submitTime"]), parse_date(job["jobExpirationTime"])
        assert expires - submit == datetime.timedelta(seconds=27), job
        end = parse_date(job["endTime"])
        assert expires <= end <= expires + datetime.timedelta(seconds=5), (
            "the job ran out of time at %s but ended at %s" % (job["jobExpirationTime"],
                                                               job["endTime"]))
        lines = check_outputs(tmp, job, ["outlives.jsonl"])["outlives.jsonl"]
        ids = [l["recordId"] for l in lines]
        assert len(set(ids)) == len(ids) and all("modelOutput" in l for l in lines)
        with open(os.path.join(tmp, "alpha", "out", job_id(running), "manifest.json.out")) as f:
            assert json.load(f)["status"] == "PartiallyCompleted"
