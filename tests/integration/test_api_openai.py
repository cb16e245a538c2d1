"""test_api_openai.py - `barge serve` as OpenAI's Batch API (files and
batches), driven by the official OpenAI SDK (openai 6.49.0,
tests/peers/openai_sdk.mjs) with only the base URL changed: what an OpenAI
user would check of uploads, file contents, batches on the chat,
completions and embeddings endpoints, their output and error files,
validation failures, cancel, list, authentication and the accounts'
separation.

Every test starts its own server on 127.0.0.1 on a free port with two
accounts (alpha with api_key, beta with api_key_env) and stops it with
SIGTERM at the end: it must exit 0 (under ASan a leak makes it exit
non-zero)."""
import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from lib import Serving, write_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = os.path.join(ROOT, "tests", "peers")
DRIVER = os.path.join(PEERS, "openai_sdk.mjs")

ALPHA_KEY = "sk-barge-openai-alpha-0123456789"
BETA_KEY = "sk-barge-openai-beta-9876543210"
BETA_ENV = "BARGE_TEST_OPENAI_BETA_KEY"

CHAT = "gpt-4o-mini"
CHAT_OTHER = "gpt-4o"
COMPLETIONS = "gpt-3.5-turbo-instruct"
EMBED = "text-embedding-3-small"
HOUSE = "house-chat"                  # a configured model...
HOUSE_UPSTREAM = "acme/house-chat-v1"  # ...and its upstream_model

CHAT_URL = "/v1/chat/completions"
COMPLETIONS_URL = "/v1/completions"
EMBED_URL = "/v1/embeddings"

FAST = "ttft_ms = 5\nitl_ms = 0"
# About 100 ms a request, 2 at a time per runner: 400 requests take about 20 s.
SLOW = "ttft_ms = 100\nitl_ms = 0\nmax_concurrency = 2"

FILE_ID = re.compile(r"^file-[A-Za-z0-9_-]+$")
BATCH_ID = re.compile(r"^batch_[A-Za-z0-9_-]+$")
REQ_ID = re.compile(r"^batch_req_[A-Za-z0-9_-]+$")
STATUSES = ("validating", "failed", "in_progress", "finalizing", "completed", "expired",
            "cancelling", "cancelled")
ENDED = ["completed", "failed", "cancelled", "expired"]
TIMES = ("created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at",
         "failed_at", "expired_at", "cancelling_at", "cancelled_at")
BATCH_KEYS = {"id", "object", "endpoint", "input_file_id", "completion_window", "status",
              "output_file_id", "error_file_id", "errors", "request_counts", "metadata"} | set(TIMES)
# The order a batch moves through when nothing goes wrong.
HAPPY = ["validating", "in_progress", "finalizing", "completed"]


# ---- the server ----

def config(tmp, sim, server=""):
    return write_config(os.path.join(tmp, "barge.ini"), """[server]
data = {tmp}/data
runners = 2
{server}

[account.alpha]
account_id = 111111111111
api_key = {alpha}

[account.beta]
account_id = 222222222222
api_key_env = {beta_env}

[backend.sim]
kind = sim
{sim}

[model.{chat}]
family = openai-chat
backend = sim
input_price_per_1k = 0.00015
output_price_per_1k = 0.0006

[model.{chat_other}]
family = openai-chat
backend = sim
input_price_per_1k = 0.0025
output_price_per_1k = 0.01

[model.{house}]
family = openai-chat
backend = sim
upstream_model = {upstream}

[model.{completions}]
family = openai-completions
backend = sim

[model.{embed}]
family = openai-embeddings
backend = sim
""".format(tmp=tmp, server=server, alpha=ALPHA_KEY, beta_env=BETA_ENV, sim=sim, chat=CHAT,
           chat_other=CHAT_OTHER, house=HOUSE, upstream=HOUSE_UPSTREAM,
           completions=COMPLETIONS, embed=EMBED))


def serving(tmp, sim=FAST, server=""):
    """A server for a with block; it must then stop cleanly (exit 0)."""
    return Serving(config(tmp, sim, server), os.path.join(tmp, "serve.log"),
                   env={BETA_ENV: BETA_KEY})


# ---- the SDK ----

def sdk(server, operations, api_key=ALPHA_KEY):
    """Runs operations through openai_sdk.mjs; returns one result per operation."""
    assert shutil.which("node"), "node is not installed (scripts/deps.sh installs it)"
    assert os.path.isdir(os.path.join(PEERS, "node_modules", "openai")), \
        "openai is not installed: run `npm ci` in tests/peers (scripts/test.sh does)"
    scenario = {"baseURL": server.base + "/v1", "apiKey": api_key, "operations": operations}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    p = subprocess.run(["node", DRIVER], input=json.dumps(scenario), capture_output=True,
                       text=True, cwd=PEERS, timeout=600, env=env)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert p.returncode == 0 and len(lines) == len(operations), (
        "openai_sdk.mjs failed (status %d):\n%s\n%s" % (p.returncode, p.stdout[-4000:],
                                                         p.stderr[-4000:]))
    results = [json.loads(l) for l in lines]
    for op, r in zip(operations, results):
        # Every HTTP request went to this server, with the key as a bearer token.
        for s in r.get("sent", []):
            assert s["url"].startswith(server.base + "/v1/"), s
            assert s["auth"] == op.get("apiKey", api_key), s
    return results


def call(server, op, api_key=ALPHA_KEY, **kw):
    return sdk(server, [dict(op=op, **kw)], api_key)[0]


def ok(result):
    """The response of a successful operation."""
    assert result["ok"], "%s failed: %s" % (result["op"], json.dumps(result["error"]))
    return result["response"]


def error(result, cls, status, code=None, etype=None):
    """Checks that an operation failed with the SDK error class and HTTP
    status, with an error body of OpenAI's shape; returns the error body."""
    assert not result["ok"], "%s succeeded where %s (%d) was expected: %s" % (
        result["op"], cls, status, json.dumps(result.get("response"))[:2000])
    e = result["error"]
    assert cls in e["is"] and e["status"] == status, (
        "%s: expected %s (%d), got %s (%s): %s" % (result["op"], cls, status, e["class"],
                                                  e["status"], e["message"]))
    body = e["body"]
    assert isinstance(body, dict), "the error has no {\"error\": {...}} body: %s" % e
    assert set(body) >= {"message", "type", "param", "code"}, (
        "the error object lacks OpenAI's fields: %s" % body)
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["type"], str) and body["type"], body
    if code is not None:
        assert body["code"] == code, "code %r, expected %r: %s" % (body["code"], code, body)
    if etype is not None:
        assert body["type"] == etype, "type %r, expected %r: %s" % (body["type"], etype, body)
    return body


def ref(n, path="id"):
    return {"$ref": "%d.%s" % (n, path)}


def upload(path, via="stream", purpose="batch", **kw):
    return dict(op="upload", path=path, via=via, purpose=purpose, **kw)


def until_ended(ident, timeout=60, **kw):
    return dict(op="retrieveBatch", id=ident, until=ENDED, timeoutMs=timeout * 1000, **kw)


