"""test_llama_cpp.py - barge run against a real inference engine: llama.cpp's
llama-server (built by scripts/llama-server.sh from the source node-llama-cpp
ships) serving a tiny random-weight GGUF model.

Opt-in, not part of tests/run.sh: run it with scripts/test-peers.sh, which
builds the server and the model (cached) and sets BARGE_LLAMA_SERVER and
BARGE_LLAMA_MODEL. Without them this file fails at once and says so.

The model's random weights never end a turn (scripts/tiny_gguf.py): every
answer runs to its max tokens, so output counts and stop reasons are exact.
Each test starts its own llama-server on 127.0.0.1 on a free port and stops
it in a finally.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from lib import *  # noqa: E402,F401,F403

SERVER = os.environ.get("BARGE_LLAMA_SERVER", "")
MODEL = os.environ.get("BARGE_LLAMA_MODEL", "")
HOW = ("run it with scripts/test-peers.sh (builds llama-server and a tiny model, 6 to 11 "
       "minutes the first time), or set BARGE_LLAMA_SERVER and BARGE_LLAMA_MODEL to the "
       "two paths scripts/llama-server.sh prints")
_missing = None
if not SERVER or not MODEL:
    _missing = "BARGE_LLAMA_SERVER and BARGE_LLAMA_MODEL are not set"
elif not os.access(SERVER, os.X_OK):
    _missing = "BARGE_LLAMA_SERVER=%s is not an executable" % SERVER
elif not os.path.isfile(MODEL):
    _missing = "BARGE_LLAMA_MODEL=%s is not a file" % MODEL
if _missing:
    # A clear failure, never a silent pass: one TAP line, then exit 1.
    print("not ok - test_llama_cpp: %s; %s" % (_missing, HOW))
    sys.stdout.flush()
    sys.stderr.write("test_llama_cpp.py: %s\n  %s\n" % (_missing, HOW))
    sys.exit(1)

KEY = "sk-llama-test"
N = 20                    # records per job
CTX = 2048                # llama-server's context, shared by its 4 slots
ENV = {"BARGE_PROGRESS_INTERVAL_MS": "200"}


class LlamaServer:
    """llama-server on 127.0.0.1 with the tiny model: a small context, four
    parallel slots, one thread, an API key and /metrics. Its log goes to a
    file in the test's directory."""

    started = 0

    def __init__(self, d, *extra, port=0):
        """Starts it on port, else on a free port (tried up to three times,
        in case another program takes the port meanwhile)."""
        self.proc = None
        self.log = None
        last = ""
        for attempt in range(3):
            self.port = port or free_port()
            LlamaServer.started += 1
            self.log_path = os.path.join(d, "llama-server-%d.log" % LlamaServer.started)
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen(
                [SERVER, "-m", MODEL, "--host", "127.0.0.1", "--port", str(self.port),
                 "-c", str(CTX), "-np", "4", "--threads", "1", "--threads-batch", "1",
                 "--api-key", KEY, "--metrics"] + list(extra),
                stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if self._wait_healthy(120):
                return
            last = self.tail()
            self.stop()
            time.sleep(1)
        raise AssertionError("llama-server did not become healthy:\n" + last)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def _wait_healthy(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False          # e.g. the port was taken meanwhile
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as r:
                    if r.status == 200 and json.loads(r.read()).get("status") == "ok":
                        return True
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        return False

    def call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers={
            "Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read().decode()
        return raw if path == "/metrics" else json.loads(raw)

    def metrics(self):
        """llama-server's counters, e.g. tokens_predicted_total."""
        out = {}
        for line in self.call("/metrics").splitlines():
            m = re.match(r"llamacpp:(\w+) (\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def count_tokens(self, text, bos=True):
        """How many tokens llama-server makes of text (with BOS when asked)."""
        return len(self.call("/tokenize", {"content": text, "add_special": bos})["tokens"])

    def count_chat_tokens(self, messages):
        """Tokens of the prompt llama-server builds from chat messages."""
        prompt = self.call("/apply-template", {"messages": messages})["prompt"]
        return self.count_tokens(prompt)

    def stop(self):
        terminate(self.proc, timeout=20)
        if self.log:
            self.log.close()
            self.log = None


def config(d, port, kind="openai", **engine):
    """One backend of the given kind pointing at llama-server, and one model
    per family on it."""
    text = "[backend.llama]\nkind = %s\nbase_url = http://127.0.0.1:%d/v1\napi_key = %s\n" % (
        kind, port, KEY)
    engine.setdefault("max_concurrency", 4)
    engine.setdefault("timeout_s", 120)
    engine.setdefault("max_attempts", 3)
    engine.setdefault("retry_base_ms", 100)
    text += "".join("%s = %s\n" % kv for kv in engine.items()) + "\n"
    for fam in list(FAMILIES) + list(EMBED_FAMILIES):
        real = "nova" if fam == "converse" else fam
        text += ("[model.tiny-%s]\nfamily = %s\nbackend = llama\nupstream_model = tiny-llama\n"
                 "input_price_per_1k = 0.001\noutput_price_per_1k = 0.002\n\n" % (fam, real))
    return write_config(os.path.join(d, "c.ini"), text)


def max_tokens(i):
    """Small and varied, so that the count reaching llama-server is checked."""
    return 4 + i % 5


def prompt_of(i):
    return "Summarize batch item %d of the report." % i


# family -> modelInput of record i
FAMILIES = {
    "anthropic-messages": lambda i: {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens(i),
        "system": "Be brief.", "messages": [{"role": "user", "content": prompt_of(i)}]},
    "llama": lambda i: {"prompt": prompt_of(i), "max_gen_len": max_tokens(i)},
    "mistral": lambda i: {"prompt": "<s>[INST] %s [/INST]" % prompt_of(i),
                          "max_tokens": max_tokens(i)},
    "titan-text": lambda i: {"inputText": prompt_of(i),
                             "textGenerationConfig": {"maxTokenCount": max_tokens(i)}},
    "nova": lambda i: {"messages": [{"role": "user", "content": [{"text": prompt_of(i)}]}],
                       "inferenceConfig": {"maxTokens": max_tokens(i)}},
    "converse": lambda i: {"messages": [{"role": "user", "content": [{"text": prompt_of(i)}]}],
                           "inferenceConfig": {"maxTokens": max_tokens(i)}},
    "openai-chat": lambda i: {"model": "anything", "max_tokens": max_tokens(i),
                              "messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": prompt_of(i)}]},
    "openai-completions": lambda i: {"prompt": prompt_of(i), "max_tokens": max_tokens(i)},
}

EMBED_FAMILIES = {
    "openai-embeddings": lambda i: {"input": prompt_of(i)},
    "titan-embed": lambda i: {"inputText": prompt_of(i)},
}

# What each family's native output says when max tokens ended the answer.
LENGTH = {"anthropic-messages": "max_tokens", "llama": "length", "mistral": "length",
          "titan-text": "LENGTH", "nova": "max_tokens", "converse": "max_tokens",
          "openai-chat": "length", "openai-completions": "length"}


def read_output(fam, o):
    """(text, input tokens, output tokens, stop reason) of a family's native
    modelOutput; tokens are None where the family has no counts."""
    if fam == "anthropic-messages":
        assert o["type"] == "message" and o["role"] == "assistant", o
        text = "".join(b["text"] for b in o["content"] if b["type"] == "text")
        return text, o["usage"]["input_tokens"], o["usage"]["output_tokens"], o["stop_reason"]
    if fam == "llama":
        return (o["generation"], o["prompt_token_count"], o["generation_token_count"],
                o["stop_reason"])
    if fam == "mistral":
        return o["outputs"][0]["text"], None, None, o["outputs"][0]["stop_reason"]
    if fam == "titan-text":
        r = o["results"][0]
        return r["outputText"], o["inputTextTokenCount"], r["tokenCount"], r["completionReason"]
    if fam in ("nova", "converse"):
        return (o["output"]["message"]["content"][0]["text"], o["usage"]["inputTokens"],
                o["usage"]["outputTokens"], o["stopReason"])
    if fam == "openai-chat":
        c = o["choices"][0]
        return (c["message"]["content"], o["usage"]["prompt_tokens"],
                o["usage"]["completion_tokens"], c["finish_reason"])
    if fam == "openai-completions":
        c = o["choices"][0]
        return (c["text"], o["usage"]["prompt_tokens"], o["usage"]["completion_tokens"],
                c["finish_reason"])
    raise AssertionError(fam)


def expected_input_tokens(srv, fam, mi, kind="openai"):
    """The prompt tokens llama-server counts for a record, asked of
    llama-server itself (its tokenizer and chat template); None where the
    prompt barge builds is not spelled out here. On the Anthropic wire a
    prompt family's text becomes one user message."""
    if fam in ("llama", "mistral", "openai-completions", "titan-text"):
        text = mi["inputText"] if fam == "titan-text" else mi["prompt"]
        if kind == "anthropic":
            return srv.count_chat_tokens([{"role": "user", "content": text}])
        return srv.count_tokens(text)
    if fam == "anthropic-messages":
        return srv.count_chat_tokens([{"role": "system", "content": mi["system"]}] +
                                     mi["messages"])
    if fam == "openai-chat":
        return srv.count_chat_tokens(mi["messages"])
    if fam in ("nova", "converse"):
        return srv.count_chat_tokens([{"role": m["role"], "content": m["content"][0]["text"]}
                                      for m in mi["messages"]])
    return None


def run_job(d, cfg, fam, recs, *extra, name=None):
    """Runs recs as one job of model tiny-<fam> in d/<name or fam>; returns
    barge's summary, the manifest and the output lines."""
    sub = os.path.join(d, name or fam)
    os.makedirs(sub, exist_ok=True)
    inp = write_jsonl(os.path.join(sub, "in.jsonl"), recs)
    if fam == "converse":
        extra = ("--invocation-type", "Converse") + extra
    r = barge("run", inp, "--model", "tiny-" + fam, "--output", os.path.join(sub, "out"),
              "--state", os.path.join(sub, "st"), "--config", cfg, "--json", *extra,
              env=ENV, timeout=600)
    assert r.rc == 0, (fam, r)
    out = read_jsonl(os.path.join(job_dir(os.path.join(sub, "out")), "in.jsonl.out"))
    return r.json(), manifest(os.path.join(sub, "out")), out


def check_family(srv, d, cfg, fam, kind="openai"):
    """Runs N records of fam through barge to llama-server and checks every
    answer, its counts against llama-server's tokenizer, the manifest, and
    llama-server's own books."""
    recs = [{"recordId": "%s-%03d" % (fam, i), "modelInput": FAMILIES[fam](i)} for i in range(N)]
    before = srv.metrics()
    summary, man, out = run_job(d, cfg, fam, recs)
    after = srv.metrics()
    assert_exactly_once(out, [r["recordId"] for r in recs])
    assert summary["successRecordCount"] == N and summary["errorRecordCount"] == 0, summary
    assert man["successRecordCount"] == N and man["processedRecordCount"] == N, man
    sum_in = sum_out = 0
    for rec, line in zip(recs, out):
        assert "error" not in line, (fam, line)
        i = int(rec["recordId"].rsplit("-", 1)[1])
        text, tin, tout, stop = read_output(fam, line["modelOutput"])
        assert isinstance(text, str) and text.strip(), (fam, line)
        assert "[simulated]" not in text, (fam, line)
        assert stop == LENGTH[fam], (fam, stop, line)
        if tout is not None:
            # The model never ends a turn: exactly the max tokens asked for.
            assert tout == max_tokens(i), (fam, tout, max_tokens(i), line)
            assert tin > 0, (fam, line)
            want = expected_input_tokens(srv, fam, rec["modelInput"], kind)
            if want is not None:
                assert tin == want, (fam, "input tokens", tin, "llama-server counts", want, line)
            sum_in += tin
            sum_out += tout
    want_out = sum(max_tokens(i) for i in range(N))
    assert man["outputTokenCount"] == want_out, (fam, man, want_out)
    assert summary["outputTokenCount"] == want_out, (fam, summary)
    assert man["inputTokenCount"] > 0, man
    if fam != "mistral":
        assert man["inputTokenCount"] == sum_in, (fam, man, sum_in)
        assert sum_out == want_out
    # llama-server's books agree: what it generated and the prompt tokens it
    # saw (processed plus reused from its cache) are what barge counted.
    predicted = after["tokens_predicted_total"] - before["tokens_predicted_total"]
    prompt = (after["prompt_tokens_total"] + after["prompt_tokens_cached_total"]
              - before["prompt_tokens_total"] - before["prompt_tokens_cached_total"])
    assert predicted == want_out, (fam, "llama-server generated", predicted, "barge", want_out)
    assert prompt == man["inputTokenCount"], (fam, "llama-server prompt tokens", prompt, man)
    return out


def with_server(d, fn, *extra):
    srv = LlamaServer(d, *extra)
    try:
        return fn(srv)
    except Exception:
        # TAP comments, ahead of the harness's "not ok" line.
        print("# llama-server log (%s), last lines:" % srv.log_path)
        for line in srv.tail(20).splitlines():
            print("#   " + line)
        sys.stdout.flush()
        raise
    finally:
        srv.stop()


def test_llama_family_to_completions(d):
    with_server(d, lambda srv: check_family(srv, d, config(d, srv.port), "llama"))


def test_anthropic_messages_to_chat_completions(d):
    with_server(d, lambda srv: check_family(srv, d, config(d, srv.port), "anthropic-messages"))


def test_openai_chat(d):
    def body(srv):
        out = check_family(srv, d, config(d, srv.port), "openai-chat")
        # The answer is llama-server's own chat.completion.
        o = out[0]["modelOutput"]
        assert o["object"] == "chat.completion" and "timings" in o, o
    with_server(d, body)


def test_other_text_families(d):
    """The remaining families of the openai kind, one job each."""
    def body(srv):
        cfg = config(d, srv.port)
        for fam in ("mistral", "titan-text", "nova", "converse", "openai-completions"):
            check_family(srv, d, cfg, fam)
    with_server(d, body)


def test_prompt_over_context_is_a_record_error(d):
    """A prompt longer than a slot's context is llama-server's 400: that
    record fails with llama-server's message, at once, and the rest run."""
    def body(srv):
        cfg = config(d, srv.port)
        long_prompt = " ".join("word%d" % k for k in range(CTX))
        recs = [{"recordId": "c%02d" % i, "modelInput": {
            "prompt": long_prompt if i == 3 else prompt_of(i), "max_gen_len": 4}}
            for i in range(6)]
        summary, man, out = run_job(d, cfg, "llama", recs)
        assert summary["successRecordCount"] == 5 and summary["errorRecordCount"] == 1, summary
        assert summary["retryCount"] == 0, summary
        bad = out[3]
        assert bad["recordId"] == "c03" and bad["error"]["errorCode"] == 400, bad
        assert "context" in bad["error"]["errorMessage"], bad
        for line in out[:3] + out[4:]:
            assert line["modelOutput"]["generation_token_count"] == 4, line
    with_server(d, body)


def test_wrong_api_key_is_a_record_error(d):
    def body(srv):
        cfg = config(d, srv.port)
        with open(cfg) as f:
            text = f.read().replace("api_key = " + KEY, "api_key = sk-wrong")
        write_config(cfg, text)
        recs = [{"recordId": str(i), "modelInput": FAMILIES["llama"](i)} for i in range(3)]
        summary, man, out = run_job(d, cfg, "llama", recs)
        assert summary["errorRecordCount"] == 3 and summary["retryCount"] == 0, summary
        for line in out:
            assert line["error"]["errorCode"] == 401, line
            assert "Invalid API Key" in line["error"]["errorMessage"], line
    with_server(d, body)


def test_anthropic_kind_to_messages(d):
    """barge's anthropic kind against llama-server's Anthropic-compatible
    /v1/messages. Prompt caching is off here: llama-server reports cached
    prompt tokens as cache_read_input_tokens beside input_tokens, and which
    tokens are cached depends on which slot a request lands in."""
    def body(srv):
        cfg = config(d, srv.port, kind="anthropic")
        for fam in ("anthropic-messages", "llama", "openai-chat", "nova"):
            check_family(srv, d, cfg, fam, kind="anthropic")
    with_server(d, body, "--no-cache-prompt")


def test_embeddings(d):
    """openai-embeddings and titan-embed to /v1/embeddings of a server
    started with --embeddings: one vector of the model's width (64) per
    record, its token count from llama-server's tokenizer."""
    def body(srv):
        cfg = config(d, srv.port)
        for fam, make in EMBED_FAMILIES.items():
            recs = [{"recordId": "%s-%02d" % (fam, i), "modelInput": make(i)} for i in range(N)]
            before = srv.metrics()
            summary, man, out = run_job(d, cfg, fam, recs)
            after = srv.metrics()
            assert summary["successRecordCount"] == N, summary
            assert_exactly_once(out, [r["recordId"] for r in recs])
            total = 0
            for i, line in enumerate(out):
                o = line["modelOutput"]
                if fam == "openai-embeddings":
                    vec, tin = o["data"][0]["embedding"], o["usage"]["prompt_tokens"]
                else:
                    vec, tin = o["embedding"], o["inputTextTokenCount"]
                assert len(vec) == 64 and any(abs(x) > 1e-6 for x in vec), (fam, len(vec))
                assert tin == srv.count_tokens(prompt_of(i)), (fam, tin, line)
                total += tin
            assert man["inputTokenCount"] == total and man["outputTokenCount"] == 0, man
            seen = after["prompt_tokens_total"] - before["prompt_tokens_total"]
            assert seen == total, (fam, "llama-server prompt tokens", seen, total)
    with_server(d, body, "--embeddings", "--pooling", "mean")


def test_stop_sequences(d):
    """Stop sequences reach llama-server and cut the answer where they
    match. Greedy decoding (temperature 0), one request at a time and no
    prompt cache make each answer the same on both passes: the first pass
    learns the text, the second stops at two characters taken from it."""
    def body(srv):
        cfg = config(d, srv.port, max_concurrency=1)
        cases = {
            "anthropic-messages": (
                lambda i: {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16,
                           "temperature": 0,
                           "messages": [{"role": "user", "content": prompt_of(i)}]},
                lambda mi, stop: dict(mi, stop_sequences=[stop])),
            "mistral": (
                lambda i: {"prompt": prompt_of(i), "max_tokens": 16, "temperature": 0},
                lambda mi, stop: dict(mi, stop=[stop])),
        }
        for fam, (make, with_stop) in cases.items():
            recs = [{"recordId": "%s-%02d" % (fam, i), "modelInput": make(i)} for i in range(8)]
            _, _, first = run_job(d, cfg, fam, recs, name=fam + "-1")
            texts = [read_output(fam, l["modelOutput"])[0] for l in first]
            stops, recs2 = [], []
            for rec, text in zip(recs, texts):
                # Two characters from the middle whose first match leaves
                # a non-empty answer.
                k = next(k for k in range(len(text) // 2, len(text) - 1)
                         if text.find(text[k:k + 2]) > 0)
                stops.append(text[k:k + 2])
                recs2.append(dict(rec, modelInput=with_stop(rec["modelInput"], stops[-1])))
            summary, man, second = run_job(d, cfg, fam, recs2, name=fam + "-2")
            assert summary["successRecordCount"] == len(recs), summary
            assert 0 < man["outputTokenCount"] < 16 * len(recs), man
            for text, stop, line in zip(texts, stops, second):
                got, _, tout, reason = read_output(fam, line["modelOutput"])
                assert got == text[:text.find(stop)], (fam, text, stop, line)
                if tout is not None:       # mistral outputs carry no counts
                    assert 0 < tout < 16, (fam, line)
                # The OpenAI wire says "stop" for a matched stop sequence as
                # for an end of turn (only vLLM adds which one matched), so
                # barge reports a natural end.
                if fam == "anthropic-messages":
                    assert reason == "end_turn", line
                    assert line["modelOutput"]["stop_sequence"] is None, line
                else:
                    assert reason == "stop", line
    with_server(d, body, "--no-cache-prompt")


def test_server_down_and_back(d):
    """llama-server killed in the middle of a job and started again on the
    same port: barge pauses, probes, and finishes every record once."""
    srv = LlamaServer(d)
    try:
        cfg = config(d, srv.port, max_concurrency=4, max_attempts=3)
        n = 400
        recs = [{"recordId": "D%04d" % i, "modelInput": {"prompt": prompt_of(i), "max_gen_len": 48}}
                for i in range(n)]
        sub = os.path.join(d, "down")
        os.makedirs(sub)
        inp = write_jsonl(os.path.join(sub, "in.jsonl"), recs)
        p = start("run", inp, "--model", "tiny-llama", "--output", os.path.join(sub, "out"),
                  "--state", os.path.join(sub, "st"), "--config", cfg, "--json",
                  env={"BARGE_PROGRESS_INTERVAL_MS": "100"})
        try:
            wait_progress(p, at_least=40, timeout=120)
            port = srv.port
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv.stop()
            time.sleep(2)
            srv = LlamaServer(d, port=port)
            res = finish(p, timeout=600)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert res.rc == 0, res
        s = res.json()
        assert s["successRecordCount"] == n and s["errorRecordCount"] == 0, s
        assert "unreachable" in res.err, res.err[-2000:]
        out = read_jsonl(os.path.join(job_dir(os.path.join(sub, "out")), "in.jsonl.out"))
        assert_exactly_once(out, [r["recordId"] for r in recs])
        for line in out:
            o = line["modelOutput"]
            assert o["generation_token_count"] == 48 and o["stop_reason"] == "length", line
        assert s["outputTokenCount"] == 48 * n, s
    finally:
        srv.stop()
