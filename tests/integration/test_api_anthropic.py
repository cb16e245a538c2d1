"""test_api_anthropic.py - `barge serve` as Anthropic's Message Batches API,
driven by the official Anthropic SDK (tests/peers/anthropic_sdk.mjs) with only
the base URL changed: what an Anthropic user would check of create,
retrieve, list, cancel, delete and results, the errors and authentication.

Every scenario runs with both SDK versions of reference/peers.md:
@anthropic-ai/sdk 1.14.0 (sends the key as `Authorization: Bearer`) and
0.137.0 (sends it as `x-api-key`), each test against a server of its own on
127.0.0.1 on a free port with two accounts (alpha with api_key, beta with
api_key_env). The server is stopped with SIGTERM at the end and must exit 0
(under ASan a leak makes it exit non-zero)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request

from lib import HAIKU, LLAMA, SONNET, Serving, write_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = os.path.join(ROOT, "tests", "peers")
DRIVER = os.path.join(PEERS, "anthropic_sdk.mjs")

SDK1 = "anthropic-sdk-1"     # @anthropic-ai/sdk 1.14.0: Authorization: Bearer
SDK0 = "anthropic-sdk-0"     # @anthropic-ai/sdk 0.137.0: x-api-key
AUTH_SCHEME = {SDK1: "bearer", SDK0: "x-api-key"}

ALPHA_KEY = "sk-barge-alpha-0123456789abcdef"
BETA_KEY = "sk-barge-beta-fedcba9876543210"
BETA_ENV = "BARGE_TEST_ANTHROPIC_BETA_KEY"

HAIKU_NAME = "claude-3-5-haiku-20241022"      # the Anthropic name HAIKU's id embeds
SONNET_NAME = "claude-3-5-sonnet-20240620"
HOUSE = "house-claude"                        # a configured model...
HOUSE_UPSTREAM = "house-claude-v1"            # ...and its upstream_model

FAST = "ttft_ms = 5\nitl_ms = 1"
# About 130 ms a request and 2 at a time per runner: 600 requests take about 20 s.
SLOW = "ttft_ms = 100\nitl_ms = 2\nmax_concurrency = 2"

BATCH_ID = re.compile(r"^msgbatch_[A-Za-z0-9]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")
BATCH_KEYS = {"id", "type", "processing_status", "request_counts", "created_at", "expires_at",
              "ended_at", "cancel_initiated_at", "archived_at", "results_url"}


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

[model.{house}]
family = anthropic-messages
backend = sim
upstream_model = {upstream}
""".format(tmp=tmp, server=server, alpha=ALPHA_KEY, beta_env=BETA_ENV, sim=sim, house=HOUSE,
           upstream=HOUSE_UPSTREAM))


def serving(tmp, sim=FAST, server_settings=""):
    """A server for a with block; it must then stop cleanly (exit 0)."""
    return Serving(config(tmp, sim, server_settings), os.path.join(tmp, "serve.log"),
                   env={BETA_ENV: BETA_KEY})


# ---- the SDK ----

def sdk(server, version, operations, api_key=ALPHA_KEY):
    """Runs operations through anthropic_sdk.mjs with one SDK version; returns
    one result per operation."""
    assert shutil.which("node"), "node is not installed (scripts/deps.sh installs it)"
    assert os.path.isdir(os.path.join(PEERS, "node_modules", version)), \
        "%s is not installed: run `npm ci` in tests/peers (scripts/test.sh does)" % version
    scenario = {"sdk": version, "baseURL": server.base, "apiKey": api_key,
                "operations": operations}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    p = subprocess.run(["node", DRIVER], input=json.dumps(scenario), capture_output=True,
                       text=True, cwd=PEERS, timeout=600, env=env)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert p.returncode == 0 and len(lines) == len(operations), (
        "anthropic_sdk.mjs failed (status %d):\n%s\n%s" % (p.returncode, p.stdout[-4000:],
                                                            p.stderr[-4000:]))
    results = [json.loads(l) for l in lines]
    for r in results:
        # Every HTTP request went to this server with the version's own scheme.
        for s in r.get("sent", []):
            assert s["url"].startswith(server.base + "/"), s
            assert s["auth"] == AUTH_SCHEME[version], (
                "%s sent %s authentication, expected %s" % (version, s["auth"],
                                                           AUTH_SCHEME[version]))
    return results


def ok(result):
    """The response of a successful operation."""
    assert result["ok"], "%s failed: %s" % (result["op"], json.dumps(result["error"]))
    return result["response"]


