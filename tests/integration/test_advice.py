"""test_advice.py - the cost-saving commands: barge split (and submit --split
against barge serve), the over-limit message, validate's advice, barge
compact and barge report on a real run's outputs."""
import json
import os

from lib import *

KEY = ("AKIDADVICE", "secret-of-advice/+")


def raw_lines(path):
    """The non-blank lines of a file as bytes, endings included."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for l in data.splitlines(keepends=True):
        if l.strip():
            out.append(l if l.endswith(b"\n") else l + b"\n")
    return out


def parts_of(d, stem):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.startswith(stem + ".part-"))


def mixed_file(path, n=25):
    """n Claude records, some with CRLF endings, with blank lines between some."""
    with open(path, "w", newline="") as f:
        for i in range(n):
            text = "Document %d: %s" % (i, "words " * (i % 7 * 10))
            f.write(json.dumps({"recordId": "R%03d" % i, "modelInput": claude_input(i, text)}))
            f.write("\r\n" if i % 4 == 0 else "\n")
            if i % 6 == 5:
                f.write("\n   \n")
    return path


# ---- split ----

def test_split_by_records(d):
    p = mixed_file(os.path.join(d, "in.jsonl"), 25)
    r = barge("split", p, "--records", 10)
    assert r.rc == 0, r
    parts = parts_of(d, "in")
    assert [os.path.basename(x) for x in parts] == [
        "in.part-0001.jsonl", "in.part-0002.jsonl", "in.part-0003.jsonl"]
    # Each part printed with its count, then the summary.
    out = r.out.splitlines()
    assert out[0].startswith(parts[0]) and "10 records" in out[0], r.out
    assert "5 records" in out[2] and "25 records" in out[3] and "3 parts" in out[3], r.out
    got = [raw_lines(x) for x in parts]
    assert [len(g) for g in got] == [10, 10, 5]
    # Concatenated, the parts are the input's records, in order, byte for byte.
    assert sum(got, []) == raw_lines(p)
    assert got[0][0].endswith(b"\r\n") and got[0][1].endswith(b"}\n")
    # Every part is a valid job input.
    for x in parts:
        v = barge("validate", x, "--model", HAIKU)
        assert v.rc == 0, v


def test_split_by_bytes_into_a_directory_and_a_prefix(d):
    p = mixed_file(os.path.join(d, "in.jsonl"), 40)
    size = max(len(l) for l in raw_lines(p)) * 3
    r = barge("split", p, "--bytes", size, "-o", os.path.join(d, "parts") + "/")
    assert r.rc == 0, r
    parts = parts_of(os.path.join(d, "parts"), "in")
    assert len(parts) > 3, r.out
    for x in parts:
        assert os.path.getsize(x) <= size, (x, os.path.getsize(x), size)
    assert sum((raw_lines(x) for x in parts), []) == raw_lines(p)
    # Both limits at once, with a name prefix.
    r = barge("split", p, "--bytes", size, "--records", 2, "-o", os.path.join(d, "x"))
    assert r.rc == 0, r
    parts = parts_of(d, "x")
    assert parts and all(len(raw_lines(x)) <= 2 and os.path.getsize(x) <= size for x in parts)
    assert sum((raw_lines(x) for x in parts), []) == raw_lines(p)


def test_split_keeps_to_the_configured_limits(d):
    p = mixed_file(os.path.join(d, "in.jsonl"), 10)
    cfg = write_config(os.path.join(d, "c.ini"), "[limits]\nmax_records_per_job = 4\n")
    r = barge("split", p, "--records", 100, "--config", cfg)
    assert r.rc == 0, r
    assert [len(raw_lines(x)) for x in parts_of(d, "in")] == [4, 4, 2]
    assert "at most 4 records" in r.out, r.out


def test_split_refuses_a_line_too_long_for_a_part(d):
    recs = claude_records(5)
    recs[2]["modelInput"]["messages"][0]["content"] = "x" * 2000
    p = write_jsonl(os.path.join(d, "in.jsonl"), recs)
    r = barge("split", p, "--bytes", 1000)
    assert r.rc == 1, r
    assert (p + ":3:") in r.err and "--bytes" in r.err, r.err
    # No half split is left behind.
    assert parts_of(d, "in") == []
    r = barge("split", p)
    assert r.rc == 2 and "--records" in r.err, r
    r = barge("split", p, "--records", "0")
    assert r.rc == 2, r
    r = barge("split", os.path.join(d, "missing.jsonl"), "--records", 3)
    assert r.rc == 1, r


def test_over_limit_message_names_both_commands(d):
    cfg = write_config(os.path.join(d, "c.ini"), "[limits]\nmax_records_per_job = 10\n")
    p = write_jsonl(os.path.join(d, "in.jsonl"), claude_records(11))
    r = barge("run", p, "--model", HAIKU, "--output", os.path.join(d, "out"), "--state",
              os.path.join(d, "st"), "--config", cfg, "--json")
    assert r.rc == 1, r
    msg = r.json()["message"]
    assert "barge split %s --records 10" % p in msg, msg
    assert "barge submit --split 10" in msg, msg
    v = barge("validate", p, "--model", HAIKU, "--config", cfg, "--json")
    assert v.rc == 1 and "barge submit --split 10" in v.json()["limit"], v


def serve_config(d):
    os.makedirs(os.path.join(d, "in"))
    os.makedirs(os.path.join(d, "out"))
    return write_config(os.path.join(d, "c.ini"), """
