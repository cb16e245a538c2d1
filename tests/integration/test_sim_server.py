"""test_sim_server.py - `barge sim-server`: the simulator over HTTP in the OpenAI,
Anthropic and Bedrock-runtime dialects, its latency, max_seqs, faults, /stats,
API key and shutdown."""
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time

from lib import *

LISTENING = re.compile(r"^listening on 127\.0\.0\.1:(\d+)\n$")


class SimServer:
    """A running `barge sim-server --listen 127.0.0.1:0 ARGS`. Use it in a
    `with` block: the server is stopped with SIGTERM at the end, and must
    exit 0 (under ASan a leak would make it exit otherwise)."""

    def __init__(self, d, *args):
        self.errpath = os.path.join(d, "sim-server-%d.err" % time.monotonic_ns())
        self.err = open(self.errpath, "w")
        e = dict(os.environ)
        e.pop("BARGE_CONFIG", None)
        self.p = subprocess.Popen([BARGE, "sim-server", "--listen", "127.0.0.1:0"] +
                                  [str(a) for a in args], stdout=subprocess.PIPE,
                                  stderr=self.err, text=True, env=e)
        self.first_line = self.p.stdout.readline()
        m = LISTENING.match(self.first_line)
        if not m:
            self.stop(check=False)
            raise AssertionError("no listening line: %r; stderr: %s" % (
                self.first_line, self.stderr()))
        self.port = int(m.group(1))

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.errpath) as f:
            return f.read()

    def stop(self, check=True):
        try:
            if self.p.poll() is None:
                self.p.terminate()
            rc = self.p.wait(timeout=20)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
            self.p.stdout.close()
            self.err.close()
        if check:
            assert rc == 0, "sim-server exited %d; stderr: %s" % (rc, self.stderr())
        return rc

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(check=exc_type is None)
        return False

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, headers as a lower-case dict, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def post(self, path, body, headers=None, timeout=30):
        return self.request("POST", path, body, headers, timeout)

    def json(self, path, body, headers=None):
        st, h, data = self.post(path, body, headers)
        return st, h, json.loads(data)

    def stats(self, headers=None):
        st, h, data = self.request("GET", "/stats", headers=headers)
        assert st == 200, data
        return json.loads(data)


CHAT = {"model": "m", "messages": [{"role": "system", "content": "Be brief."},
                                   {"role": "user", "content": "Summarize document 7."}],
        "max_tokens": 40}
MESSAGES = {"model": "claude-3-5-haiku", "max_tokens": 50,
            "messages": [{"role": "user", "content": "Hello there, how are you?"}]}


def q(model_id):
    return model_id.replace(":", "%3A")


def test_openai_endpoints(d):
    with SimServer(d) as s:
        for prefix in ("/v1", ""):
            st, h, b = s.json(prefix + "/chat/completions", CHAT)
            assert st == 200, b
            assert h["content-type"] == "application/json"
            assert b["object"] == "chat.completion" and b["model"] == "m"
            msg = b["choices"][0]["message"]
            assert msg["role"] == "assistant" and msg["content"].startswith("[simulated]")
            u = b["usage"]
            assert u["prompt_tokens"] > 0 and 0 < u["completion_tokens"] <= 40
            assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
            assert len(msg["content"].split()) == 1 + u["completion_tokens"]
            assert b["choices"][0]["finish_reason"] in ("stop", "length")

            st, h, b = s.json(prefix + "/completions", {"model": "m", "prompt": "Once upon",
                                                         "max_tokens": 16})
            assert st == 200, b
            assert b["object"] == "text_completion"
            assert b["choices"][0]["text"].startswith("[simulated]")
            assert b["usage"]["completion_tokens"] <= 16

            st, h, b = s.json(prefix + "/embeddings", {"model": "e", "input": "some text",
                                                        "dimensions": 8})
            assert st == 200, b
            assert b["object"] == "list" and len(b["data"][0]["embedding"]) == 8
            assert b["usage"]["prompt_tokens"] > 0
            st, h, b = s.json(prefix + "/embeddings", {"model": "e", "input": "x"})
            assert len(b["data"][0]["embedding"]) == 1024