def create_batch(file_ref, endpoint=CHAT_URL, metadata=None, **extra):
    p = {"input_file_id": file_ref, "endpoint": endpoint, "completion_window": "24h"}
    if metadata is not None:
        p["metadata"] = metadata
    p.update(extra)
    return {"op": "createBatch", "params": p}


def content_bytes(result):
    r = ok(result)
    raw = base64.b64decode(r["base64"])
    assert len(raw) == r["length"]
    return raw


def jsonl(raw):
    """The lines of a downloaded result file, parsed."""
    text = raw.decode("utf-8")
    return [json.loads(l) for l in text.split("\n") if l.strip()]


# ---- input files ----

def chat_line(custom_id, model=CHAT, text=None, url=CHAT_URL, method="POST", max_tokens=24,
              **body):
    b = {"model": model, "messages": [{"role": "user", "content": text or
                                       "Summarize %s." % custom_id}], "max_tokens": max_tokens}
    b.update(body)
    return {"custom_id": custom_id, "method": method, "url": url, "body": b}


def embed_line(custom_id, dims, model=EMBED, text=None):
    return {"custom_id": custom_id, "method": "POST", "url": EMBED_URL,
            "body": {"model": model, "input": text or "Text of %s." % custom_id,
                     "dimensions": dims}}


def completion_line(custom_id, model=COMPLETIONS):
    return {"custom_id": custom_id, "method": "POST", "url": COMPLETIONS_URL,
            "body": {"model": model, "prompt": "Once upon a time, %s" % custom_id,
                     "max_tokens": 16}}


def write_input(tmp, name, lines):
    """Writes lines (objects, or str for a raw line) as a JSONL file; returns its path."""
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        for l in lines:
            f.write((l if isinstance(l, str) else json.dumps(l, ensure_ascii=False)) + "\n")
    return path


# ---- what a user checks of files and batches ----

def check_file(f, purpose="batch", size=None, filename=None):
    assert f["object"] == "file", f
    assert FILE_ID.match(f["id"]), f["id"]
    assert f["purpose"] == purpose, f
    assert isinstance(f["bytes"], int) and f["bytes"] >= 0, f
    if size is not None:
        assert f["bytes"] == size, "file %s has bytes %d, %d were uploaded" % (f["id"], f["bytes"], size)
    if filename is not None:
        assert f["filename"] == filename, f
    assert isinstance(f["created_at"], int), f
    assert abs(time.time() - f["created_at"]) < 300, "created_at %s is not now" % f["created_at"]
    return f


def check_batch(b, endpoint=None, input_file_id=None, total=None, metadata=None, day=86400):
    """A Batch object as the reference documents it: fields, id, status,
    counts that add up, unix-second times in order, files once completed.
    day is the length of the 24 h completion window in seconds."""
    assert set(b) >= BATCH_KEYS, "missing fields: %s" % (BATCH_KEYS - set(b))
    assert BATCH_ID.match(b["id"]), b["id"]
    assert b["object"] == "batch", b
    assert b["status"] in STATUSES, b
    assert b["completion_window"] == "24h", b
    if endpoint:
        assert b["endpoint"] == endpoint, b
    if input_file_id:
        assert b["input_file_id"] == input_file_id, b
    if metadata is not None:
        assert b["metadata"] == metadata, "metadata %s, sent %s" % (b["metadata"], metadata)
    for k in TIMES:
        assert b[k] is None or (isinstance(b[k], int) and not isinstance(b[k], bool)), (k, b)
    created = b["created_at"]
    assert isinstance(created, int), b
    assert abs(time.time() - created) < 300, "created_at %s is not now" % created
    assert b["expires_at"] is None or abs(b["expires_at"] - created - day) <= 1, (
        "expires_at %s is not created_at + 24 h (%d s)" % (b["expires_at"], day))
    for k in TIMES:
        if b[k] is not None and k != "expires_at":
            assert b[k] >= created, "%s %s is before created_at %s" % (k, b[k], created)
    c = b["request_counts"]
    assert c is not None and set(c) >= {"total", "completed", "failed"}, b
    assert all(isinstance(c[k], int) and c[k] >= 0 for k in ("total", "completed", "failed")), c
    assert c["completed"] + c["failed"] <= c["total"], c
    if total is not None and b["status"] not in ("validating", "failed"):
        assert c["total"] == total, "request_counts.total %d, the file has %d lines" % (
            c["total"], total)
    if b["status"] == "completed":
        assert c["completed"] + c["failed"] == c["total"], c
        for k in ("in_progress_at", "finalizing_at", "completed_at"):
            assert b[k] is not None, "a completed batch has no %s: %s" % (k, b)
        assert b["in_progress_at"] <= b["finalizing_at"] <= b["completed_at"], b
        assert b["output_file_id"] or c["completed"] == 0, b
    if b["status"] == "failed":
        assert b["failed_at"] is not None, b
    if b["status"] == "cancelled":
        assert b["cancelling_at"] is not None and b["cancelled_at"] is not None, b
        assert b["cancelling_at"] <= b["cancelled_at"], b
    if b["status"] == "cancelling":
        assert b["cancelling_at"] is not None, b
    if b["status"] == "expired":
        assert b["expired_at"] is not None, b
    return b


def check_seen(seen, path):
    """The statuses polled came in the order of path, none going back."""
    statuses = [s for s, _ in seen]
    pos = -1
    for s in statuses:
        assert s in path, "status %s seen on the way along %s: %s" % (s, path, statuses)
        assert path.index(s) >= pos, "status went back: %s" % statuses
        pos = path.index(s)


def check_result_line(l, status=200):
    """One line of an output or error file for a request that ran."""
    assert set(l) >= {"id", "custom_id", "response", "error"}, l
    assert REQ_ID.match(l["id"]), l
    resp = l["response"]
    assert resp is not None, "a request that ran has no response: %s" % l
    assert resp["status_code"] == status, l
    assert isinstance(resp["request_id"], str) and resp["request_id"], l
    assert isinstance(resp["body"], dict), l
    if status == 200:
        assert l["error"] is None, l
    return resp["body"]


def check_chat_body(body, max_tokens=24):
    assert body["object"] == "chat.completion", body
    msg = body["choices"][0]["message"]
    assert msg["role"] == "assistant", body
    assert msg["content"].startswith("[simulated]"), msg["content"][:200]
    u = body["usage"]
    assert u["prompt_tokens"] > 0 and 0 < u["completion_tokens"] <= max_tokens, u
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], u
    return u