[server]
data = %(d)s/data
runners = 2
[account.team-a]
account_id = 111111111111
access_key_id = %(k)s
secret_access_key = %(s)s
allowed_uris = file://%(d)s/in/, file://%(d)s/out/
[backend.sim]
kind = sim
[limits]
max_records_per_job = 12
""" % {"d": d, "k": KEY[0], "s": KEY[1]})


def test_submit_split_runs_one_job_per_part(d):
    cfg = serve_config(d)
    p = write_jsonl(os.path.join(d, "in", "a.jsonl"), claude_records(25))
    srv = Serve(cfg, os.path.join(d, "serve.log"))
    try:
        client = ["--endpoint", srv.base, "--access-key-id", KEY[0], "--secret-access-key",
                  KEY[1], "--config", cfg]
        # Over the server's limit, a job fails and its message says what to do.
        r = barge("submit", "--input", p, "--output", os.path.join(d, "out") + "/",
                  "--model", HAIKU, *client)
        assert r.rc == 0, r
        job = wait_status(srv.base, r.out.strip(), {"Failed"}, key=KEY)
        assert "barge submit --split 12" in job["message"], job
        r = barge("submit", "--input", p, "--output", os.path.join(d, "out") + "/",
                  "--model", HAIKU, "--split", 10, "--name", "nightly", *client)
        assert r.rc == 0, r
        arns = r.out.split()
        assert len(arns) == 3 and all(":model-invocation-job/" in a for a in arns), r.out
        assert "3 parts" in r.err, r.err
        want = [["R%06d" % i for i in range(s, min(s + 10, 25))] for s in (0, 10, 20)]
        for k, arn in enumerate(arns):
            job = wait_status(srv.base, arn, {"Completed"}, key=KEY)
            assert job["jobName"] == "nightly-part-%04d" % (k + 1), job
            assert job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].endswith(
                "/in/a.part-%04d.jsonl" % (k + 1)), job
            jid = arn.rsplit("/", 1)[1]
            lines = read_jsonl(os.path.join(d, "out", jid, "a.part-%04d.jsonl.out" % (k + 1)))
            assert_exactly_once(lines, want[k])
        # A prefix cannot be split.
        r = barge("submit", "--input", os.path.join(d, "in") + "/", "--output",
                  os.path.join(d, "out") + "/", "--model", HAIKU, "--split", 10, *client)
        assert r.rc == 2 and "barge split" in r.err, r
    finally:
        assert srv.stop() == 0


# ---- validate's advice ----

def advice_file(path):
    """12 records: lines 3 and 8 ask for 4,096 tokens, lines 5, 9 and 11 repeat
    line 2's modelInput, line 6 is padded with whitespace."""
    lines = []
    for i in range(12):
        mi = claude_input(i, "Classify item %d in one word." % i, max_tokens=50)
        if i in (2, 7):
            mi["max_tokens"] = 4096
        if i in (4, 8, 10):
            mi = claude_input(1, "Classify item 1 in one word.", max_tokens=50)
        if i == 5:
            mi["messages"][0]["content"] = "Classify    this:\n\n\n\n\n   item   five    \n"
        lines.append(json.dumps({"recordId": "A%d" % i, "modelInput": mi}))
    return write_lines(path, lines)


