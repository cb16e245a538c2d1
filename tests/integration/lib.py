"""lib.py - helpers for integration tests: running barge, writing inputs,
reading outputs. Only the Python standard library is used."""
import json
import os
import re
import signal
import subprocess
import time

BARGE = os.environ.get("BARGE", os.path.join(os.path.dirname(__file__), "..", "..", "build", "barge"))

HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
MISTRAL = "mistral.mistral-large-2407-v1:0"
TITAN = "amazon.titan-text-express-v1"
NOVA = "amazon.nova-lite-v1:0"
EMBED = "amazon.titan-embed-text-v2:0"


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


def barge(*args, env=None, cwd=None, timeout=300):
    """Runs barge with args and returns a Result (rc, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("BARGE_CONFIG", None)
    e.pop("BARGE_STATE", None)
    if env:
        e.update(env)
    p = subprocess.run([BARGE] + [str(a) for a in args], capture_output=True, text=True,
                       env=e, cwd=cwd, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


def start(*args, env=None, cwd=None):
    """Starts barge in the background; stderr is a pipe read by wait_progress."""
    e = dict(os.environ)
    e.pop("BARGE_CONFIG", None)
    e.pop("BARGE_STATE", None)
    if env:
        e.update(env)
    return subprocess.Popen([BARGE] + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e, cwd=cwd)


PROGRESS = re.compile(r"progress: ([\d,]+)/([\d,]+) records")


def wait_progress(p, at_least=1, timeout=60):
    """Reads p's stderr until a progress line shows at least `at_least`
    records done; returns the lines read. Fails if p ends first."""
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = p.stderr.readline()
        if not line:
            raise AssertionError("barge ended before progress: %s" % "".join(lines))
        lines.append(line)
        m = PROGRESS.search(line)
        if m and int(m.group(1).replace(",", "")) >= at_least:
            return lines
    raise AssertionError("no progress within %ds" % timeout)


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    return Result(p.returncode, out, err)


def write_lines(path, lines, newline="\n"):
    with open(path, "w", encoding="utf-8", newline="") as f:
        for l in lines:
            f.write(l + newline)
    return path


def write_jsonl(path, records):
    return write_lines(path, [json.dumps(r) for r in records])


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def claude_input(i, text=None, max_tokens=64):
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text or ("Summarize document %d." % i)}]}


def claude_records(n, prefix="R"):
    return [{"recordId": "%s%06d" % (prefix, i), "modelInput": claude_input(i)} for i in range(n)]


def job_dir(outdir):
    """The single job directory under an output directory."""
    dirs = [d for d in os.listdir(outdir) if os.path.isdir(os.path.join(outdir, d))]
    assert len(dirs) == 1, "expected one job directory in %s, found %s" % (outdir, dirs)
    return os.path.join(outdir, dirs[0])


def manifest(outdir):
    with open(os.path.join(job_dir(outdir), "manifest.json.out")) as f:
        return json.load(f)


def sim_config(path, **backend):
    """A config whose sim backend has the given settings; every built-in model
    runs on it because the built-in catalog names the backend `sim`."""
    lines = ["[backend.sim]", "kind = sim"]
    for k, v in backend.items():
        lines.append("%s = %s" % (k, v))
    return write_config(path, "\n".join(lines) + "\n")


def assert_exactly_once(out_lines, ids):
    got = [r["recordId"] for r in out_lines]
    assert got == ids, "output ids differ from input ids in order or count: %d vs %d" % (
        len(got), len(ids))


def sigkill(p):
    p.send_signal(signal.SIGKILL)
    p.wait()


def free_port():
    """A port free on 127.0.0.1 now (nothing listens on it)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def terminate(proc, timeout=10):
    """SIGTERM, then SIGKILL after timeout seconds; returns the exit status
    (None when there is no process)."""
    if not proc:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def kill_now(proc):
    """SIGKILL, as a crash would stop a process."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


class SimServer:
    """barge sim-server on 127.0.0.1: started on a free port (or the given
    one), stopped by stop() or at the end of a with block."""

    def __init__(self, *args, port=0):
        self.args = [str(a) for a in args]
        self.proc = None
        self.port = port
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [BARGE, "sim-server", "--listen", "127.0.0.1:%d" % self.port] + self.args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError("sim-server did not start: %r %s" % (line, err))
        self.port = int(m.group(1))

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def _auth(self):
        if "--api-key" in self.args:
            return {"Authorization": "Bearer " + self.args[self.args.index("--api-key") + 1]}
        return {}

    def stats(self):
        import urllib.request
        req = urllib.request.Request(self.base + "/stats", headers=self._auth())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def reset(self):
        import urllib.request
        req = urllib.request.Request(self.base + "/stats/reset", data=b"", method="POST",
                                     headers=self._auth())
        urllib.request.urlopen(req, timeout=10).read()

    def kill(self):
        """Stops the server abruptly, as a crash would."""
        kill_now(self.proc)

    def stop(self):
        terminate(self.proc)
        if self.proc:
            for f in (self.proc.stdout, self.proc.stderr):
                if f:
                    f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


class LoggedProcess:
    """A barge server process (self.proc) whose stderr goes to self.log."""

    def kill(self):
        kill_now(self.proc)
        self.log.close()

    def stop(self):
        """SIGTERM, and the exit status (0 when it stopped cleanly)."""
        rc = terminate(self.proc, timeout=30)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        return rc

    def logs(self):
        with open(self.log_path) as f:
            return f.read()


class Serve(LoggedProcess):
    """barge serve on 127.0.0.1 with the given configuration file; stderr goes
    to a log file so that tests can read what the server logged."""

    def __init__(self, config, log_path, env=None):
        self.config, self.log_path, self.env = config, log_path, env
        self.port = 0
        self.proc = None
        self.start()

    def start(self):
        e = dict(os.environ)
        e.pop("BARGE_CONFIG", None)
        if self.env:
            e.update(self.env)
        listen = "127.0.0.1:%d" % self.port
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([BARGE, "serve", "--config", self.config, "--listen", listen],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=e)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            with open(self.log_path) as f:
                raise AssertionError("barge serve did not start: %r\n%s" % (line, f.read()))
        self.port = int(m.group(1))

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port


class Worker(LoggedProcess):
    """barge worker with the given configuration file; stderr goes to a log file."""

    def __init__(self, config, log_path, runners=None, env=None):
        e = dict(os.environ)
        e.pop("BARGE_CONFIG", None)
        if env:
            e.update(env)
        self.log_path = log_path
        self.log = open(log_path, "a")
        extra = ["--runners", str(runners)] if runners else []
        self.proc = subprocess.Popen([BARGE, "worker", "--config", config] + extra,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=e)
        line = self.proc.stdout.readline()
        if not line.startswith("worker ready: "):
            self.stop()
            raise AssertionError("barge worker did not start: %r\n%s" % (line, self.logs()))


def pg_database(name=None):
    """A new, empty database on the tests' PostgreSQL server (tests/run.sh
    starts it and sets BARGE_TEST_PG); returns its URL."""
    import uuid
    base = os.environ.get("BARGE_TEST_PG")
    assert base, "BARGE_TEST_PG is not set: run the tests through tests/run.sh, " \
        "which starts a PostgreSQL server (tests/pg.sh)"
    name = name or "t_" + uuid.uuid4().hex[:16]
    subprocess.run(["psql", base, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    'CREATE DATABASE "%s"' % name], check=True, capture_output=True)
    return base.rsplit("/", 1)[0] + "/" + name


def pg_query(url, sql):
    """The rows of one SQL query, as lists of strings."""
    p = subprocess.run(["psql", url, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       check=True, capture_output=True, text=True)
    return [l.split("\t") for l in p.stdout.splitlines() if l]


# Debian's python3-botocore: the one signer a fresh Debian 12 (CI) has.
DEBIAN_PYTHON = "/usr/lib/python3/dist-packages"


def debian_botocore():
    """Imports botocore with Debian's dist-packages first in sys.path, so that
    the tests sign with the version CI has even where a pip-installed botocore
    (pyenv) would be found first. A botocore this process imported already
    stays the one in use; returns the module."""
    import sys
    if sys.path[:1] != [DEBIAN_PYTHON]:
        if DEBIAN_PYTHON in sys.path:
            sys.path.remove(DEBIAN_PYTHON)
        sys.path.insert(0, DEBIAN_PYTHON)
    import botocore
    import botocore.auth
    return botocore


def signing_clock(when):
    """A context in which botocore's SigV4 signer reads `when` (naive UTC) as
    the time. botocore 1.29 (Debian 12) calls datetime.datetime.utcnow() in
    botocore.auth; newer ones call botocore.compat.get_current_datetime(),
    imported by name into botocore.auth."""
    from unittest import mock
    auth = debian_botocore().auth
    if hasattr(auth, "get_current_datetime"):
        return mock.patch.object(auth, "get_current_datetime", return_value=when)
    dt = mock.MagicMock(wraps=auth.datetime)
    dt.datetime.utcnow.return_value = when
    dt.datetime.now.return_value = when
    return mock.patch.object(auth, "datetime", dt)


def aws_call(base, method, path, body=None, key=("AKIDTEST", "secret"), region="us-east-1",
             query="", skew_s=0):
    """Sends one request signed with SigV4 by Debian's botocore (an
    independent signer), with a clock skew_s seconds off; returns (status,
    error type or None, parsed body)."""
    import datetime
    import urllib.error
    import urllib.request
    debian_botocore()
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = base + path + ("?" + query if query else "")
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    r = AWSRequest(method=method, url=url, data=data, headers=headers)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with signing_clock(now + datetime.timedelta(seconds=skew_s)):
        SigV4Auth(Credentials(*key), "bedrock", region).add_auth(r)
    req = urllib.request.Request(url, data=data, method=method, headers=dict(r.headers))
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, None, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, e.headers.get("x-amzn-ErrorType"), json.loads(raw) if raw else None


def wait_status(base, arn, statuses, key=("AKIDTEST", "secret"), timeout=60):
    import urllib.parse
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, err, job = aws_call(base, "GET", "/model-invocation-job/" +
                                urllib.parse.quote(arn, safe=""), key=key)
        assert st == 200, (st, err, job)
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError("job %s did not reach %s: %s" % (arn, statuses, job))


class Serving(Serve):
    """Serve for a with block: `with Serving(config, log) as server:`. When
    the block ends without an exception the server must stop cleanly on
    SIGTERM (exit 0; under ASan a leak makes it non-zero); after an
    exception it is stopped and the exception goes on."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        if exc_type is None:
            assert rc == 0, "barge serve exited with status %s after SIGTERM; its log:\n%s" % (
                rc, self.logs()[-4000:])