def error(result, cls, status, etype):
    """Checks that an operation failed with the SDK error class, HTTP status
    and Anthropic error type, and that the body has Anthropic's error shape."""
    assert not result["ok"], "%s succeeded where %s (%d) was expected: %s" % (
        result["op"], cls, status, json.dumps(result.get("response"))[:2000])
    e = result["error"]
    assert cls in e["is"] and e["status"] == status and e["type"] == etype, (
        "%s: expected %s (%d, %s), got %s (%s, %s): %s" % (
            result["op"], cls, status, etype, e["class"], e["status"], e["type"], e["message"]))
    body = e["body"]
    assert isinstance(body, dict) and body.get("type") == "error", body
    assert body["error"]["type"] == etype and body["error"]["message"], body
    return e["apiMessage"]


def request(custom_id, model=HAIKU_NAME, text=None, max_tokens=32, **params):
    p = {"model": model, "max_tokens": max_tokens,
         "messages": [{"role": "user", "content": text or "Summarize %s." % custom_id}]}
    p.update(params)
    return {"custom_id": custom_id, "params": p}


def requests(n, prefix="req-", **kw):
    return [request("%s%d" % (prefix, i), **kw) for i in range(n)]


def ref(n, path="id"):
    return {"$ref": "%d.%s" % (n, path)}


def until_ended(ident, timeout=60):
    return {"op": "retrieve", "id": ident, "until": ["ended"], "timeoutMs": timeout * 1000}


# ---- what a user checks of a batch ----

def parse_time(s):
    assert isinstance(s, str) and RFC3339.match(s), "not an RFC 3339 time: %r" % (s,)
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def check_batch(b, total, server=None, hour=3600):
    """A Message Batch object as the API documents it: fields, id, times
    (expiring 24 hours of `hour` seconds after creation), counts that add up
    to the number of requests, results_url once ended."""
    assert set(b) >= BATCH_KEYS, "missing fields: %s" % (BATCH_KEYS - set(b))
    assert BATCH_ID.match(b["id"]), b["id"]
    assert b["type"] == "message_batch", b
    assert b["processing_status"] in ("in_progress", "canceling", "ended"), b
    counts = b["request_counts"]
    assert set(counts) == set(COUNTS), counts
    assert all(isinstance(counts[k], int) and counts[k] >= 0 for k in COUNTS), counts
    assert sum(counts.values()) == total, "request_counts %s do not add up to %d" % (counts, total)
    created, expires = parse_time(b["created_at"]), parse_time(b["expires_at"])
    assert abs((expires - created) - datetime.timedelta(seconds=24 * hour)) <= \
        datetime.timedelta(seconds=1), b
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs(now - created) < datetime.timedelta(minutes=5), "created_at %s is not now" % created
    assert b["archived_at"] is None, b
    if b["cancel_initiated_at"] is not None:
        assert parse_time(b["cancel_initiated_at"]) >= created - datetime.timedelta(seconds=1), b
    if b["processing_status"] == "ended":
        assert counts["processing"] == 0, b
        assert b["ended_at"] is not None and parse_time(b["ended_at"]) >= created, b
        assert isinstance(b["results_url"], str), b
        if server:
            assert b["results_url"].startswith(server.base + "/"), (
                "results_url %s is not on the server %s" % (b["results_url"], server.base))
    else:
        assert b["ended_at"] is None and b["results_url"] is None, b
    return b


def check_message(m, model_name=None, max_tokens=32):
    """A succeeded result's Message: text from the simulator and usage."""
    assert m["type"] == "message" and m["role"] == "assistant", m
    assert isinstance(m["id"], str) and m["id"], m
    assert isinstance(m["content"], list) and m["content"], m
    assert m["content"][0]["type"] == "text", m
    assert m["content"][0]["text"].startswith("[simulated]"), m["content"][0]["text"][:200]
    assert m["stop_reason"] in ("end_turn", "max_tokens", "stop_sequence"), m
    if model_name:
        assert model_name in m["model"], "message.model %r, asked for %s" % (m["model"], model_name)
    u = m["usage"]
    assert u["input_tokens"] > 0 and 0 < u["output_tokens"] <= max_tokens, u
    if m["stop_reason"] == "max_tokens":
        assert u["output_tokens"] == max_tokens, m


def check_results(lines, custom_ids, batch):
    """Results as the SDK decoded them: every custom_id once, in request
    order, and the result types add up to the batch's request_counts."""
    got = [l["custom_id"] for l in lines]
    assert got == custom_ids, "results list %d custom_ids (%s...), expected %d in request order" % (
        len(got), got[:5], len(custom_ids))
    types = {}
    for l in lines:
        t = l["result"]["type"]
        types[t] = types.get(t, 0) + 1
        if t == "canceled" or t == "expired":
            assert l["result"] == {"type": t}, l
    counts = batch["request_counts"]
    assert {k: types.get(k, 0) for k in COUNTS if k != "processing"} == \
        {k: counts[k] for k in COUNTS if k != "processing"}, (
            "results have %s, the batch counts %s" % (types, counts))
    return {l["custom_id"]: l["result"] for l in lines}