def test_validate_advice_flags_what_costs_money(d):
    p = advice_file(os.path.join(d, "in.jsonl"))
    r = barge("validate", p, "--model", SONNET, "--json")
    assert r.rc == 0, r
    a = r.json()["advice"]
    assert a["records"] == 12
    assert a["maxTokens"] == {"min": 50, "median": 50, "p90": 4096, "max": 4096}, a
    assert a["promptTokens"]["min"] >= 1 and a["promptTokens"]["max"] >= a["promptTokens"]["median"]
    flags = {f["kind"]: f for f in a["flags"]}
    assert set(flags) == {"max_tokens", "duplicates", "whitespace"}, flags
    mt = flags["max_tokens"]
    assert mt["records"] == 2 and mt["overCeiling"] == 2 and mt["ceiling"] == 2048, mt
    assert [e["line"] for e in mt["examples"]] == [3, 8] and mt["action"] == "lower max_tokens"
    # 8x the median is 400, below the typical 512: the limit is 512, and the
    # 4,096 - 512 tokens above it, twice, are priced at Sonnet's batch output price.
    assert mt["medianLimit"] == 512
    assert abs(mt["batchCostAbove"] - 2 * 3584 * 0.0075 / 1000) < 1e-6, mt
    dup = flags["duplicates"]
    assert (dup["groups"], dup["records"]) == (1, 3), dup
    assert [e["line"] for e in dup["examples"][0]] == [2, 5, 9, 11], dup
    assert dup["action"] == "drop the duplicates" and dup["batchCost"] > 0
    ws = flags["whitespace"]
    assert ws["records"] == 1 and [e["line"] for e in ws["examples"]] == [6], ws
    assert ws["bytesSaved"] > 10 and ws["tokensSaved"] > 0 and ws["action"] == "run barge compact"
    t = barge("validate", p, "--model", SONNET)
    assert t.rc == 0, t
    for words in ("median 50", "p90 4,096", "lower max_tokens", "drop the duplicates",
                  "run barge compact", p + ":3", p + ":6"):
        assert words in t.out, (words, t.out)


def test_validate_advice_outliers_and_clean_files(d):
    # Every record at 1,000 max_tokens is below the ceiling: no flag; one at
    # 1,000 among records at 50 is above 8x the median: flagged.
    recs = [{"recordId": "C%d" % i, "modelInput": claude_input(i, max_tokens=1000)}
            for i in range(6)]
    p = write_jsonl(os.path.join(d, "clean.jsonl"), recs)
    r = barge("validate", p, "--model", HAIKU, "--json")
    assert r.rc == 0 and r.json()["advice"]["flags"] == [], r
    assert "nothing to flag" in barge("validate", p, "--model", HAIKU).out
    for rec in recs[1:]:
        rec["modelInput"]["max_tokens"] = 50
    p = write_jsonl(os.path.join(d, "outlier.jsonl"), recs)
    flags = barge("validate", p, "--model", HAIKU, "--json").json()["advice"]["flags"]
    assert [(f["kind"], f["overMedian"], f["overCeiling"]) for f in flags] == \
        [("max_tokens", 1, 0)], flags