def test_anthropic_messages(d):
    with SimServer(d) as s:
        st, h, b = s.json("/v1/messages", MESSAGES)
        assert st == 200, b
        assert h["content-type"] == "application/json"
        assert b["type"] == "message" and b["role"] == "assistant"
        assert b["id"].startswith("msg_")
        assert b["content"][0]["type"] == "text"
        assert b["content"][0]["text"].startswith("[simulated]")
        assert b["stop_reason"] in ("end_turn", "max_tokens")
        assert b["usage"]["input_tokens"] > 0 and 0 < b["usage"]["output_tokens"] <= 50


def test_bedrock_invoke_claude(d):
    with SimServer(d) as s:
        body = claude_input(1, "Summarize the quarterly report.", max_tokens=60)
        st, h, b = s.json("/model/%s/invoke" % q(HAIKU), body)
        assert st == 200, b
        assert b["type"] == "message" and b["role"] == "assistant"
        assert b["content"][0]["text"].startswith("[simulated]")
        assert b["model"] == "claude-3-5-haiku-20241022"
        assert h["x-amzn-bedrock-input-token-count"] == str(b["usage"]["input_tokens"])
        assert h["x-amzn-bedrock-output-token-count"] == str(b["usage"]["output_tokens"])
        assert 0 < b["usage"]["output_tokens"] <= 60