def raw(server, method, path, headers=None, body=None):
    """One request without the SDK: (status, parsed body)."""
    data = json.dumps(body).encode() if body is not None else None
    h = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(server.base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, json.loads(text) if text.strip().startswith(b"{") else text
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, json.loads(text) if text else None


def raw_error(got, status, etype):
    st, body = got
    assert st == status, "expected %d, got %d: %s" % (status, st, body)
    assert body["type"] == "error" and body["error"]["type"] == etype, body
    assert body["error"]["message"], body


# ---- the scenarios, each run with both SDK versions ----

def lifecycle(tmp, version):
    """create → retrieve until ended → results: each request succeeded once,
    in order, with the simulator's answer and its usage."""
    reqs = requests(4, prefix="doc-")
    # What else a user sends: a system prompt and content blocks, a conversation.
    reqs.append(request("doc-blocks", system="Be brief.", temperature=0.2,
                        messages=[{"role": "user", "content": [
                            {"type": "text", "text": "Summarize the attached notes."}]}]))
    reqs.append(request("doc-long", text="Summarize this. " + "The quick brown fox jumps. " * 60))
    reqs.append(request("doc-short-answer", max_tokens=3))
    reqs.append(request("doc-turns", messages=[
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hello. What do you need?"},
        {"role": "user", "content": "A summary of chapter 2."}]))
    ids = [r["custom_id"] for r in reqs]
    with serving(tmp) as server:
        r = sdk(server, version, [
            {"op": "create", "params": {"requests": reqs}},
            until_ended(ref(0)),
            {"op": "results", "id": ref(0)},
            {"op": "retrieve", "id": ref(0)},
        ])
        created = check_batch(ok(r[0]), len(reqs))
        assert created["processing_status"] == "in_progress", created
        assert created["cancel_initiated_at"] is None, created
        assert r[0]["sent"][0]["method"] == "POST", r[0]["sent"]

        batch = check_batch(ok(r[1]), len(reqs), server)
        assert batch["id"] == created["id"] and batch["created_at"] == created["created_at"]
        assert batch["processing_status"] == "ended", "not ended after 60 s: %s" % batch
        assert batch["request_counts"] == dict(processing=0, succeeded=len(reqs), errored=0,
                                               canceled=0, expired=0), batch
        assert batch["cancel_initiated_at"] is None, batch
        for status, counts in r[1]["seen"]:
            assert status in ("in_progress", "ended"), r[1]["seen"]
            assert sum(counts.values()) == len(reqs), r[1]["seen"]

        results = check_results(ok(r[2]), ids, batch)
        # The SDK fetched the results from the batch's results_url.
        assert batch["results_url"] in [s["url"] for s in r[2]["sent"]], r[2]["sent"]
        message_ids = set()
        for req in reqs:
            cid = req["custom_id"]
            assert results[cid]["type"] == "succeeded", (cid, results[cid])
            check_message(results[cid]["message"], HAIKU_NAME, req["params"]["max_tokens"])
            message_ids.add(results[cid]["message"]["id"])
        assert len(message_ids) == len(ids), "message ids repeat: %s" % message_ids
        # Each result is its own request's: the long prompt counts more input tokens.
        usage = {cid: results[cid]["message"]["usage"] for cid in ids}
        assert usage["doc-long"]["input_tokens"] > 5 * usage["doc-0"]["input_tokens"], usage
        # Asked again, the batch is the same.
        assert ok(r[3]) == batch


def mixed_valid_invalid(tmp, version):
    """Requests whose params the model refuses end errored with
    invalid_request_error; the others succeed and the batch ends."""
    no_max = request("no-max-tokens")
    del no_max["params"]["max_tokens"]
    reqs = [request("ok-a"), no_max, request("zero-max-tokens", max_tokens=0), request("ok-b"),
            request("user-twice", messages=[{"role": "user", "content": "One."},
                                            {"role": "user", "content": "Two."}]),
            request("ok-c")]
    ids = [r["custom_id"] for r in reqs]
    bad = {"no-max-tokens", "zero-max-tokens", "user-twice"}
    with serving(tmp) as server:
        r = sdk(server, version, [{"op": "create", "params": {"requests": reqs}},
                                  until_ended(ref(0)), {"op": "results", "id": ref(0)}])
        check_batch(ok(r[0]), len(reqs))
        batch = check_batch(ok(r[1]), len(reqs), server)
        assert batch["processing_status"] == "ended", batch
        assert batch["request_counts"] == dict(processing=0, succeeded=3, errored=3, canceled=0,
                                               expired=0), batch
        results = check_results(ok(r[2]), ids, batch)
        for cid in ids:
            res = results[cid]
            if cid not in bad:
                assert res["type"] == "succeeded", (cid, res)
                check_message(res["message"], HAIKU_NAME)
                continue
            assert res["type"] == "errored", (cid, res)
            assert res["error"]["type"] == "error", res
            assert res["error"]["error"]["type"] == "invalid_request_error", res
            assert res["error"]["error"]["message"], res
            assert "message" not in res, res
        for cid in ("no-max-tokens", "zero-max-tokens"):
            assert "max_tokens" in results[cid]["error"]["error"]["message"], results[cid]


def cancel_midway(tmp, version):
    """A long batch canceled while it runs: canceling, then ended; the requests
    not processed are canceled, every custom_id is in the results once."""
    total = 600
    reqs = requests(total, max_tokens=16)
    ids = [r["custom_id"] for r in reqs]
    with serving(tmp, sim=SLOW) as server:
        r = sdk(server, version, [{"op": "create", "params": {"requests": reqs}},
                                  {"op": "results", "id": ref(0)}])
        created = check_batch(ok(r[0]), total)
        assert created["processing_status"] == "in_progress", created
        bid = created["id"]
        # The SDK refuses to fetch results without a results_url, before any request.
        e = r[1]["error"]
        assert not r[1]["ok"] and e["status"] is None and "AnthropicError" in e["is"], r[1]
        assert "results_url" in e["message"], e
        assert [s["method"] for s in r[1]["sent"]] == ["GET"], r[1]["sent"]
        assert r[1]["sent"][0]["url"] == server.base + "/v1/messages/batches/" + bid
        # Asked directly, the results of a batch in progress are refused.
        st, body = raw(server, "GET", "/v1/messages/batches/%s/results" % bid,
                       {"x-api-key": ALPHA_KEY})
        assert 400 <= st < 500 and body["type"] == "error", (st, body)

        r = sdk(server, version, [{"op": "sleep", "ms": 500},
                                  {"op": "cancel", "id": bid},
                                  until_ended(bid),
                                  {"op": "results", "id": bid}])
        canceling = check_batch(ok(r[1]), total)
        assert canceling["id"] == bid
        assert canceling["processing_status"] == "canceling", (
            "cancel answered %s, expected canceling" % canceling["processing_status"])
        assert canceling["cancel_initiated_at"] is not None, canceling

        batch = check_batch(ok(r[2]), total, server)
        assert batch["processing_status"] == "ended", "not ended 60 s after cancel: %s" % batch
        assert batch["cancel_initiated_at"] == canceling["cancel_initiated_at"], (
            "cancel_initiated_at was %s in the cancel's answer, %s once ended" % (
                canceling["cancel_initiated_at"], batch["cancel_initiated_at"]))
        statuses = [s for s, _ in r[2]["seen"]]
        assert set(statuses) <= {"canceling", "ended"}, statuses
        counts = batch["request_counts"]
        assert counts["canceled"] > 0, counts
        assert counts["succeeded"] + counts["canceled"] + counts["errored"] == total, counts
        assert counts["expired"] == 0, counts
        took = parse_time(batch["ended_at"]) - parse_time(batch["cancel_initiated_at"])
        assert took < datetime.timedelta(seconds=10), (
            "the batch ended %s after the cancel (the whole batch needs about 20 s)" % took)

        results = check_results(ok(r[3]), ids, batch)
        for res in results.values():
            if res["type"] == "succeeded":
                check_message(res["message"], HAIKU_NAME, max_tokens=16)


def expiry(tmp, version):
    """With an hour of 1 s ([server] hour_seconds) a batch has 24 s: one that
    needs about 45 s ends at its expires_at, the requests not processed by
    then expired and each custom_id once in the results."""
    total = 600
    reqs = requests(total, max_tokens=16)
    with serving(tmp, sim=SLOW, server_settings="hour_seconds = 1") as server:
        r = sdk(server, version, [{"op": "create", "params": {"requests": reqs}},
                                  until_ended(ref(0), timeout=90),
                                  {"op": "results", "id": ref(0)}])
        created = check_batch(ok(r[0]), total, hour=1)
        assert created["processing_status"] == "in_progress", created
        batch = check_batch(ok(r[1]), total, server, hour=1)
        assert batch["processing_status"] == "ended", "not ended after 90 s: %s" % batch
        assert batch["cancel_initiated_at"] is None, batch
        counts = batch["request_counts"]
        assert counts["expired"] > 0 and counts["succeeded"] > 0, counts
        assert counts["canceled"] == 0, counts
        expires, ended = parse_time(batch["expires_at"]), parse_time(batch["ended_at"])
        assert expires <= ended <= expires + datetime.timedelta(seconds=5), (
            "the batch expires at %s but ended at %s" % (batch["expires_at"], batch["ended_at"]))
        assert set(s for s, _ in r[1]["seen"]) == {"in_progress", "ended"}, r[1]["seen"]
        results = check_results(ok(r[2]), [q["custom_id"] for q in reqs], batch)
        for res in results.values():
            if res["type"] == "succeeded":
                check_message(res["message"], HAIKU_NAME, max_tokens=16)


def list_pages(tmp, version):
    """Three batches listed two at a time: the SDK's auto-pagination sees each
    once, newest first; another account sees none of them."""
    with serving(tmp) as server:
        r = sdk(server, version, [{"op": "create", "params": {"requests": requests(1, "a-")}},
                                  {"op": "create", "params": {"requests": requests(2, "b-")}},
                                  {"op": "create", "params": {"requests": requests(3, "c-")}}])
        made = [ok(x)["id"] for x in r]
        newest_first = made[::-1]
        assert len(set(made)) == 3, made
        r = sdk(server, version, [
            {"op": "listAll", "params": {"limit": 2}},
            {"op": "list", "params": {"limit": 2}},
            {"op": "list", "params": {"limit": 2, "after_id": newest_first[1]}},
            {"op": "list", "params": {}},
            {"op": "listAll", "params": {"limit": 2}, "apiKey": BETA_KEY},
            {"op": "listAll", "params": {"limit": 1, "before_id": made[0]}},
        ])
        everything = ok(r[0])
        assert [b["id"] for b in everything["items"]] == newest_first, (
            "auto-pagination gave %s, expected %s" % ([b["id"] for b in everything["items"]],
                                                      newest_first))
        sizes = {made[0]: 1, made[1]: 2, made[2]: 3}
        for b in everything["items"]:
            check_batch(b, sizes[b["id"]])
        assert everything["pages"] == [
            {"ids": newest_first[:2], "has_more": True, "first_id": newest_first[0],
             "last_id": newest_first[1]},
            {"ids": newest_first[2:], "has_more": False, "first_id": newest_first[2],
             "last_id": newest_first[2]}], everything["pages"]
        # The SDK asked for the second page after the first page's last_id.
        assert "after_id=" + newest_first[1] in r[0]["sent"][1]["url"], r[0]["sent"]
        first = ok(r[1])
        assert [b["id"] for b in first["data"]] == newest_first[:2] and first["has_more"], first
        rest = ok(r[2])
        assert [b["id"] for b in rest["data"]] == newest_first[2:], rest
        assert rest["has_more"] is False, rest
        default = ok(r[3])
        assert [b["id"] for b in default["data"]] == newest_first, default
        assert default["has_more"] is False, default
        assert ok(r[4]) == {"items": [], "pages": [
            {"ids": [], "has_more": False, "first_id": None, "last_id": None}]}, ok(r[4])
        # Paging back from the oldest: the page just newer than it, then the
        # next newer one, as the SDK walks with each page's first_id.
        back = ok(r[5])
        assert [b["id"] for b in back["items"]] == [made[1], made[2]], back
        assert back["pages"] == [
            {"ids": [made[1]], "has_more": True, "first_id": made[1], "last_id": made[1]},
            {"ids": [made[2]], "has_more": False, "first_id": made[2], "last_id": made[2]}], back
        assert "before_id=" + made[1] in r[5]["sent"][1]["url"], r[5]["sent"]


def delete(tmp, version):
    """A batch in progress cannot be deleted (400); an ended one can, and is
    then gone: retrieve, results, cancel and delete are 404, list omits it."""
    with serving(tmp, sim=SLOW) as server:
        r = sdk(server, version, [
            {"op": "create", "params": {"requests": requests(200, "long-", max_tokens=16)}},
            {"op": "create", "params": {"requests": requests(2, "short-", max_tokens=16)}},
            {"op": "delete", "id": ref(0)},
            {"op": "retrieve", "id": ref(0)},
            until_ended(ref(1)),
            {"op": "delete", "id": ref(1)},
            {"op": "retrieve", "id": ref(1)},
            {"op": "results", "id": ref(1)},
            {"op": "cancel", "id": ref(1)},
            {"op": "delete", "id": ref(1)},
            {"op": "listAll"},
        ])
        long_id, short_id = ok(r[0])["id"], ok(r[1])["id"]
        error(r[2], "BadRequestError", 400, "invalid_request_error")
        assert ok(r[3])["processing_status"] == "in_progress", ok(r[3])
        assert ok(r[4])["processing_status"] == "ended", ok(r[4])
        assert ok(r[5]) == {"id": short_id, "type": "message_batch_deleted"}, ok(r[5])
        assert r[5]["sent"][0]["method"] == "DELETE", r[5]["sent"]
        for x in r[6:10]:
            error(x, "NotFoundError", 404, "not_found_error")
        assert [b["id"] for b in ok(r[10])["items"]] == [long_id], ok(r[10])

        r = sdk(server, version, [{"op": "cancel", "id": long_id}, until_ended(long_id),
                                  {"op": "delete", "id": long_id}, {"op": "listAll"},
                                  {"op": "retrieve", "id": long_id}])
        assert ok(r[1])["processing_status"] == "ended", ok(r[1])
        assert ok(r[2]) == {"id": long_id, "type": "message_batch_deleted"}, ok(r[2])
        assert ok(r[3])["items"] == [], ok(r[3])
        error(r[4], "NotFoundError", 404, "not_found_error")


def authentication(tmp, version):
    """A wrong key is a 401 authentication_error; another account's key sees
    nothing of the first account's batches (404) and changes nothing."""
    wrong_keys = ["sk-barge-nobody", ALPHA_KEY[:-1], ALPHA_KEY + "0", BETA_KEY.upper()]
    with serving(tmp) as server:
        ops = [{"op": "create", "params": {"requests": requests(2)}},
               until_ended(ref(0))]
        for key in wrong_keys:
            ops += [{"op": "create", "params": {"requests": requests(1)}, "apiKey": key},
                    {"op": "retrieve", "id": ref(0), "apiKey": key},
                    {"op": "list", "apiKey": key}]
        beta_at = len(ops)
        ops += [{"op": "retrieve", "id": ref(0), "apiKey": BETA_KEY},
                {"op": "results", "id": ref(0), "apiKey": BETA_KEY},
                {"op": "cancel", "id": ref(0), "apiKey": BETA_KEY},
                {"op": "delete", "id": ref(0), "apiKey": BETA_KEY},
                {"op": "listAll", "apiKey": BETA_KEY},
                {"op": "create", "params": {"requests": requests(1, "beta-")}, "apiKey": BETA_KEY},
                {"op": "retrieve", "id": ref(beta_at + 5)},
                {"op": "listAll"},
                {"op": "results", "id": ref(0)}]
        r = sdk(server, version, ops)
        alpha_batch = ok(r[0])["id"]
        assert ok(r[1])["processing_status"] == "ended", ok(r[1])
        for x in r[2:beta_at]:
            error(x, "AuthenticationError", 401, "authentication_error")
        for x in r[beta_at:beta_at + 4]:
            msg = error(x, "NotFoundError", 404, "not_found_error")
            assert ALPHA_KEY not in msg and BETA_KEY not in msg, msg
        assert ok(r[beta_at + 4])["items"] == [], ok(r[beta_at + 4])
        beta_batch = ok(r[beta_at + 5])["id"]
        error(r[beta_at + 6], "NotFoundError", 404, "not_found_error")
        assert [b["id"] for b in ok(r[beta_at + 7])["items"]] == [alpha_batch], ok(r[beta_at + 7])
        lines = ok(r[beta_at + 8])
        assert [l["result"]["type"] for l in lines] == ["succeeded", "succeeded"], lines
        assert beta_batch != alpha_batch

        # Without the SDK: either header works, a missing or empty key does not.
        path = "/v1/messages/batches/" + alpha_batch
        assert raw(server, "GET", path, {"x-api-key": ALPHA_KEY})[0] == 200
        assert raw(server, "GET", path, {"Authorization": "Bearer " + ALPHA_KEY})[0] == 200
        raw_error(raw(server, "GET", path), 401, "authentication_error")
        raw_error(raw(server, "GET", "/v1/messages/batches"), 401, "authentication_error")
        raw_error(raw(server, "GET", path, {"x-api-key": ""}), 401, "authentication_error")
        raw_error(raw(server, "GET", path, {"Authorization": "Bearer "}), 401,
                  "authentication_error")
        raw_error(raw(server, "GET", path, {"Authorization": "Basic " + ALPHA_KEY}), 401,
                  "authentication_error")
        raw_error(raw(server, "POST", "/v1/messages/batches", body={"requests": requests(1)}),
                  401, "authentication_error")


def refused(tmp, version):
    """Batches the API refuses as a whole with 400 invalid_request_error; none
    of them is created."""
    many = [{"custom_id": "r%d" % i, "params": {"model": HAIKU_NAME, "max_tokens": 1,
                                                "messages": [{"role": "user", "content": "x"}]}}
            for i in range(100001)]
    cases = [
        # The message names the request by its index or its custom_id.
        ("duplicate", requests(2) + [request("req-1")], ["custom_id", ("req-1", "requests[2]")]),
        ("space", [request("has space")], ["custom_id", ("has space", "requests[0]")]),
        ("too long", [request("x" * 65)], ["custom_id", ("x" * 65, "requests[0]")]),
        ("empty id", [request("")], ["custom_id", "requests[0]"]),
        ("slash", [request("ok"), request("a/b")], ["custom_id", ("a/b", "requests[1]")]),
        ("mixed models", [request("h", model=HAIKU_NAME), request("s", model=SONNET_NAME)],
         ["one model"]),
        ("unknown model", [request("u", model="claude-9-imaginary-20990101")],
         ["claude-9-imaginary-20990101"]),
        ("not anthropic", [request("l", model=LLAMA)], [(LLAMA, "anthropic-messages")]),
        ("no requests", [], []),
        ("100,001 requests", many, []),
    ]
    with serving(tmp) as server:
        ops = [{"op": "create", "params": {"requests": reqs}} for _, reqs, _ in cases]
        # The edge that is allowed: 64 characters of every allowed kind.
        edge = "Az09_-" + "x" * 58
        n = len(cases)
        ops += [{"op": "create", "params": {"requests": [request(edge), request("a")]}},
                until_ended(ref(n)),
                {"op": "results", "id": ref(n)},
                {"op": "retrieve", "id": "msgbatch_000000000000"},
                {"op": "listAll"}]
        r = sdk(server, version, ops)
        for (name, _, words), x in zip(cases, r):
            assert not x["ok"], "a batch with %s was created: %s" % (name, x["response"])
            msg = error(x, "BadRequestError", 400, "invalid_request_error")
            for w in words:   # a word, or a tuple of which one will do
                assert any(a in msg for a in ((w,) if isinstance(w, str) else w)), (
                    "%s: the message %r does not say %r" % (name, msg, w))
        assert "100000" in r[n - 1]["error"]["apiMessage"].replace(",", ""), r[n - 1]
        assert ok(r[n + 1])["request_counts"]["succeeded"] == 2, ok(r[n + 1])
        assert [l["custom_id"] for l in ok(r[n + 2])] == [edge, "a"], ok(r[n + 2])
        error(r[n + 3], "NotFoundError", 404, "not_found_error")
        assert [b["id"] for b in ok(r[n + 4])["items"]] == [ok(r[n])["id"]], ok(r[n + 4])


def most_requests(tmp, version):
    """A batch of 100,000 requests, the most the API takes, is accepted and
    runs: canceled at once, each request either ran or was canceled (none
    failed, whenever the cancel landed) and the results list each once."""
    total = 100000
    reqs = [{"custom_id": "r%d" % i, "params": {
        "model": HAIKU_NAME, "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}}
        for i in range(total)]
    with serving(tmp) as server:
        r = sdk(server, version, [{"op": "create", "params": {"requests": reqs}},
                                  {"op": "cancel", "id": ref(0)},
                                  until_ended(ref(0), timeout=120),
                                  {"op": "results", "id": ref(0), "summary": True}])
        check_batch(ok(r[0]), total)
        check_batch(ok(r[1]), total)
        batch = check_batch(ok(r[2]), total, server)
        assert batch["processing_status"] == "ended", batch
        counts = batch["request_counts"]
        assert counts["succeeded"] + counts["canceled"] == total, counts
        summary = ok(r[3])
        assert summary["custom_ids"] == [q["custom_id"] for q in reqs], (
            "results list %d custom_ids, expected %d in request order" % (
                len(summary["custom_ids"]), total))
        assert summary["types"] == {k: v for k, v in counts.items() if v and k != "processing"}, (
            summary["types"], counts)


def model_names(tmp, version):
    """params.model may be a barge model id, the Anthropic name it embeds, or
    a configured model's upstream_model; each batch runs and says its model."""
    cases = [(HAIKU, HAIKU_NAME), (SONNET_NAME, SONNET_NAME), (HOUSE, None),
             (HOUSE_UPSTREAM, None)]
    with serving(tmp) as server:
        ops = [{"op": "create", "params": {"requests": requests(2, model=m)}} for m, _ in cases]
        ops += [until_ended(ref(i)) for i in range(len(cases))]
        ops += [{"op": "results", "id": ref(i)} for i in range(len(cases))]
        r = sdk(server, version, ops)
        n = len(cases)
        for i, (model, name) in enumerate(cases):
            assert r[i]["ok"], "model %s: %s" % (model, r[i]["error"])
            batch = check_batch(ok(r[n + i]), 2, server)
            assert batch["request_counts"]["succeeded"] == 2, (model, batch)
            for line in ok(r[2 * n + i]):
                assert line["result"]["type"] == "succeeded", (model, line)
                check_message(line["result"]["message"], name)


def test_lifecycle_sdk1(tmp):
    lifecycle(tmp, SDK1)


def test_lifecycle_sdk0(tmp):
    lifecycle(tmp, SDK0)


def test_mixed_valid_invalid_sdk1(tmp):
    mixed_valid_invalid(tmp, SDK1)


def test_mixed_valid_invalid_sdk0(tmp):
    mixed_valid_invalid(tmp, SDK0)


def test_cancel_midway_sdk1(tmp):
    cancel_midway(tmp, SDK1)


def test_cancel_midway_sdk0(tmp):
    cancel_midway(tmp, SDK0)


def test_expiry_sdk1(tmp):
    expiry(tmp, SDK1)


def test_expiry_sdk0(tmp):
    expiry(tmp, SDK0)


def test_list_pages_sdk1(tmp):
    list_pages(tmp, SDK1)


def test_list_pages_sdk0(tmp):
    list_pages(tmp, SDK0)


def test_delete_sdk1(tmp):
    delete(tmp, SDK1)


def test_delete_sdk0(tmp):
    delete(tmp, SDK0)


def test_authentication_sdk1(tmp):
    authentication(tmp, SDK1)


def test_authentication_sdk0(tmp):
    authentication(tmp, SDK0)


def test_refused_sdk1(tmp):
    refused(tmp, SDK1)


def test_refused_sdk0(tmp):
    refused(tmp, SDK0)


def test_most_requests_sdk1(tmp):
    most_requests(tmp, SDK1)


def test_most_requests_sdk0(tmp):
    most_requests(tmp, SDK0)


def test_model_names_sdk1(tmp):
    model_names(tmp, SDK1)


def test_model_names_sdk0(tmp):
    model_names(tmp, SDK0)


# ---- hostile and edge-case bodies, without the SDK ----

def results_lines(server, batch_id):
    """The results of an ended batch as parsed lines, read with urllib."""
    req = urllib.request.Request(server.base + "/v1/messages/batches/%s/results" % batch_id,
                                 headers={"x-api-key": ALPHA_KEY,
                                          "anthropic-version": "2023-06-01"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return [json.loads(l) for l in r.read().decode("utf-8").splitlines() if l.strip()]


def wait_ended(server, batch_id, timeout=60):
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
    while datetime.datetime.now() < deadline:
        st, b = raw(server, "GET", "/v1/messages/batches/" + batch_id,
                    {"x-api-key": ALPHA_KEY})
        assert st == 200, b
        if b["processing_status"] == "ended":
            return b
    raise AssertionError("batch %s did not end: %s" % (batch_id, b))


def test_requests_key_twice(tmp):
    """A body with "requests" twice is refused (400, saying so) rather than
    run with one of them: which one the client meant cannot be known, and
    JSON readers differ on which they keep."""
    one = json.dumps([request("first")])
    body = ('{"requests": %s, "requests": "not this"}' % one).encode()
    with serving(tmp) as server:
        req = urllib.request.Request(server.base + "/v1/messages/batches", data=body,
                                     method="POST",
                                     headers={"x-api-key": ALPHA_KEY,
                                              "content-type": "application/json",
                                              "anthropic-version": "2023-06-01"})
        try:
            urllib.request.urlopen(req, timeout=30)
            raise AssertionError("a body with requests twice was accepted")
        except urllib.error.HTTPError as e:
            got = (e.code, json.loads(e.read()))
        raw_error(got, 400, "invalid_request_error")
        assert "twice" in got[1]["error"]["message"], got
        st, listed = raw(server, "GET", "/v1/messages/batches", {"x-api-key": ALPHA_KEY})
        assert st == 200 and listed["data"] == [], listed


def test_request_near_max_line_bytes(tmp):
    """A request whose record is just under [limits] max_line_bytes runs and
    its result says succeeded: the job's output line (the request plus the
    answer) is longer than max_line_bytes, and the results must still find
    it rather than report the request expired. One just over is refused
    with the limit named."""
    limits = "\n[limits]\nmax_line_bytes = 4096\n"
    big = request("big", text="x" * 3800)
    with serving(tmp, server_settings=limits) as server:
        st, b = raw(server, "POST", "/v1/messages/batches", {"x-api-key": ALPHA_KEY},
                    {"requests": [request("small"), big]})
        assert st == 200, b
        ended = wait_ended(server, b["id"])
        assert ended["request_counts"]["succeeded"] == 2, ended
        lines = results_lines(server, b["id"])
        assert [l["custom_id"] for l in lines] == ["small", "big"], lines
        for l in lines:
            assert l["result"]["type"] == "succeeded", (
                "%s: %s" % (l["custom_id"], json.dumps(l["result"])[:400]))
        over = request("over", text="x" * 4100)
        got = raw(server, "POST", "/v1/messages/batches", {"x-api-key": ALPHA_KEY},
                  {"requests": [over]})
        raw_error(got, 400, "invalid_request_error")
        assert "requests[0]" in got[1]["error"]["message"], got
        assert "4096" in got[1]["error"]["message"], got


def test_two_different_keys_are_refused(tmp):
    # A request that carries one key in x-api-key and another as Bearer is
    # refused whichever of them is right: barge does not guess.
    with serving(tmp) as server:
        both = {"x-api-key": ALPHA_KEY, "Authorization": "Bearer " + BETA_KEY}
        raw_error(raw(server, "GET", "/v1/messages/batches", both), 401, "authentication_error")
        both = {"x-api-key": "wrong", "Authorization": "Bearer " + ALPHA_KEY}
        got = raw(server, "GET", "/v1/messages/batches", both)
        raw_error(got, 401, "authentication_error")
        assert "different" in got[1]["error"]["message"], got
        # The same key in both is one key.
        same = {"x-api-key": ALPHA_KEY, "Authorization": "Bearer " + ALPHA_KEY}
        st, body = raw(server, "GET", "/v1/messages/batches", same)
        assert st == 200 and body["data"] == [], (st, body)