# ---- compact ----

CODE = "```python\ndef f(x):\n    return  x   \n\n\n\n# end\n```"


def compact_file(path):
    recs = [
        {"recordId": "K0", "modelInput": claude_input(0, "Review    this:\n\n\n\n" + CODE +
                                                      "\n\n\n\nThanks.   ")},
        {"recordId": "K1", "modelInput": claude_input(1, "Already tidy.")},
        {"recordId": "K2", "note": "kept", "modelInput": {
            "anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "temperature": 0.70,
            "system": "Be   brief.\t\t", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "caf\u00e9    \u65e5\u672c   \u8a9e"}]}]}},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in recs]
    # Numbers keep their text through compaction.
    lines[2] = lines[2].replace('"temperature": 0.7', '"temperature": 0.70')
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(lines[0] + "\r\n" + lines[1] + "\n" + "not a record\n" + lines[2] + "\n")
    return path


def test_compact_removes_whitespace_outside_fences(d):
    p = compact_file(os.path.join(d, "in.jsonl"))
    out = os.path.join(d, "out.jsonl")
    r = barge("compact", p, "-o", out, "--model", SONNET, "--json")
    assert r.rc == 0, r
    s = r.json()
    assert (s["records"], s["changed"], s["notRecords"]) == (3, 2, 1), s
    assert s["tokensSaved"] > 0 and s["textBytesAfter"] < s["textBytesBefore"]
    assert abs(s["batchSaved"] - s["tokensSaved"] * 0.0015 / 1000) < 1e-6, s
    assert abs(s["onDemandSaved"] - s["tokensSaved"] * 0.003 / 1000) < 1e-6, s
    before, after = raw_lines(p), raw_lines(out)
    assert len(after) == 4
    # Unchanged lines are copied byte for byte, CRLF kept where it was.
    assert after[1] == before[1] and after[2] == b"not a record\n"
    assert after[0].endswith(b"\r\n")
    recs = [json.loads(l) for i, l in enumerate(after) if i != 2]
    text = recs[0]["modelInput"]["messages"][0]["content"]
    assert text == "Review this:\n\n" + CODE + "\n\nThanks.", text
    assert recs[2]["note"] == "kept" and recs[2]["recordId"] == "K2"
    assert recs[2]["modelInput"]["system"] == "Be brief."
    assert recs[2]["modelInput"]["messages"][0]["content"][0]["text"] == \
        "caf\u00e9 \u65e5\u672c \u8a9e"
    assert b'"temperature":0.70' in after[3], after[3]
    # The estimate agrees with the savings.
    clean = os.path.join(d, "clean.jsonl")
    write_lines(clean, [l.decode().rstrip("\r\n") for i, l in enumerate(before) if i != 2])
    e0 = barge("estimate", clean, "--model", SONNET, "--json").json()["inputTokens"]
    write_lines(clean, [l.decode().rstrip("\r\n") for i, l in enumerate(after) if i != 2])
    e1 = barge("estimate", clean, "--model", SONNET, "--json").json()["inputTokens"]
    assert e0 - e1 == s["tokensSaved"], (e0, e1, s)
    # A second pass changes nothing.
    again = os.path.join(d, "again.jsonl")
    r2 = barge("compact", out, "-o", again, "--json")
    assert r2.rc == 0 and r2.json()["changed"] == 0 and r2.json()["tokensSaved"] == 0, r2
    with open(out, "rb") as a, open(again, "rb") as b:
        assert a.read() == b.read()
    # Validate no longer flags whitespace.
    v = barge("validate", clean, "--model", SONNET, "--json").json()
    assert "whitespace" not in [f["kind"] for f in v["advice"]["flags"]]