def results_of(server, batch):
    """The lines of a batch's output and error files (an absent file has none);
    checks each file's metadata and that it is listed with purpose batch_output."""
    ops, which = [], []
    for key in ("output_file_id", "error_file_id"):
        if batch[key]:
            ops += [{"op": "retrieveFile", "id": batch[key]}, {"op": "content", "id": batch[key]}]
            which.append(key)
    out = {"output_file_id": [], "error_file_id": []}
    if not ops:
        return [], []
    r = sdk(server, ops + [{"op": "listFiles"}])
    listed = {f["id"]: f for f in ok(r[-1])["items"]}
    for i, key in enumerate(which):
        raw = content_bytes(r[2 * i + 1])
        f = check_file(ok(r[2 * i]), purpose="batch_output", size=len(raw))
        assert f["id"] == batch[key], f
        assert f["id"] in listed and listed[f["id"]]["purpose"] == "batch_output", (
            "%s %s is not listed with purpose batch_output: %s" % (key, f["id"], listed.get(f["id"])))
        out[key] = jsonl(raw)
    return out["output_file_id"], out["error_file_id"]


def raw_request(server, method, path, headers=None, body=None):
    """One request without the SDK: (status, parsed body or raw bytes)."""
    data = json.dumps(body).encode() if body is not None else None
    h = {"content-type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(server.base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            st = r.status
    except urllib.error.HTTPError as e:
        text = e.read()
        st = e.code
    try:
        return st, json.loads(text)
    except ValueError:
        return st, text


# ---- the tests ----

def test_chat_batch_lifecycle(tmp):
    """Upload (streamed, chunked), create, poll until completed: every
    custom_id once in the output file with the simulator's chat.completion,
    counts and usage that add up, metadata echoed, times in order."""
    n = 12
    lines = [chat_line("req-%02d" % i) for i in range(n - 2)]
    # What else a user sends: a system prompt, content parts, a conversation, unicode.
    lines.append(chat_line("req-parts", messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Résumé de la note n°2, s'il vous plaît."}]}]))
    lines.append(chat_line("req-turns", temperature=0.2, messages=[
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hello. What do you need?"},
        {"role": "user", "content": "Ein Überblick über Kapitel 2 🙂"}]))
    ids = [l["custom_id"] for l in lines]
    path = write_input(tmp, "chat.jsonl", lines)
    size = os.path.getsize(path)
    meta = {"project": "barge-tests", "run": "lifecycle-1"}
    with serving(tmp) as server:
        r = sdk(server, [upload(path),
                         create_batch(ref(0), metadata=meta),
                         until_ended(ref(1)),
                         {"op": "retrieveBatch", "id": ref(1)}])
        f = check_file(ok(r[0]), size=size, filename="chat.jsonl")
        assert r[0]["sent"][0]["body"] == "stream", r[0]["sent"]   # sent chunked
        created = check_batch(ok(r[1]), CHAT_URL, f["id"], n, meta)
        assert created["status"] in ("validating", "in_progress"), created
        assert created["output_file_id"] is None and created["completed_at"] is None, created

        batch = check_batch(ok(r[2]), CHAT_URL, f["id"], n, meta)
        assert batch["id"] == created["id"] and batch["created_at"] == created["created_at"]
        assert batch["status"] == "completed", "not completed after 60 s: %s" % batch
        check_seen(r[2]["seen"], HAPPY)
        assert batch["request_counts"] == {"total": n, "completed": n, "failed": 0}, batch
        assert batch["errors"] is None or not batch["errors"].get("data"), batch
        assert ok(r[3]) == batch, "asked again, the batch differs"

        out, errs = results_of(server, batch)
        assert errs == [], "error file of a batch without errors: %s" % errs[:3]
        got = [l["custom_id"] for l in out]
        assert sorted(got) == sorted(ids), "output custom_ids %s, input %s" % (got, ids)
        usage = {"input_tokens": 0, "output_tokens": 0}
        for l in out:
            u = check_chat_body(check_result_line(l))
            usage["input_tokens"] += u["prompt_tokens"]
            usage["output_tokens"] += u["completion_tokens"]
        assert len({l["id"] for l in out}) == n, "batch_req ids repeat"
        assert len({l["response"]["request_id"] for l in out}) == n, "request_ids repeat"
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert batch.get("usage") is not None, "a completed batch has no usage: %s" % batch
        assert {k: batch["usage"][k] for k in usage} == usage, (
            "batch usage %s, the output bodies add up to %s" % (batch["usage"], usage))


def test_embeddings_batch_dimensions(tmp):
    """An /v1/embeddings batch with dimensions: each vector has that length
    and unit norm; usage counts the inputs' tokens and no output tokens."""
    dims = [8, 256, 64, 1536]
    lines = [embed_line("emb-%d" % i, d) for i, d in enumerate(dims)]
    path = write_input(tmp, "embed.jsonl", lines)
    with serving(tmp) as server:
        r = sdk(server, [upload(path, via="file"), create_batch(ref(0), EMBED_URL),
                         until_ended(ref(1))])
        assert r[0]["sent"][0]["body"] == "form", r[0]["sent"]   # sent with a Content-Length
        check_file(ok(r[0]), size=os.path.getsize(path), filename="embed.jsonl")
        batch = check_batch(ok(r[2]), EMBED_URL, total=len(lines))
        assert batch["status"] == "completed", batch
        assert batch["request_counts"] == {"total": 4, "completed": 4, "failed": 0}, batch
        out, errs = results_of(server, batch)
        assert errs == [], errs
        by_id = {l["custom_id"]: check_result_line(l) for l in out}
        assert len(out) == len(lines) and sorted(by_id) == sorted(l["custom_id"] for l in lines), (
            [l["custom_id"] for l in out])
        prompt = 0
        for i, d in enumerate(dims):
            body = by_id["emb-%d" % i]
            assert body["object"] == "list", body
            vec = body["data"][0]["embedding"]
            assert len(vec) == d, "emb-%d asked for %d dimensions, got %d" % (i, d, len(vec))
            assert abs(sum(x * x for x in vec) - 1.0) < 1e-3, "emb-%d is not a unit vector" % i
            prompt += body["usage"]["prompt_tokens"]
        assert prompt > 0
        assert batch["usage"]["input_tokens"] == prompt, (batch["usage"], prompt)
        assert batch["usage"]["output_tokens"] == 0, batch["usage"]
        assert batch["usage"]["total_tokens"] == prompt, batch["usage"]


def test_completions_and_upstream_model_name(tmp):
    """A /v1/completions batch answers text_completion bodies; a chat batch
    may name its model by the configured upstream_model."""
    comp = write_input(tmp, "comp.jsonl", [completion_line("c-%d" % i) for i in range(3)])
    house = write_input(tmp, "house.jsonl", [chat_line("h-%d" % i, model=HOUSE_UPSTREAM)
                                             for i in range(3)])
    with serving(tmp) as server:
        r = sdk(server, [upload(comp), upload(house),
                         create_batch(ref(0), COMPLETIONS_URL), create_batch(ref(1)),
                         until_ended(ref(2)), until_ended(ref(3))])
        comp_batch = check_batch(ok(r[4]), COMPLETIONS_URL, total=3)
        house_batch = check_batch(ok(r[5]), CHAT_URL, total=3)
        for b in (comp_batch, house_batch):
            assert b["status"] == "completed", b
            assert b["request_counts"] == {"total": 3, "completed": 3, "failed": 0}, b
        out, errs = results_of(server, comp_batch)
        assert errs == [] and sorted(l["custom_id"] for l in out) == ["c-0", "c-1", "c-2"], out
        for l in out:
            body = check_result_line(l)
            assert body["object"] == "text_completion", body
            assert body["choices"][0]["text"].startswith("[simulated]"), body
        out, errs = results_of(server, house_batch)
        assert errs == [] and sorted(l["custom_id"] for l in out) == ["h-0", "h-1", "h-2"], out
        for l in out:
            check_chat_body(check_result_line(l))


def test_invalid_bodies_go_to_error_file(tmp):
    """Lines whose body the model's family refuses do not fail the batch:
    each ends in the error file with status 400 and an error body saying
    what is wrong; the others are in the output file; the counts add up."""
    no_messages = chat_line("bad-no-messages")
    del no_messages["body"]["messages"]
    bad = {
        "bad-no-messages": (no_messages, "messages"),
        "bad-temperature": (chat_line("bad-temperature", temperature=7), "temperature"),
        "bad-n": (chat_line("bad-n", n=3), "n"),
        "bad-role": (chat_line("bad-role", messages=[{"role": "wizard", "content": "Hi"}]), "role"),
    }
    lines = []
    for i in range(6):
        lines.append(chat_line("ok-%d" % i))
        if i < len(bad):
            lines.append(list(bad.values())[i][0])
    good = ["ok-%d" % i for i in range(6)]
    path = write_input(tmp, "mixed.jsonl", lines)
    with serving(tmp) as server:
        r = sdk(server, [upload(path), create_batch(ref(0)), until_ended(ref(1))])
        batch = check_batch(ok(r[2]), CHAT_URL, total=len(lines))
        assert batch["status"] == "completed", (
            "invalid bodies must not fail the batch: %s" % batch)
        assert batch["request_counts"] == {"total": 10, "completed": 6, "failed": 4}, batch
        assert batch["output_file_id"] and batch["error_file_id"], batch
        out, errs = results_of(server, batch)
        assert sorted(l["custom_id"] for l in out) == good, [l["custom_id"] for l in out]
        assert sorted(l["custom_id"] for l in errs) == sorted(bad), [l["custom_id"] for l in errs]
        usage_in = usage_out = 0
        for l in out:
            u = check_chat_body(check_result_line(l))
            usage_in += u["prompt_tokens"]
            usage_out += u["completion_tokens"]
        for l in errs:
            body = check_result_line(l, status=400)
            e = body.get("error")
            assert isinstance(e, dict) and e.get("message"), l
            assert e.get("type") == "invalid_request_error", l
            field = bad[l["custom_id"]][1]
            assert field in e["message"], (
                "%s: the error does not name %r: %s" % (l["custom_id"], field, e["message"]))
        assert batch["usage"]["input_tokens"] == usage_in, (batch["usage"], usage_in)
        assert batch["usage"]["output_tokens"] == usage_out, (batch["usage"], usage_out)


def test_structural_errors_fail_the_batch(tmp):
    """Files OpenAI refuses as a whole: the batch is created, then ends
    failed with errors.data naming the line at fault; nothing runs."""
    ok_lines = [chat_line("a"), chat_line("b"), chat_line("c")]
    no_id = chat_line("x")
    del no_id["custom_id"]
    cases = {
        # name: (lines, batch endpoint, line at fault (1-based, None: any),
        #        words the message has)
        "duplicate": ([chat_line("a"), chat_line("b"), chat_line("a"), chat_line("d")],
                      CHAT_URL, 3, ["a"]),
        "mixed-models": ([chat_line("a"), chat_line("b", model=CHAT_OTHER), chat_line("c")],
                         CHAT_URL, 2, []),
        "unknown-model": ([chat_line("a", model="gpt-9-ultra"), chat_line("b", model="gpt-9-ultra")],
                          CHAT_URL, 1, ["gpt-9-ultra"]),
        "endpoint-mismatch": (ok_lines, EMBED_URL, 1, []),
        "mixed-urls": ([chat_line("a"), chat_line("b", url=COMPLETIONS_URL), chat_line("c")],
                       CHAT_URL, 2, []),
        "bad-json": ([json.dumps(chat_line("a")), '{"custom_id": "b", "method": "POST",',
                      json.dumps(chat_line("c"))], CHAT_URL, 2, []),
        "wrong-method": ([chat_line("a"), chat_line("b", method="GET")], CHAT_URL, 2, []),
        "no-custom-id": ([chat_line("a"), no_id], CHAT_URL, 2, []),
        "family-mismatch": ([embed_line("a", 8, model=EMBED) | {"url": CHAT_URL},
                             embed_line("b", 8, model=EMBED) | {"url": CHAT_URL}], CHAT_URL, 1, []),
        # No line is at fault in these two: they fail as a whole.
        "empty": ([], CHAT_URL, None, []),
        "over-50000": ([chat_line("r%d" % i, max_tokens=1) for i in range(50001)], CHAT_URL, None,
                       ["50"]),
    }
    with serving(tmp) as server:
        ops = []
        for name, (lines, endpoint, _, _) in cases.items():
            ops.append(upload(write_input(tmp, name + ".jsonl", lines)))
            ops.append(create_batch(ref(len(ops) - 1), endpoint, metadata={"case": name}))
        for i in range(len(cases)):
            ops.append(until_ended(ref(2 * i + 1)))
        r = sdk(server, ops)
        failures = []
        for i, (name, (lines, endpoint, line, words)) in enumerate(cases.items()):
            ok(r[2 * i])
            created = ok(r[2 * i + 1])
            check_batch(created, endpoint, metadata={"case": name})
            b = check_batch(ok(r[2 * len(cases) + i]), endpoint, metadata={"case": name})
            if b["status"] != "failed":
                failures.append("%s: ended %s, expected failed (%s)" % (
                    name, b["status"], b["request_counts"]))
                continue
            check_seen(r[2 * len(cases) + i]["seen"], ["validating", "failed"])
            errs = (b["errors"] or {}).get("data") or []
            assert errs, "%s: failed without errors.data: %s" % (name, b)
            assert b["errors"]["object"] == "list", b["errors"]
            for e in errs:
                assert isinstance(e.get("code"), str) and e["code"], (name, e)
                assert isinstance(e.get("message"), str) and e["message"], (name, e)
            at_line = [e for e in errs if line is None or e.get("line") == line]
            if not at_line:
                failures.append("%s: errors.data names no line %d: %s" % (name, line, errs))
                continue
            for w in words:
                if not any(w in e["message"] for e in at_line):
                    failures.append("%s: the message does not name %r: %s" % (name, w, at_line))
            assert b["output_file_id"] is None, (name, b)
            assert b["request_counts"]["completed"] == 0, (name, b)
        assert not failures, "\n".join(failures)


def test_create_refusals(tmp):
    """Create requests refused at once with OpenAI's error shape: an
    endpoint barge does not serve, a completion window other than 24h, an
    input file that does not exist or is another account's, an output file
    (purpose batch_output) as the input. None makes a batch."""
    path = write_input(tmp, "in.jsonl", [chat_line("a")])
    with serving(tmp) as server:
        r = sdk(server, [upload(path), create_batch(ref(0)), until_ended(ref(1))])
        done = ok(r[2])
        assert done["status"] == "completed" and done["output_file_id"], done
        mine = ok(r[0])["id"]
        theirs = ok(call(server, "upload", path=path, via="stream", purpose="batch",
                         api_key=BETA_KEY))["id"]
        r = sdk(server, [
            create_batch(mine, "/v1/images/generations"),
            create_batch(mine, CHAT_URL, completion_window="1h"),
            create_batch("file-doesnotexist0000", CHAT_URL),
            create_batch(theirs, CHAT_URL),
            create_batch(done["output_file_id"], CHAT_URL),
            {"op": "listAllBatches"},
        ])
        error(r[0], "BadRequestError", 400)
        error(r[1], "BadRequestError", 400)
        missing = r[2]["error"]
        assert not r[2]["ok"] and missing["status"] in (400, 404), r[2]
        error(r[2], missing["class"], missing["status"])
        # Another account's file is as absent as a file that does not exist.
        assert not r[3]["ok"], "alpha made a batch from beta's file: %s" % r[3]
        error(r[3], missing["class"], missing["status"])
        error(r[4], "BadRequestError", 400)
        assert [b["id"] for b in ok(r[5])["items"]] == [done["id"]], ok(r[5])["items"]


def test_cancel_midway(tmp):
    """A long batch cancelled while it runs: cancelling, then cancelled, with
    cancelling_at the time of the cancel; every custom_id is once in the
    output or error file, the requests never run with error code
    batch_cancelled, and the counts match the files."""
    total = 400
    lines = [chat_line("r-%03d" % i, max_tokens=8) for i in range(total)]
    ids = [l["custom_id"] for l in lines]
    path = write_input(tmp, "long.jsonl", lines)
    with serving(tmp, sim=SLOW) as server:
        r = sdk(server, [upload(path), create_batch(ref(0)),
                         dict(until_ended(ref(1)), orCompleted=5),
                         {"op": "cancelBatch", "id": ref(1)},
                         until_ended(ref(1)),
                         {"op": "cancelBatch", "id": ref(1)}])
        running = check_batch(ok(r[2]), CHAT_URL, total=total)
        assert running["status"] == "in_progress", (
            "expected the batch in progress with 5 requests done (it needs about 20 s): %s"
            % running)
        cancelling = check_batch(ok(r[3]), CHAT_URL, total=total)
        assert cancelling["id"] == running["id"]
        assert cancelling["status"] in ("cancelling", "cancelled"), cancelling
        batch = check_batch(ok(r[4]), CHAT_URL, total=total)
        assert batch["status"] == "cancelled", "not cancelled 60 s after the cancel: %s" % batch
        check_seen(r[4]["seen"], ["cancelling", "cancelled"])
        assert batch["cancelling_at"] == cancelling["cancelling_at"], (cancelling, batch)
        assert batch["cancelled_at"] - batch["cancelling_at"] < 15, (
            "the batch took %d s to stop" % (batch["cancelled_at"] - batch["cancelling_at"]))
        c = batch["request_counts"]
        assert c["total"] == total and c["completed"] + c["failed"] <= total, c
        assert c["completed"] >= running["request_counts"]["completed"], (running, batch)
        assert c["completed"] < total, "all %d requests ran despite the cancel: %s" % (total, c)
        # Cancelling a cancelled batch changes nothing (or is refused).
        if r[5]["ok"]:
            assert r[5]["response"]["status"] == "cancelled", r[5]["response"]
        else:
            assert r[5]["error"]["status"] in (400, 409), r[5]["error"]

        assert batch["output_file_id"], "requests completed before the cancel: %s" % batch
        assert batch["error_file_id"], "requests were cancelled: %s" % batch
        out, errs = results_of(server, batch)
        seen = [l["custom_id"] for l in out + errs]
        assert sorted(seen) == ids, (
            "%d lines in the output and error files for %d requests; repeated: %s; missing: %s" % (
                len(seen), total, sorted({x for x in seen if seen.count(x) > 1})[:5],
                sorted(set(ids) - set(seen))[:5]))
        for l in out:
            check_chat_body(check_result_line(l), max_tokens=8)
        never_run = [l for l in errs if l["response"] is None]
        failed = [l for l in errs if l["response"] is not None]
        for l in never_run:
            assert REQ_ID.match(l["id"]), l
            assert l["error"]["code"] == "batch_cancelled" and l["error"]["message"], l
        assert never_run, "no request in the error file is batch_cancelled"
        # As OpenAI counts a cancelled batch (docs/dialects.md): the requests
        # never run are failed, so the counts are the files' lines.
        assert len(out) == c["completed"], "%d output lines, completed %d" % (len(out), c["completed"])
        assert len(failed) + len(never_run) == c["failed"], (
            "%d failed and %d never-run lines, failed %d" % (len(failed), len(never_run), c["failed"]))
        assert c["completed"] + c["failed"] == total, c


def test_cancelling_at_is_the_cancel_time(tmp):
    """cancelling_at is when the cancel was asked, and stays so: with
    requests of 2.5 s the two in flight at the cancel (one per runner) end
    seconds after it, and the batch ends cancelled then; cancelling_at does
    not move to that end."""
    lines = [chat_line("s-%02d" % i, max_tokens=8) for i in range(20)]
    path = write_input(tmp, "slow.jsonl", lines)
    with serving(tmp, sim="ttft_ms = 2500\nitl_ms = 0\nmax_concurrency = 1") as server:
        r = sdk(server, [upload(path), create_batch(ref(0)),
                         dict(until_ended(ref(1)), orCompleted=1),
                         {"op": "cancelBatch", "id": ref(1)},
                         until_ended(ref(1))])
        running = check_batch(ok(r[2]), CHAT_URL, total=20)
        assert running["status"] == "in_progress", running
        cancelling = check_batch(ok(r[3]), CHAT_URL, total=20)
        assert cancelling["status"] == "cancelling", (
            "requests were in flight, yet the cancel answered %s" % cancelling["status"])
        asked = r[3]["at"]
        assert asked - 1 <= cancelling["cancelling_at"] <= asked + 1, (
            "the cancel was asked at %d, cancelling_at is %d" % (asked, cancelling["cancelling_at"]))
        batch = check_batch(ok(r[4]), CHAT_URL, total=20)
        assert batch["status"] == "cancelled", batch
        assert batch["cancelling_at"] == cancelling["cancelling_at"], (
            "cancelling_at was %d in the cancel's answer and %d once cancelled (cancelled_at %d)" % (
                cancelling["cancelling_at"], batch["cancelling_at"], batch["cancelled_at"]))
        assert batch["cancelled_at"] >= batch["cancelling_at"], batch
        for status, counts in r[4]["seen"][1:]:
            assert status in ("cancelling", "cancelled"), r[4]["seen"]


def test_expired(tmp):
    """With an hour of 1 s the 24 h window is 24 s: a batch that needs about
    50 s ends expired at its expires_at; what finished is in the output file,
    every request never run is in the error file with batch_expired."""
    total = 2000
    lines = [chat_line("e-%04d" % i, max_tokens=8) for i in range(total)]
    ids = [l["custom_id"] for l in lines]
    path = write_input(tmp, "slow.jsonl", lines)
    with serving(tmp, sim=SLOW, server="hour_seconds = 1") as server:
        r = sdk(server, [upload(path), create_batch(ref(0)), until_ended(ref(1), timeout=90)])
        created = check_batch(ok(r[1]), CHAT_URL, total=total, day=24)
        batch = check_batch(ok(r[2]), CHAT_URL, total=total, day=24)
        assert batch["status"] == "expired", "expected expired after 24 s: %s" % batch
        check_seen(r[2]["seen"], ["validating", "in_progress", "expired"])
        assert batch["expires_at"] == created["expires_at"], (created, batch)
        assert batch["expires_at"] <= batch["expired_at"] <= batch["expires_at"] + 5, batch
        c = batch["request_counts"]
        assert 0 < c["completed"] < total, c
        out, errs = results_of(server, batch)
        seen = [l["custom_id"] for l in out + errs]
        assert sorted(seen) == ids, "%d result lines for %d requests" % (len(seen), total)
        for l in out:
            check_chat_body(check_result_line(l), max_tokens=8)
        never_run = [l for l in errs if l["response"] is None]
        assert never_run, "no request in the error file is batch_expired"
        for l in never_run:
            assert l["error"]["code"] == "batch_expired" and l["error"]["message"], l
        assert len(out) == c["completed"] and len(errs) == c["failed"], (len(out), len(errs), c)
        assert batch["usage"]["output_tokens"] == sum(
            l["response"]["body"]["usage"]["completion_tokens"] for l in out), batch["usage"]


def test_files(tmp):
    """Files as a user handles them: uploads streamed (chunked) and with a
    Content-Length, content byte for byte (unicode, no final newline, a few
    MB), retrieve, list, delete then 404, a purpose other than batch
    refused, and another account's files invisible."""
    uni = os.path.join(tmp, "unicode.jsonl")
    text = "\n".join(json.dumps(chat_line("u-%d" % i, text=t), ensure_ascii=False) for i, t in
                     enumerate(["naïve café — ½ €", "日本語のテキスト", "emoji 🚀🧪 and \u2028 line sep",
                                "quotes \" and \\ backslash"]))
    with open(uni, "wb") as f:
        f.write(text.encode("utf-8"))           # no newline at the end
    big = os.path.join(tmp, "big.jsonl")
    with open(big, "w", encoding="utf-8") as f:
        i = 0
        while f.tell() < 3 * 1024 * 1024:
            f.write(json.dumps(chat_line("big-%06d" % i, text="ü" * 50), ensure_ascii=False) + "\n")
            i += 1
    with serving(tmp) as server:
        r = sdk(server, [upload(uni, via="stream"), upload(uni, via="file", filename="données 2025.jsonl"),
                         upload(big, via="stream"),
                         {"op": "content", "id": ref(0)}, {"op": "content", "id": ref(1)},
                         {"op": "content", "id": ref(2)},
                         {"op": "retrieveFile", "id": ref(0)},
                         {"op": "listFiles"}])
        with open(uni, "rb") as f:
            uni_bytes = f.read()
        with open(big, "rb") as f:
            big_bytes = f.read()
        a = check_file(ok(r[0]), size=len(uni_bytes), filename="unicode.jsonl")
        b = check_file(ok(r[1]), size=len(uni_bytes), filename="données 2025.jsonl")
        c = check_file(ok(r[2]), size=len(big_bytes), filename="big.jsonl")
        assert [r[i]["sent"][0]["body"] for i in range(3)] == ["stream", "form", "stream"]
        assert len({a["id"], b["id"], c["id"]}) == 3, (a, b, c)
        assert content_bytes(r[3]) == uni_bytes, "the streamed upload came back different"
        assert content_bytes(r[4]) == uni_bytes, "the upload with a Content-Length came back different"
        got = content_bytes(r[5])
        assert got == big_bytes, "the %d-byte upload came back as %d bytes, first difference at %s" % (
            len(big_bytes), len(got), next((i for i, (x, y) in enumerate(zip(got, big_bytes))
                                            if x != y), min(len(got), len(big_bytes))))
        assert ok(r[6]) == a, (ok(r[6]), a)
        listed = {f["id"]: f for f in ok(r[7])["items"]}
        assert set(listed) == {a["id"], b["id"], c["id"]}, listed
        assert listed[a["id"]] == a, (listed[a["id"]], a)

        # Beta sees none of alpha's files; its own upload works.
        r = sdk(server, [{"op": "retrieveFile", "id": a["id"]},
                         {"op": "content", "id": a["id"]},
                         {"op": "deleteFile", "id": a["id"]},
                         {"op": "listFiles"},
                         upload(uni)], api_key=BETA_KEY)
        for x in r[:3]:
            error(x, "NotFoundError", 404)
        beta_file = check_file(ok(r[4]), size=len(uni_bytes))
        assert [f["id"] for f in ok(r[3])["items"]] == [], ok(r[3])

        # Delete, then the file is gone for alpha; beta's file is untouched.
        r = sdk(server, [{"op": "deleteFile", "id": a["id"]},
                         {"op": "retrieveFile", "id": a["id"]},
                         {"op": "content", "id": a["id"]},
                         {"op": "deleteFile", "id": a["id"]},
                         {"op": "listFiles"},
                         {"op": "content", "id": b["id"]},
                         upload(uni, purpose="fine-tune"),
                         upload(uni, purpose="batch_output"),
                         {"op": "listFiles"}])
        assert ok(r[0]) == {"id": a["id"], "object": "file", "deleted": True}, ok(r[0])
        for x in r[1:4]:
            error(x, "NotFoundError", 404)
        assert {f["id"] for f in ok(r[4])["items"]} == {b["id"], c["id"]}, ok(r[4])
        assert content_bytes(r[5]) == uni_bytes
        error(r[6], "BadRequestError", 400)
        error(r[7], "BadRequestError", 400)
        assert {f["id"] for f in ok(r[8])["items"]} == {b["id"], c["id"]}, (
            "a refused upload was listed: %s" % ok(r[8]))
        r = sdk(server, [{"op": "listFiles"}, {"op": "retrieveFile", "id": beta_file["id"]}],
                api_key=BETA_KEY)
        assert [f["id"] for f in ok(r[0])["items"]] == [beta_file["id"]], ok(r[0])
        assert ok(r[1]) == beta_file


def test_file_size_limit(tmp):
    """The limit is 200 MB a file: a file of 200,000,000 bytes (200 MB in
    either reading of MB) is stored whole; one of 209,715,201 bytes (over
    200 MiB) is refused with 400 or 413 and not stored. Both are streamed
    (chunked), so the server learns their size as it reads."""
    with serving(tmp) as server:
        r = sdk(server, [{"op": "uploadGenerated", "bytes": 209715201, "filename": "huge.jsonl"},
                         {"op": "listFiles"},
                         {"op": "uploadGenerated", "bytes": 200000000, "filename": "200mb.jsonl"},
                         {"op": "listFiles"}])
        assert not r[0]["ok"], "a file of 209,715,201 bytes was accepted: %s" % r[0]["response"]
        e = r[0]["error"]
        assert e["status"] in (400, 413), "expected 400 or 413, got %s" % json.dumps(e)
        error(r[0], e["class"], e["status"])
        assert ok(r[1])["items"] == [], ok(r[1])
        f = check_file(ok(r[2]), size=200000000, filename="200mb.jsonl")
        assert [x["id"] for x in ok(r[3])["items"]] == [f["id"]], ok(r[3])


def test_authentication(tmp):
    """A wrong key and no key are 401 with OpenAI's invalid_api_key error on
    every path; nothing is made; beta's key (from api_key_env) works."""
    path = write_input(tmp, "auth.jsonl", [chat_line("a")])
    wrong = "sk-not-a-key-of-anyone-000000"
    with serving(tmp) as server:
        mine = ok(call(server, "upload", path=path, via="stream", purpose="batch"))["id"]
        r = sdk(server, [
            upload(path),
            {"op": "listFiles"},
            {"op": "retrieveFile", "id": mine},
            {"op": "content", "id": mine},
            {"op": "deleteFile", "id": mine},
            create_batch(mine),
            {"op": "listBatches"},
            {"op": "retrieveBatch", "id": "batch_abc123"},
            {"op": "cancelBatch", "id": "batch_abc123"},
        ], api_key=wrong)
        for x in r:
            body = error(x, "AuthenticationError", 401, code="invalid_api_key",
                         etype="invalid_request_error")
            assert body["param"] is None, body
            assert wrong not in body["message"], "the error repeats the key: %s" % body
        for method, p, data in [("GET", "/v1/files", None), ("GET", "/v1/batches", None),
                                ("POST", "/v1/batches", {"input_file_id": mine,
                                                         "endpoint": CHAT_URL,
                                                         "completion_window": "24h"})]:
            for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic " + ALPHA_KEY},
                            {"Authorization": "Bearer " + ALPHA_KEY[:-1]}):
                st, body = raw_request(server, method, p, headers, data)
                assert st == 401, (method, p, headers, st, body)
                assert body["error"]["code"] == "invalid_api_key", body
                assert body["error"]["type"] == "invalid_request_error", body
        r = sdk(server, [{"op": "listFiles"}, {"op": "listAllBatches"}])
        assert [f["id"] for f in ok(r[0])["items"]] == [mine], ok(r[0])
        assert ok(r[1])["items"] == [], ok(r[1])
        r = sdk(server, [{"op": "listFiles"}, {"op": "listAllBatches"}], api_key=BETA_KEY)
        assert ok(r[0])["items"] == [] and ok(r[1])["items"] == []


def test_list_batches_and_accounts(tmp):
    """Three batches listed two at a time: one page has two and has_more; the
    SDK's auto-pagination (after = the last id) sees each once, newest first.
    Another account sees none of them and cannot retrieve or cancel them."""
    path = write_input(tmp, "list.jsonl", [chat_line("a"), chat_line("b")])
    with serving(tmp) as server:
        r = sdk(server, [upload(path),
                         create_batch(ref(0), metadata={"n": "1"}),
                         create_batch(ref(0), metadata={"n": "2"}),
                         create_batch(ref(0), metadata={"n": "3"})])
        made = [check_batch(ok(x), CHAT_URL)["id"] for x in r[1:]]
        assert len(set(made)) == 3, made
        newest_first = made[::-1]
        r = sdk(server, [{"op": "listAllBatches", "params": {"limit": 2}},
                         {"op": "listBatches", "params": {"limit": 2}},
                         {"op": "listBatches", "params": {"limit": 2, "after": newest_first[1]}},
                         {"op": "listBatches"}])
        everything = ok(r[0])
        got = [b["id"] for b in everything["items"]]
        assert sorted(got) == sorted(made) and len(got) == 3, (
            "auto-pagination gave %s for the batches %s" % (got, made))
        assert got == newest_first, "auto-pagination gave %s, expected newest first %s" % (
            got, newest_first)
        assert [p["ids"] for p in everything["pages"]] == [newest_first[:2], newest_first[2:]], (
            everything["pages"])
        assert everything["pages"][0]["has_more"] is True, everything["pages"]
        assert everything["pages"][-1]["has_more"] is False, everything["pages"]
        for b in everything["items"]:
            check_batch(b, CHAT_URL, metadata={"n": str(made.index(b["id"]) + 1)})
        first = ok(r[1])
        assert first["object"] == "list", first
        assert [b["id"] for b in first["data"]] == newest_first[:2] and first["has_more"], first
        assert first["first_id"] == newest_first[0] and first["last_id"] == newest_first[1], first
        rest = ok(r[2])
        assert [b["id"] for b in rest["data"]] == newest_first[2:] and not rest["has_more"], rest
        whole = ok(r[3])
        assert [b["id"] for b in whole["data"]] == newest_first and not whole["has_more"], whole

        r = sdk(server, [{"op": "listAllBatches", "params": {"limit": 2}},
                         {"op": "retrieveBatch", "id": made[0]},
                         {"op": "cancelBatch", "id": made[0]}], api_key=BETA_KEY)
        assert ok(r[0])["items"] == [], "beta lists alpha's batches: %s" % ok(r[0])["items"]
        error(r[1], "NotFoundError", 404)
        error(r[2], "NotFoundError", 404)
        r = sdk(server, [until_ended(b) for b in made])
        for x in r:
            assert ok(x)["status"] == "completed", ok(x)


# ---- hostile forms, lines and queries, without the SDK ----

def form(fields, boundary="b0undary"):
    """A multipart/form-data body of (name, bytes, filename or None) fields."""
    out = b""
    for name, value, filename in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + name.encode() + b'"'
        if filename is not None:
            out += b'; filename="' + filename + b'"'
        out += b"\r\n\r\n" + value + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def raw_upload(server, data, filename=b"in.jsonl", body=None):
    """Uploads data as a batch file with urllib: (status, parsed body)."""
    body = body or form([("purpose", b"batch", None), ("file", data, filename)])
    req = urllib.request.Request(
        server.base + "/v1/files", data=body, method="POST",
        headers={"Authorization": "Bearer " + ALPHA_KEY,
                 "Content-Type": "multipart/form-data; boundary=b0undary"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def raw_content(server, file_id):
    st, body = raw_request(server, "GET", "/v1/files/%s/content" % file_id,
                           {"Authorization": "Bearer " + ALPHA_KEY})
    assert st == 200, (st, body)
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def raw_batch(server, data):
    """Uploads data, makes a chat batch of it and waits until it ends; the batch."""
    st, f = raw_upload(server, data)
    assert st == 200, f
    auth = {"Authorization": "Bearer " + ALPHA_KEY}
    st, b = raw_request(server, "POST", "/v1/batches", auth,
                        {"input_file_id": f["id"], "endpoint": CHAT_URL,
                         "completion_window": "24h"})
    assert st == 200, b
    deadline = time.time() + 60
    while time.time() < deadline:
        st, b = raw_request(server, "GET", "/v1/batches/" + b["id"], auth)
        assert st == 200, b
        if b["status"] in ENDED:
            return b
        time.sleep(0.2)
    raise AssertionError("batch did not end: %s" % b)


def raw_results(server, b):
    """The parsed lines of a batch's output and error files."""
    out = []
    for key in ("output_file_id", "error_file_id"):
        out.append(jsonl(raw_content(server, b[key])) if b[key] else [])
    return out


def test_hostile_forms(tmp):
    """Uploads a client may legally send, or send wrong: the boundary's text
    inside the file (not starting a line) is data and comes back byte for
    byte; "name=" inside a quoted file name is part of the name; a file name
    that is not UTF-8 is refused (400) and the file list stays JSON."""
    data = (json.dumps(chat_line("a")) + "\n" +
            json.dumps(chat_line("b", text="quote --b0undary and\n--b0undaryX")) + "\n").encode()
    with serving(tmp) as server:
        st, f = raw_upload(server, data)
        assert st == 200, f
        assert f["bytes"] == len(data), f
        assert raw_content(server, f["id"]) == data
        body = (b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
                b'--b0undary\r\nContent-Disposition: form-data; filename="a; name=x.jsonl"; '
                b'name="file"\r\n\r\n' + data + b'\r\n--b0undary--\r\n')
        st, g = raw_upload(server, None, body=body)
        assert st == 200, g
        assert g["filename"] == "a; name=x.jsonl", g
        st, e = raw_upload(server, data, filename=b"in\xff.jsonl")
        assert st == 400, e
        assert "UTF-8" in e["error"]["message"], e
        st, listed = raw_request(server, "GET", "/v1/files", {"Authorization": "Bearer " + ALPHA_KEY})
        assert st == 200 and isinstance(listed, dict), listed
        assert sorted(x["id"] for x in listed["data"]) == sorted([f["id"], g["id"]]), listed


def test_hostile_lines(tmp):
    """Lines that parse but are unusual never lose a request, and lines that
    do not parse say why: a body whose key is written with an escape
    ("bo\\u0064y") runs like any other; invalid UTF-8 is named as such, with
    its line; a custom_id holding \\u0000 is refused, not cut short."""
    escaped = json.dumps(chat_line("esc")).replace('"body"', '"bo\\u0064y"')
    with serving(tmp) as server:
        b = raw_batch(server, (escaped + "\n" + json.dumps(chat_line("plain")) + "\n").encode())
        assert b["status"] == "completed", b
        assert b["request_counts"] == {"total": 2, "completed": 2, "failed": 0}, b
        out, errs = raw_results(server, b)
        assert sorted(l["custom_id"] for l in out) == ["esc", "plain"] and errs == [], (out, errs)

        bad = json.dumps(chat_line("u", text="caf\u00e9")).encode().replace(b"\\u00e9", b"\xff")
        b = raw_batch(server, json.dumps(chat_line("ok")).encode() + b"\n" + bad + b"\n")
        assert b["status"] == "failed", b
        [problem] = b["errors"]["data"]
        assert problem["line"] == 2 and "UTF-8" in problem["message"], problem

        b = raw_batch(server, (json.dumps(chat_line("a\u0000b")) + "\n" +
                               json.dumps(chat_line("a\u0000c")) + "\n").encode())
        assert b["status"] == "failed", b
        assert [p["line"] for p in b["errors"]["data"]] == [1, 2], b["errors"]
        for p in b["errors"]["data"]:
            assert "NUL" in p["message"] and p["code"] == "invalid_custom_id", p


def test_line_of_max_line_bytes(tmp):
    """A line of exactly [limits] max_line_bytes runs and its success is in
    the output file: the job's output line (request plus answer) is longer
    than max_line_bytes, and must not be taken for a request never run. One
    byte more fails the batch with the limit the server has."""
    def line(n):
        base = chat_line("exact", pad="")
        short = len(json.dumps(base, separators=(",", ":")))
        base["body"]["pad"] = "x" * (n - short)
        text = json.dumps(base, separators=(",", ":"))
        assert len(text) == n
        return text.encode()
    with serving(tmp, server="\n[limits]\nmax_line_bytes = 4096\n") as server:
        b = raw_batch(server, line(4096) + b"\n")
        assert b["status"] == "completed" and b["request_counts"]["completed"] == 1, b
        out, errs = raw_results(server, b)
        assert errs == [], "the request that ran is in the error file: %s" % errs
        assert [l["custom_id"] for l in out] == ["exact"], out
        assert out[0]["response"]["status_code"] == 200, out
        b = raw_batch(server, line(4097) + b"\n")
        assert b["status"] == "failed", b
        [problem] = b["errors"]["data"]
        assert "4097" in problem["message"] and "4096" in problem["message"], problem


def test_list_query_refusals(tmp):
    """Query values that cannot be read are refused (400) rather than
    ignored: a limit too long to be a number, broken percent-escapes, a key
    without a value."""
    auth = {"Authorization": "Bearer " + ALPHA_KEY}
    with serving(tmp) as server:
        for q in ["limit=99999999999999999999", "limit=%zz", "limit", "after=%zz",
                  "after=batch_%", "limit=2&after"]:
            st, body = raw_request(server, "GET", "/v1/batches?" + q, auth)
            assert st == 400, (q, st, body)
            assert body["error"]["type"] == "invalid_request_error", (q, body)
        st, body = raw_request(server, "GET", "/v1/files?purpose=%zz", auth)
        assert st == 400, body
        st, body = raw_request(server, "GET", "/v1/batches?limit=2", auth)
        assert st == 200 and body["data"] == [], body


def test_failed_batch_reports_every_request(tmp):
    # A batch that fails as a whole (here over the server's per-job record
    # limit, which barge checks when the job is validated) still answers
    # for every request: each is in the error file with code batch_failed
    # and the reason, and the counts say they failed.
    with serving(tmp, server="[limits]\nmax_records_per_job = 5") as server:
        lines = [chat_line("req-%d" % i) for i in range(8)]
        b = raw_batch(server, ("\n".join(json.dumps(l) for l in lines) + "\n").encode())
        assert b["status"] == "failed", b
        assert b["errors"]["data"][0]["code"] == "batch_failed", b
        assert "max_records_per_job" in b["errors"]["data"][0]["message"], b
        assert b["request_counts"] == {"total": 8, "completed": 0, "failed": 8}, b
        out, err = raw_results(server, b)
        assert out == [], out
        assert [l["custom_id"] for l in err] == ["req-%d" % i for i in range(8)], err
        for l in err:
            assert l["response"] is None and l["error"]["code"] == "batch_failed", l
            assert "max_records_per_job" in l["error"]["message"], l