def test_bedrock_invoke_other_families(d):
    with SimServer(d) as s:
        st, h, b = s.json("/model/%s/invoke" % q(LLAMA),
                          {"prompt": "Tell me a story.", "max_gen_len": 30})
        assert st == 200, b
        assert b["generation"].startswith("[simulated]")
        assert b["generation_token_count"] <= 30 and b["prompt_token_count"] > 0
        assert h["x-amzn-bedrock-output-token-count"] == str(b["generation_token_count"])

        st, h, b = s.json("/model/%s/invoke" % q(MISTRAL),
                          {"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 20})
        assert st == 200, b
        assert b["outputs"][0]["text"].startswith("[simulated]")
        assert int(h["x-amzn-bedrock-input-token-count"]) > 0

        st, h, b = s.json("/model/%s/invoke" % q(TITAN),
                          {"inputText": "Write a haiku.",
                           "textGenerationConfig": {"maxTokenCount": 25}})
        assert st == 200, b
        assert b["results"][0]["outputText"].startswith("[simulated]")
        assert b["inputTextTokenCount"] > 0

        st, h, b = s.json("/model/%s/invoke" % q(NOVA),
                          {"schemaVersion": "messages-v1",
                           "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                           "inferenceConfig": {"maxTokens": 30}})
        assert st == 200, b
        assert b["output"]["message"]["content"][0]["text"].startswith("[simulated]")
        assert b["usage"]["totalTokens"] == b["usage"]["inputTokens"] + b["usage"]["outputTokens"]

        st, h, b = s.json("/model/%s/invoke" % q(EMBED),
                          {"inputText": "embed me", "dimensions": 256, "normalize": True})
        assert st == 200, b
        assert len(b["embedding"]) == 256
        assert b["inputTextTokenCount"] > 0
        assert h["x-amzn-bedrock-output-token-count"] == "0"


def test_bedrock_converse(d):
    body = {"messages": [{"role": "user", "content": [{"text": "Summarize this."}]}],
            "system": [{"text": "Be brief."}], "inferenceConfig": {"maxTokens": 40}}
    with SimServer(d) as s:
        for model in (HAIKU, NOVA):
            st, h, b = s.json("/model/%s/converse" % q(model), body)
            assert st == 200, b
            m = b["output"]["message"]
            assert m["role"] == "assistant" and m["content"][0]["text"].startswith("[simulated]")
            assert b["stopReason"] in ("end_turn", "max_tokens")
            assert b["usage"]["outputTokens"] <= 40
            assert "latencyMs" in b["metrics"]
            assert h["x-amzn-bedrock-input-token-count"] == str(b["usage"]["inputTokens"])
        # An embedding model has no Converse.
        st, h, b = s.json("/model/%s/converse" % q(EMBED), body)
        assert st == 400 and h["x-amzn-errortype"] == "ValidationException", b


def test_bedrock_model_from_config(d):
    cfg = write_config(os.path.join(d, "c.ini"),
                       "[model.my-llama]\nfamily = llama\nbackend = sim\n")
    with SimServer(d, "--config", cfg) as s:
        st, h, b = s.json("/model/my-llama/invoke", {"prompt": "Hi", "max_gen_len": 10})
        assert st == 200, b
        assert b["generation"].startswith("[simulated]")
        # A foundation-model ARN names the same model as its id.
        arn = "arn:aws:bedrock:us-east-1::foundation-model/" + HAIKU
        st, h, b = s.json("/model/%s/invoke" % q(arn).replace("/", "%2F"),
                          claude_input(1))
        assert st == 200, b


def test_bedrock_errors(d):
    with SimServer(d) as s:
        st, h, b = s.json("/model/no.such-model-v1%3A0/invoke", claude_input(1))
        assert st == 400, b
        assert h["x-amzn-errortype"] == "ValidationException"
        assert set(b) == {"message"} and "model identifier" in b["message"]
        # Claude needs max_tokens: the family's validation runs.
        bad = claude_input(1)
        del bad["max_tokens"]
        st, h, b = s.json("/model/%s/invoke" % q(HAIKU), bad)
        assert st == 400 and h["x-amzn-errortype"] == "ValidationException", b
        assert "max_tokens" in b["message"]
        st, h, b = s.request("POST", "/model/%s/invoke-with-response-stream" % q(HAIKU), "{}")
        assert st == 404, b
        assert h["x-amzn-errortype"] == "ResourceNotFoundException"


def test_determinism_for_a_seed(d):
    with SimServer(d, "--seed", 7) as s:
        a = s.post("/v1/chat/completions", CHAT)[2]
        b = s.post("/v1/chat/completions", CHAT)[2]
        m1 = s.post("/v1/messages", MESSAGES)[2]
        e1 = s.post("/v1/embeddings", {"input": "x", "dimensions": 4})[2]
    assert a == b
    with SimServer(d, "--seed", 7) as s:
        assert s.post("/v1/chat/completions", CHAT)[2] == a
        assert s.post("/v1/messages", MESSAGES)[2] == m1
    with SimServer(d, "--seed", 8) as s:
        assert s.post("/v1/chat/completions", CHAT)[2] != a
        assert s.post("/v1/messages", MESSAGES)[2] != m1
        assert s.post("/v1/embeddings", {"input": "x", "dimensions": 4})[2] != e1


def test_latency_lower_bound(d):
    with SimServer(d, "--ttft-ms", 200, "--itl-ms", 3) as s:
        t0 = time.monotonic()
        st, h, b = s.json("/v1/chat/completions", CHAT)
        took = time.monotonic() - t0
        assert st == 200
        want = 0.2 + 0.003 * b["usage"]["completion_tokens"]
        assert took >= want, (took, want)
        t0 = time.monotonic()
        st, h, b = s.json("/model/%s/invoke" % q(HAIKU), claude_input(2))
        assert st == 200 and time.monotonic() - t0 >= 0.2
        # Errors are not generated: they come back at once.
        t0 = time.monotonic()
        st, h, b = s.post("/v1/chat/completions", "{not json")
        assert st == 400 and time.monotonic() - t0 < 0.2


def test_slow_answers_hold_no_thread(d):
    """Twenty answers of 0.5 s each on two polling threads finish together,
    so waiting answers hold no thread."""
    with SimServer(d, "--ttft-ms", 500, "--threads", 2) as s:
        out = []

        def one():
            out.append(s.post("/v1/chat/completions", CHAT)[0])
        ts = [threading.Thread(target=one) for _ in range(20)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        took = time.monotonic() - t0
        assert out == [200] * 20
        assert 0.5 <= took < 3.0, took
        assert s.stats()["max_in_flight"] >= 10


def test_max_seqs_rejects_beyond(d):
    with SimServer(d, "--max-seqs", 2, "--ttft-ms", 800, "--retry-after-s", 2) as s:
        results = []
        lock = threading.Lock()
        go = threading.Barrier(6)

        def one():
            go.wait()
            r = s.post("/v1/chat/completions", CHAT)
            with lock:
                results.append(r)
        ts = [threading.Thread(target=one) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ok = [r for r in results if r[0] == 200]
        busy = [r for r in results if r[0] == 429]
        assert len(ok) + len(busy) == 6, [r[0] for r in results]
        assert busy and ok
        for st, h, b in busy:
            assert h["retry-after"] == "2"
            assert json.loads(b)["error"]["type"] == "rate_limit_error"
        st = s.stats()
        assert st["rejected_over_max_seqs"] == len(busy) > 0
        assert 1 <= st["max_in_flight"] <= 2
        assert st["in_flight"] == 0
        assert st["by_status"]["429"] == len(busy)
        assert st["faults"]["429"] == 0


def fault_server(d, kind, *extra):
    return SimServer(d, "--fail-rate", 1, "--fail-types", kind, *extra)


def test_fault_statuses(d):
    with fault_server(d, "429", "--retry-after-s", 3) as s:
        st, h, b = s.post("/v1/chat/completions", CHAT)
        assert st == 429 and h["retry-after"] == "3", (st, h)
        assert json.loads(b)["error"]["type"] == "rate_limit_error"
        st, h, b = s.post("/v1/messages", MESSAGES)
        assert st == 429 and h["retry-after"] == "3"
        assert json.loads(b)["error"]["type"] == "rate_limit_error"
        st, h, b = s.post("/model/%s/invoke" % q(HAIKU), claude_input(1))
        assert st == 429 and h["x-amzn-errortype"] == "ThrottlingException"
        assert s.stats()["faults"]["429"] == 3
    for code, kind in ((500, "api_error"), (503, "overloaded_error")):
        with fault_server(d, str(code)) as s:
            st, h, b = s.post("/v1/chat/completions", CHAT)
            assert st == code, st
            assert json.loads(b)["error"]["type"] == kind
            assert s.stats()["faults"][str(code)] == 1


def test_fault_reset(d):
    with fault_server(d, "reset") as s:
        try:
            s.post("/v1/chat/completions", CHAT, timeout=10)
            raise AssertionError("a reset fault answered")
        except (http.client.RemoteDisconnected, ConnectionError):
            pass
        st = s.stats()
        assert st["faults"]["reset"] == 1 and st["by_status"] == {}


def test_fault_timeout(d):
    with fault_server(d, "timeout", "--hang-ms", 300) as s:
        t0 = time.monotonic()
        try:
            s.post("/v1/chat/completions", CHAT, timeout=10)
            raise AssertionError("a timeout fault answered")
        except (http.client.RemoteDisconnected, ConnectionError):
            pass
        took = time.monotonic() - t0
        assert 0.3 <= took < 5, took
        st = s.stats()
        assert st["faults"]["timeout"] == 1 and st["in_flight"] == 0


def test_fault_malformed(d):
    with fault_server(d, "malformed") as s:
        st, h, b = s.post("/v1/chat/completions", CHAT)
        assert st == 200
        try:
            json.loads(b)
            raise AssertionError("a malformed answer parsed: %r" % b)
        except ValueError:
            pass
        st, h, b = s.post("/model/%s/invoke" % q(HAIKU), claude_input(1))
        assert st == 200
        try:
            json.loads(b)
            raise AssertionError("a malformed answer parsed: %r" % b)
        except ValueError:
            pass


def test_fault_truncated(d):
    with fault_server(d, "truncated") as s:
        for path, body in (("/v1/chat/completions", CHAT),
                           ("/model/%s/invoke" % q(HAIKU), claude_input(1))):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
            c.request("POST", path, body=json.dumps(body))
            r = c.getresponse()
            assert r.status == 200
            declared = int(r.getheader("Content-Length"))
            try:
                r.read()
                raise AssertionError("a truncated answer read whole")
            except http.client.IncompleteRead as e:
                assert 0 < len(e.partial) < declared, (len(e.partial), declared)
            c.close()
        assert s.stats()["faults"]["truncated"] == 2


def test_faults_follow_seed_and_order(d):
    def statuses(s, n):
        out = []
        for i in range(n):
            try:
                out.append(s.post("/v1/chat/completions", CHAT, timeout=10)[0])
            except (http.client.RemoteDisconnected, ConnectionError):
                out.append("reset")
        return out
    args = ("--fail-rate", 0.5, "--fail-types", "429,500,503,reset,malformed", "--seed", 5)
    with SimServer(d, *args) as s:
        first = statuses(s, 30)
        s.post("/stats/reset", "")
        again = statuses(s, 30)
    with SimServer(d, *args) as s:
        other_run = statuses(s, 30)
    assert first == again == other_run
    assert 5 <= sum(1 for x in first if x != 200) <= 25, first


def test_stats_and_reset(d):
    with SimServer(d) as s:
        st0 = s.stats()
        assert st0["requests"] == 0 and st0["arrivals_ms"] == []
        b1 = s.json("/v1/chat/completions", CHAT)[2]
        b2 = s.json("/v1/messages", MESSAGES)[2]
        s.post("/v1/chat/completions", "{bad")
        s.request("GET", "/nowhere")
        s.post("/model/%s/invoke" % q(HAIKU), claude_input(3))
        st = s.stats()
        assert st["requests"] == 5
        assert st["by_status"] == {"200": 3, "400": 1, "404": 1}, st["by_status"]
        assert st["by_path"]["/v1/chat/completions"] == 2
        assert st["by_path"]["/v1/messages"] == 1
        assert st["by_path"]["/nowhere"] == 1
        assert st["by_path"]["/model/%s/invoke" % HAIKU] == 1
        assert st["tokens"]["output"] >= (b1["usage"]["completion_tokens"] +
                                          b2["usage"]["output_tokens"])
        assert st["tokens"]["input"] > 0
        assert len(st["arrivals_ms"]) == 5
        assert st["arrivals_ms"] == sorted(st["arrivals_ms"])
        assert set(st["faults"]) == {"429", "500", "503", "timeout", "reset", "malformed",
                                     "truncated"}
        assert st["max_in_flight"] >= 1 and st["in_flight"] == 0
        assert st["rejected_over_max_seqs"] == 0
        code, h, b = s.post("/stats/reset", "")
        assert code == 200
        st = s.stats()
        assert st["requests"] == 0 and st["by_status"] == {} and st["by_path"] == {}
        assert st["tokens"] == {"input": 0, "output": 0} and st["arrivals_ms"] == []
        assert st["max_in_flight"] == 0
        # Control endpoints are not counted, and take only their method.
        assert s.request("GET", "/healthz")[2] == b'{"status":"ok"}'
        assert s.request("POST", "/stats", "")[0] == 405
        assert s.request("GET", "/stats/reset")[0] == 405
        assert s.stats()["requests"] == 0


def test_api_key(d):
    with SimServer(d, "--api-key", "sekret") as s:
        st, h, b = s.json("/v1/chat/completions", CHAT)
        assert st == 401 and b["error"]["type"] == "authentication_error", b
        st, h, b = s.json("/v1/chat/completions", CHAT, {"Authorization": "Bearer nope"})
        assert st == 401
        st, h, b = s.json("/v1/chat/completions", CHAT, {"Authorization": "Bearer sekret"})
        assert st == 200, b
        st, h, b = s.json("/v1/messages", MESSAGES)
        assert st == 401 and b["type"] == "error", b
        assert b["error"]["type"] == "authentication_error"
        st, h, b = s.json("/v1/messages", MESSAGES, {"x-api-key": "sekret"})
        assert st == 200, b
        st, h, b = s.json("/model/%s/invoke" % q(HAIKU), claude_input(1))
        assert st == 401 and "message" in b and "x-amzn-errortype" in h
        st, h, b = s.json("/model/%s/invoke" % q(HAIKU), claude_input(1),
                          {"Authorization": "Bearer sekret"})
        assert st == 200, b
        assert s.request("GET", "/healthz")[0] == 200
        assert s.request("GET", "/stats")[0] == 401
        assert s.stats({"x-api-key": "sekret"})["by_status"]["401"] == 4


def test_error_shapes(d):
    with SimServer(d, "--max-body-bytes", 2000) as s:
        st, h, b = s.json("/v1/nothing-here", {})
        assert st == 404 and h["content-type"] == "application/json"
        assert set(b["error"]) >= {"message", "type", "code"}
        st, h, b = s.request("GET", "/v1/chat/completions")
        assert st == 405 and h["allow"] == "POST"
        assert set(json.loads(b)["error"]) >= {"message", "type", "code"}
        st, h, b = s.post("/v1/chat/completions", "{oops")
        b = json.loads(b)
        assert st == 400 and b["error"]["type"] == "invalid_request_error"
        assert set(b["error"]) >= {"message", "type", "code"}
        st, h, b = s.json("/v1/chat/completions", {"model": "m"})
        assert st == 400 and "messages" in b["error"]["message"]
        st, h, b = s.post("/v1/messages", "[1,")
        b = json.loads(b)
        assert st == 400 and b["type"] == "error"
        assert b["error"]["type"] == "invalid_request_error" and b["error"]["message"]
        st, h, b = s.json("/v1/messages", {"messages": []})
        assert st == 400 and "max_tokens" in b["error"]["message"]
        st, h, b = s.post("/model/%s/invoke" % q(HAIKU), "not json")
        b = json.loads(b)
        assert st == 400 and list(b) == ["message"]
        assert h["x-amzn-errortype"] == "ValidationException"
        st, h, b = s.request("GET", "/model/%s/invoke" % q(HAIKU))
        assert st == 405 and h["x-amzn-errortype"] == "UnknownOperationException"
        st, h, b = s.post("/v1/chat/completions", json.dumps({"x": "y" * 3000}))
        assert st == 413, (st, b)
        assert "2000 bytes" in json.loads(b)["error"]["message"]


def test_keep_alive(d):
    with SimServer(d) as s:
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        socks = set()
        for i in range(5):
            c.request("POST", "/v1/chat/completions", body=json.dumps(CHAT))
            r = c.getresponse()
            assert r.status == 200
            r.read()
            socks.add(id(c.sock))
        assert len(socks) == 1
        c.close()


def test_sigterm_exits_zero_promptly(d):
    s = SimServer(d, "--fail-rate", 1, "--fail-types", "timeout", "--ttft-ms", 10)
    try:
        assert s.first_line == "listening on 127.0.0.1:%d\n" % s.port
        # A request held by a timeout fault must not delay the exit.
        def hang():
            try:
                s.post("/v1/chat/completions", CHAT, timeout=30)
            except Exception:
                pass
        t = threading.Thread(target=hang)
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        s.p.send_signal(signal.SIGTERM)
        rc = s.p.wait(timeout=10)
        assert rc == 0, (rc, s.stderr())
        assert time.monotonic() - t0 < 3
        t.join(10)
        assert not t.is_alive()
    finally:
        s.stop(check=False)
    # Twenty answers held by their latency are closed, not waited for.
    s = SimServer(d, "--ttft-ms", 60000)
    try:
        errors = []

        def slow():
            try:
                s.post("/v1/chat/completions", CHAT, timeout=30)
            except (http.client.RemoteDisconnected, ConnectionError) as e:
                errors.append(e)
        ts = [threading.Thread(target=slow) for _ in range(20)]
        for t in ts:
            t.start()
        deadline = time.monotonic() + 10
        while s.stats()["in_flight"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        s.p.send_signal(signal.SIGTERM)
        assert s.p.wait(timeout=10) == 0, s.stderr()
        assert time.monotonic() - t0 < 3
        for t in ts:
            t.join(10)
        assert len(errors) == 20
    finally:
        s.stop(check=False)
    s = SimServer(d)
    try:
        s.p.send_signal(signal.SIGINT)
        assert s.p.wait(timeout=10) == 0
    finally:
        s.stop(check=False)


def test_fixed_port_and_port_in_use(d):
    with SimServer(d) as s:
        r = barge("sim-server", "--listen", "127.0.0.1:%d" % s.port, timeout=30)
        assert r.rc == 1, r
        assert "cannot listen on 127.0.0.1:%d" % s.port in r.err, r
        port = s.port
    # The port is free again at once after a stop.
    p = subprocess.Popen([BARGE, "sim-server", "--listen", "127.0.0.1:%d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "listening on 127.0.0.1:%d\n" % port
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0
        p.stdout.close()
        p.stderr.close()


def test_usage_errors():
    for args in (["--ttft-ms", "5"], ["--listen", "127.0.0.1"], ["--listen", "h:99999"],
                 ["--listen", "127.0.0.1:0", "--fail-types", "429,boom"],
                 ["--listen", "127.0.0.1:0", "--fail-rate", "1.5"],
                 ["--listen", "127.0.0.1:0", "--itl-ms", "x"],
                 ["--listen", "127.0.0.1:0", "extra"]):
        r = barge("sim-server", *args)
        assert r.rc == 2, (args, r)
        assert "barge sim-server:" in r.err, r
    r = barge("sim-server", "--help")
    assert r.rc == 0
    for flag in ("--retry-after-s", "--hang-ms", "--config", "--api-key", "--max-body-bytes",
                 "/stats", "listening on HOST:PORT"):
        assert flag in r.out, flag