def test_compact_text_and_usage(d):
    p = compact_file(os.path.join(d, "in.jsonl"))
    r = barge("compact", p, "-o", os.path.join(d, "o.jsonl"))
    assert r.rc == 0, r
    assert "2 changed" in r.out and "need --model" in r.out, r.out
    r = barge("compact", p, "-o", os.path.join(d, "o.jsonl"), "--model", HAIKU)
    assert "at batch price" in r.out and HAIKU in r.out, r.out
    assert barge("compact", p).rc == 2
    assert barge("compact", p, "-o", p).rc == 2
    assert barge("compact", p, "-o", os.path.join(d, "x.jsonl"), "--model", "nope").rc == 2
    r = barge("compact", os.path.join(d, "missing.jsonl"), "-o", os.path.join(d, "x.jsonl"))
    assert r.rc == 1 and not os.path.exists(os.path.join(d, "x.jsonl")), r
    # --keep-indent leaves indentation alone.
    write_jsonl(os.path.join(d, "ind.jsonl"),
                [{"recordId": "I", "modelInput": claude_input(0, "a\n    b  c")}])
    barge("compact", os.path.join(d, "ind.jsonl"), "-o", os.path.join(d, "ind2.jsonl"),
          "--keep-indent")
    got = read_jsonl(os.path.join(d, "ind2.jsonl"))[0]["modelInput"]["messages"][0]["content"]
    assert got == "a\n    b c", got


def test_compact_output_is_checked_as_a_file(d):
    """The input under another spelling is still the input; a link is
    written through; what is not a regular file is refused."""
    p = compact_file(os.path.join(d, "in.jsonl"))
    before = open(p, "rb").read()
    r = barge("compact", "in.jsonl", "-o", "./in.jsonl", cwd=d)
    assert r.rc == 2 and "INPUT itself" in r.err, r
    os.symlink(p, os.path.join(d, "alias.jsonl"))
    r = barge("compact", os.path.join(d, "alias.jsonl"), "-o", p)
    assert r.rc == 2, r
    assert open(p, "rb").read() == before
    target = os.path.join(d, "target.jsonl")
    open(target, "w").close()
    os.symlink(target, os.path.join(d, "link.jsonl"))
    r = barge("compact", p, "-o", os.path.join(d, "link.jsonl"))
    assert r.rc == 0, r
    assert os.path.islink(os.path.join(d, "link.jsonl"))
    assert len(raw_lines(target)) == len(raw_lines(p))
    os.mkfifo(os.path.join(d, "fifo"))
    r = barge("compact", p, "-o", os.path.join(d, "fifo"))
    assert r.rc == 1 and "not a regular file" in r.err, r


def test_compact_keeps_values_json_c_would_change(d):
    """Integers beyond 64 bits, -0 and half a surrogate pair would change if
    json-c wrote them again: such a record is kept whole, others compact."""
    p = os.path.join(d, "in.jsonl")
    lines = []
    for i, extra in enumerate(['"seed":100000000000000000000000', '"top_p":-0',
                               '"tag":"\\ud800x"', '"ok":1.50', '"pair":"\\ud83d\\ude00"']):
        lines.append('{"recordId":"K%d","modelInput":{"anthropic_version":"bedrock-2023-05-31",'
                     '"max_tokens":10,%s,"messages":[{"role":"user","content":"a      b"}]}}'
                     % (i, extra))
    write_lines(p, lines)
    r = barge("compact", p, "-o", os.path.join(d, "o.jsonl"), "--json")
    assert r.rc == 0, r
    j = r.json()
    assert j["changed"] == 2 and j["kept"] == 3, j
    out = open(os.path.join(d, "o.jsonl"), encoding="utf-8").read().splitlines()
    assert out[:3] == lines[:3], out
    assert '"ok":1.50' in out[3] and '"a b"' in out[3], out[3]
    assert json.loads(out[4])["modelInput"]["pair"] == "\U0001F600", out[4]


def test_split_leaves_no_stale_parts(d):
    """A split into fewer parts than an earlier one removes the earlier
    extra parts: a glob of the parts must not run records twice."""
    p = mixed_file(os.path.join(d, "in.jsonl"), 20)
    assert barge("split", p, "--records", 5).rc == 0
    assert len(parts_of(d, "in")) == 4
    r = barge("split", p, "--records", 10)
    assert r.rc == 0 and "removed 2 parts" in r.out, r
    parts = parts_of(d, "in")
    assert len(parts) == 2
    assert sum((raw_lines(x) for x in parts), []) == raw_lines(p)
    r = barge("split", p, "--records", 10, "-o", "")
    assert r.rc == 2 and "-o" in r.err, r


def test_max_tokens_beyond_any_model_is_refused(d):
    p = os.path.join(d, "in.jsonl")
    write_jsonl(p, [{"recordId": "A", "modelInput": claude_input(0, "hi", max_tokens=1000001)},
                    {"recordId": "B", "modelInput": claude_input(1, "hi", max_tokens=2 ** 62)}])
    r = barge("validate", p, "--model", HAIKU)
    assert r.rc == 1 and "in.jsonl:1: modelInput.max_tokens" in r.err + r.out, r
    assert "1000000" in r.err + r.out, r
    # The estimate leaves them out rather than summing them into nonsense.
    r = barge("estimate", p, "--model", HAIKU)
    assert r.rc == 0 and "2 invalid records are left out" in r.err, r
    assert "estimate for 0 records" in r.out and "$-" not in r.out, r


# ---- report ----

def test_report_on_a_run(d):
    recs = []
    for i in range(40):
        mt = 2000 if i % 4 == 0 else 40
        recs.append({"recordId": "P%03d" % i,
                     "modelInput": claude_input(i, "Summarize document %d." % i, max_tokens=mt)})
    p = write_jsonl(os.path.join(d, "in.jsonl"), recs)
    cfg = sim_config(os.path.join(d, "c.ini"), output_tokens=60)
    st, outdir = os.path.join(d, "st"), os.path.join(d, "out")
    r = barge("run", p, "--model", HAIKU, "--output", outdir, "--state", st, "--config", cfg,
              "--json")
    assert r.rc == 0, r
    job = r.json()
    jid = job["jobId"]
    rep = barge("report", jid, "--state", st, "--config", cfg, "--json")
    assert rep.rc == 0, rep
    j = rep.json()
    assert (j["jobId"], j["modelId"], j["status"]) == (jid, HAIKU, "Completed")
    assert j["records"] == {"total": 40, "success": 40, "errors": 0, "unreadable": 0}
    out = read_jsonl(os.path.join(outdir, jid, "in.jsonl.out"))
    used = [o["modelOutput"]["usage"]["output_tokens"] for o in out]
    asked = [o["modelInput"]["max_tokens"] for o in out]
    mt = j["maxTokens"]
    assert mt["requested"]["sum"] == sum(asked) and mt["requested"]["median"] == 40
    assert mt["used"]["sum"] == sum(used) == job["outputTokenCount"]
    assert mt["used"]["max"] == max(used)
    assert mt["underQuarter"] == sum(1 for u, a in zip(used, asked) if u < a / 4) == 10
    assert mt["atLimit"] == sum(1 for u, a in zip(used, asked) if u >= a) == 30
    # Every catalog model that writes text, the job's family first.
    costs = j["costs"]
    ids = [c["modelId"] for c in costs]
    assert EMBED not in ids and {HAIKU, SONNET, LLAMA, MISTRAL, TITAN, NOVA} <= set(ids), ids
    fams = [c["sameFamily"] for c in costs]
    assert fams == sorted(fams, reverse=True)
    mine = [c for c in costs if c["thisJob"]]
    assert len(mine) == 1 and mine[0]["modelId"] == HAIKU and mine[0]["vsThisJob"] == 0
    assert abs(mine[0]["batchCost"] - job["cost"]["batchCost"]) < 1e-6
    son = [c for c in costs if c["modelId"] == SONNET][0]
    want = (j["inputTokens"] * 0.003 + j["outputTokens"] * 0.015) / 1000
    assert abs(son["onDemandCost"] - want) < 1e-6 and abs(son["batchCost"] - want / 2) < 1e-6
    # By output prefix, the same report; as text, a table.
    rep2 = barge("report", jid, "--output", outdir, "--config", cfg, "--json")
    assert rep2.rc == 0 and rep2.json() == j, rep2
    t = barge("report", job["jobArn"], "--state", st, "--config", cfg)
    assert t.rc == 0, t
    for words in ("40 succeeded", "requested", "under 25%", "batch", "on-demand",
                  "vs this job", "this job", SONNET):
        assert words in t.out, (words, t.out)
    # A job that is not there, and usage errors.
    r = barge("report", "aaaaaaaaaaaa", "--state", st)
    assert r.rc == 1 and "not in the state" in r.err, r
    r = barge("report", jid, "--state", os.path.join(d, "nowhere"))
    assert r.rc == 1 and "--state" in r.err, r
    assert barge("report", "nope").rc == 2
    assert barge("report", jid, "--state", st, "--output", outdir).rc == 2


# ---- on S3 ----

def test_split_compact_report_on_s3(d):
    from test_s3 import BUCKET, S3rver, get_jsonl, list_keys, put, s3_config
    srv = S3rver(os.path.join(d, "s3"))
    try:
        cfg = s3_config(d, srv)
        recs = claude_records(25)
        for r in recs[::5]:
            r["modelInput"]["messages"][0]["content"] += "    padded   \n\n\n\n"
        put(srv, d, "in/a.jsonl", recs)
        src = "s3://%s/in/a.jsonl" % BUCKET
        r = barge("split", src, "--records", 10, "--config", cfg)
        assert r.rc == 0, r
        assert [k for k in list_keys(srv, "in/") if ".part-" in k] == [
            "in/a.part-0001.jsonl", "in/a.part-0002.jsonl", "in/a.part-0003.jsonl"], r.out
        got = [get_jsonl(srv, d, "in/a.part-%04d.jsonl" % k) for k in (1, 2, 3)]
        assert [x["recordId"] for x in sum(got, [])] == [x["recordId"] for x in recs]
        # Advice, compaction and a report, all on S3 objects.
        v = barge("validate", src, "--model", HAIKU, "--config", cfg, "--json")
        assert v.rc == 0, v
        ws = [f for f in v.json()["advice"]["flags"] if f["kind"] == "whitespace"]
        assert ws and ws[0]["records"] == 5, v.json()["advice"]
        c = barge("compact", src, "-o", "s3://%s/in/c.jsonl" % BUCKET, "--config", cfg,
                  "--json")
        assert c.rc == 0 and c.json()["changed"] == 5, c
        assert [x["recordId"] for x in get_jsonl(srv, d, "in/c.jsonl")] == \
            [x["recordId"] for x in recs]
        run = barge("run", "s3://%s/in/a.part-0001.jsonl" % BUCKET, "--model", HAIKU,
                    "--output", "s3://%s/out" % BUCKET, "--config", cfg, "--state",
                    os.path.join(d, "st"), "--json")
        assert run.rc == 0, run
        jid = run.json()["jobId"]
        rep = barge("report", jid, "--output", "s3://%s/out/" % BUCKET, "--config", cfg,
                    "--json")
        assert rep.rc == 0 and rep.json()["records"]["success"] == 10, rep
        rep2 = barge("report", jid, "--state", os.path.join(d, "st"), "--config", cfg, "--json")
        assert rep2.rc == 0 and rep2.json() == rep.json(), rep2
    finally:
        srv.stop()
