"""test_inputs.py - barge run on awkward and bad inputs: line endings, byte
order marks, blank lines, byte-exact echo, generated ids, invalid records,
limits, and the messages users get."""
import json
import os
import re

from lib import *


def run(d, inp, *extra, model=HAIKU, config=None):
    args = ["run", inp, "--model", model, "--output", os.path.join(d, "out"),
            "--state", os.path.join(d, "st")] + list(extra)
    if config:
        args += ["--config", config]
    return barge(*args)


def test_line_endings_bom_blank_lines(d):
    recs = [json.dumps({"recordId": "X%d" % i, "modelInput": claude_input(i)}) for i in range(6)]
    body = "\ufeff" + recs[0] + "\r\n" + recs[1] + "\r\n\r\n   \n" + recs[2] + "\n\n" + \
        recs[3] + "\r\n\t\n" + recs[4] + "\n" + recs[5]  # no final newline
    p = os.path.join(d, "in.jsonl")
    with open(p, "w", encoding="utf-8", newline="") as f:
        f.write(body)
    r = run(d, p)
    assert r.rc == 0, r
    out = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
    assert [x["recordId"] for x in out] == ["X%d" % i for i in range(6)]


def test_model_input_echoed_byte_for_byte(d):
    raws = [
        '{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"temperature":0.70,"top_p":1e-1,'
        '"messages":[{"role":"user","content":"caf\\u00e9 \\"quoted\\" \\/slash"}]}',
        '{ "max_tokens" : 5 ,\t"messages":[ {"role":"user","content":"ünïcödé ✓ 😀"} ] }',
        '{"max_tokens":10,"messages":[{"role":"user","content":"a"}],"top_k":50,"extra":{"n":[1,2.50,-0]}}',
    ]
    lines = ['{"recordId": "A%d", "modelInput": %s}' % (i, r) for i, r in enumerate(raws)]
    p = write_lines(os.path.join(d, "in.jsonl"), lines)
    r = run(d, p)
    assert r.rc == 0, r
    with open(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"), encoding="utf-8") as f:
        outs = f.read().splitlines()
    assert len(outs) == 3
    for raw, line in zip(raws, outs):
        assert '"modelInput":' + raw + ',"modelOutput":' in line, line


def test_generated_record_ids(d):
    recs = [{"modelInput": claude_input(i)} for i in range(5)] + \
        [{"recordId": "given", "modelInput": claude_input(9)}]
    p = write_jsonl(os.path.join(d, "in.jsonl"), recs)
    r = run(d, p)
    assert r.rc == 0, r
    out = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
    ids = [x["recordId"] for x in out]
    assert ids[5] == "given"
    for i in ids[:5]:
        assert re.fullmatch(r"[A-Z0-9]{11}", i), i
    assert len(set(ids)) == 6


def bad_lines():
    """Fifteen invalid records of different kinds, between valid ones."""
    good = lambda i: json.dumps({"recordId": "G%d" % i, "modelInput": claude_input(i)})
    bad = [
        '{"recordId": "B1", "modelInput": {',                               # truncated JSON
        'not json at all',
        '{"recordId": "B3"}',                                               # no modelInput
        '{"recordId": "B4", "modelInput": "text"}',                         # not an object
        '{"recordId": 5, "modelInput": %s}' % json.dumps(claude_input(1)),  # id not a string
        '{"recordId": "B6", "modelInput": {"messages": [{"role": "user", "content": "x"}]}}',  # no max_tokens
        '{"recordId": "B7", "modelInput": {"max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}}',
        '{"recordId": "B8", "modelInput": {"max_tokens": 5, "messages": [{"role": "assistant", "content": "x"}]}}',
        '{"recordId": "B9", "modelInput": {"max_tokens": 5, "temperature": 3, "messages": [{"role": "user", "content": "x"}]}}',
        '{"recordId": "B10", "modelInput": {"max_tokens": 5, "messages": []}}',
        '[1, 2, 3]',
        '{"recordId": "", "modelInput": %s}' % json.dumps(claude_input(2)),
        '{"recordId": "G0", "modelInput": %s}' % json.dumps(claude_input(3)),   # duplicate of line 1
        '{"recordId": "B14", "modelInput": {"max_tokens": "5", "messages": [{"role": "user", "content": "x"}]}}',
        '{"recordId": "B15", "modelInput": {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}} trailing',
    ]
    lines = []
    for i, b in enumerate(bad):
        lines.append(good(i))
        lines.append(b)
    return lines, bad


def test_invalid_records_fail_the_job(d):
    lines, bad = bad_lines()
    p = write_lines(os.path.join(d, "in.jsonl"), lines)
    r = run(d, p, "--json")
    assert r.rc == 1, r
    s = r.json()
    assert s["status"] == "Failed"
    msg = s["message"]
    assert msg.startswith("15 of 30 records are invalid (the first 10 follow):"), msg
    shown = [l.strip() for l in msg.splitlines()[1:]]
    assert len(shown) == 10
    # file:line: what, with physical line numbers (bad ones are even lines).
    assert shown[0].startswith(p + ":2: invalid JSON"), shown[0]
    assert shown[2].startswith(p + ":6: modelInput: missing"), shown[2]
    assert shown[5].startswith(p + ":12: modelInput.max_tokens: "), shown[5]
    assert "role" in shown[7] and ":16:" in shown[7]
    # The duplicate names both lines; it is beyond the first ten, so ask validate.
    v = barge("validate", p, "--model", HAIKU, "--json")
    assert v.rc == 1
    probs = v.json()["problems"]
    assert len(probs) == 15
    dup = [x for x in probs if "duplicate" in x["message"]]
    assert len(dup) == 1 and dup[0]["line"] == 26 and (p + ":1") in dup[0]["message"], dup
    assert not os.path.exists(os.path.join(d, "out")) or not os.listdir(os.path.join(d, "out"))


def test_invalid_records_skipped(d):
    lines, bad = bad_lines()
    p = write_lines(os.path.join(d, "in.jsonl"), lines)
    r = run(d, p, "--on-invalid", "skip", "--json")
    assert r.rc == 0, r
    out = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
    assert len(out) == 30
    for i, o in enumerate(out):
        if i % 2 == 0:
            assert "modelOutput" in o, o
        else:
            assert o["error"]["errorCode"] == 400, o
            assert (":%d:" % (i + 1)) in o["error"]["errorMessage"], o
    assert out[1]["modelInput"] is None                 # not JSON: nothing to echo
    assert out[7]["modelInput"] == "text"               # echoed as written
    assert out[25]["recordId"] == "G0" and "duplicate" in out[25]["error"]["errorMessage"]
    m = manifest(os.path.join(d, "out"))
    assert (m["totalRecordCount"], m["successRecordCount"], m["errorRecordCount"]) == (30, 15, 15)


def test_invalid_utf8_and_long_lines(d):
    cfg = write_config(os.path.join(d, "c.ini"), "[limits]\nmax_line_bytes = 400\n")
    good = json.dumps({"recordId": "ok", "modelInput": claude_input(0)}).encode()
    long = json.dumps({"recordId": "long", "modelInput": claude_input(1, "x" * 1000)}).encode()
    badutf = b'{"recordId": "u", "modelInput": {"max_tokens": 5, "messages": [{"role": "user", "content": "\xff\xfe"}]}}'
    p = os.path.join(d, "in.jsonl")
    with open(p, "wb") as f:
        f.write(good + b"\n" + long + b"\n" + badutf + b"\n" + good.replace(b'"ok"', b'"ok2"') + b"\n")
    r = run(d, p, "--json", config=cfg)
    assert r.rc == 1, r
    msg = r.json()["message"]
    assert ":2: the line is 1,1" in msg and "max_line_bytes = 400" in msg, msg
    assert ":3: invalid UTF-8 at byte" in msg, msg
    r = run(d, p, "--json", "--on-invalid", "skip", config=cfg)
    assert r.rc == 0, r
    out = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
    assert [o.get("error", {}).get("errorCode") for o in out] == [None, 400, 400, None]


def test_record_limit(d):
    cfg = write_config(os.path.join(d, "c.ini"), "[limits]\nmax_records_per_job = 10\n")
    p = write_jsonl(os.path.join(d, "in.jsonl"), claude_records(11))
    r = run(d, p, "--json", config=cfg)
    assert r.rc == 1, r
    msg = r.json()["message"]
    assert "11 records" in msg and "max_records_per_job = 10" in msg, msg
    assert "barge split" in msg


def test_file_size_limit(d):
    cfg = write_config(os.path.join(d, "c.ini"), "[limits]\nmax_file_bytes = 1000\n")
    p = write_jsonl(os.path.join(d, "in.jsonl"), claude_records(20))
    r = run(d, p, "--json", config=cfg)
    assert r.rc == 1, r
    msg = r.json()["message"]
    size = os.path.getsize(p)
    assert ("is %s bytes" % format(size, ",")) in msg and "max_file_bytes = 1,000" in msg, msg


def test_min_records_and_empty_input(d):
    p = write_lines(os.path.join(d, "in.jsonl"), ["", "   "])
    r = run(d, p, "--json")
    assert r.rc == 1, r
    assert "fewer than the limit min_records_per_job = 1" in r.json()["message"]


def test_directory_input_and_several_files(d):
    src = os.path.join(d, "in")
    os.makedirs(os.path.join(src, "sub"))
    write_jsonl(os.path.join(src, "a.jsonl"), claude_records(300, "A"))
    write_jsonl(os.path.join(src, "sub", "b.jsonl"), claude_records(10, "B"))
    write_lines(os.path.join(src, "notes.txt"), ["not an input"])
    r = run(d, src + "/", "--json")
    assert r.rc == 0, r
    j = job_dir(os.path.join(d, "out"))
    assert len(read_jsonl(os.path.join(j, "a.jsonl.out"))) == 300
    assert len(read_jsonl(os.path.join(j, "sub", "b.jsonl.out"))) == 10
    assert not os.path.exists(os.path.join(j, "parts")), "parts must be removed at the end"
    assert manifest(os.path.join(d, "out"))["totalRecordCount"] == 310


def test_missing_input_and_usage_errors(d):
    r = run(d, os.path.join(d, "nope.jsonl"))
    assert r.rc == 1 and "does not exist" in r.err, r
    r = barge("run", "x.jsonl", "--output", d)
    assert r.rc == 2 and "--model is required" in r.err, r
    r = barge("run", "x.jsonl", "--model", HAIKU)
    assert r.rc == 2 and "--output is required" in r.err, r
    r = barge("run", "x.jsonl", "--model", "no.such-model", "--output", d)
    assert r.rc == 2 and "barge models" in r.err, r
    r = barge("run", "x.jsonl", "--model", HAIKU, "--output", d, "--on-invalid", "maybe")
    assert r.rc == 2 and "fail or skip" in r.err, r
    r = barge("run", "--bogus")
    assert r.rc == 2 and "unknown option" in r.err, r
    cfg = write_config(os.path.join(d, "bad.ini"), "[backend.x]\nkind = sim\nmax_concurrency = lots\n")
    r = barge("run", "x.jsonl", "--model", HAIKU, "--output", d, "--config", cfg)
    assert r.rc == 2 and "bad.ini:3" in r.err and "max_concurrency" in r.err, r


def test_help_for_every_command():
    for cmd in ("run", "validate", "estimate", "models"):
        r = barge(cmd, "--help")
        assert r.rc == 0 and r.out.startswith("usage: barge " + cmd), (cmd, r)
    r = barge("--help")
    assert r.rc == 0 and "run" in r.out
    r = barge("frobnicate")
    assert r.rc == 2 and "unknown command" in r.err


def test_garbage_never_crashes(d):
    """Random bytes, deep nesting and odd JSON: every line becomes an error
    record, none crashes barge or goes missing."""
    import random
    rnd = random.Random(99)
    lines = [
        b"[" * 5000, b"{" * 5000, b'{"recordId": "n", "modelInput": ' + b"[" * 200 + b"]" * 200 + b"}",
        b'{"recordId": "big", "modelInput": {"max_tokens": 1e999999, "messages": []}}',
        b'{"recordId": "neg", "modelInput": {"max_tokens": -1, "messages": [{"role": "user", "content": "x"}]}}',
        b'{"recordId": "nul\\u0000id", "modelInput": 1}', b"\x00\x01\x02", b"\xef\xbb\xbf{}",
        b'"just a string"', b"123", b"null", b"{}",
        b'{"recordId": "x", "modelInput": {"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "video"}]}]}}',
    ]
    for _ in range(200):
        n = rnd.randint(1, 300)
        lines.append(bytes(rnd.choice(b'{}[]":,0123456789.eE-+ \\tnulrsfa\xc3\xa9\xff') for _ in range(n)))
    lines = [l.replace(b"\n", b" ").replace(b"\r", b" ") for l in lines]
    lines = [l for l in lines if l.strip(b" \t")]
    p = os.path.join(d, "in.jsonl")
    with open(p, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    r = run(d, p, "--on-invalid", "skip", "--json")
    assert r.rc == 0, r
    out = read_jsonl(os.path.join(job_dir(os.path.join(d, "out")), "in.jsonl.out"))
    assert len(out) == len(lines)
    assert all(o["error"]["errorCode"] == 400 for o in out), [o for o in out if "error" not in o][:3]


def test_progress_bar_on_a_terminal(d):
    import pty
    import select
    import subprocess
    p = write_jsonl(os.path.join(d, "in.jsonl"), claude_records(2000))
    cfg = sim_config(os.path.join(d, "c.ini"), ttft_ms=20, max_concurrency=16)
    master, slave = pty.openpty()
    proc = subprocess.Popen([BARGE, "run", p, "--model", HAIKU, "--output", os.path.join(d, "out"),
                             "--state", os.path.join(d, "st"), "--config", cfg],
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:
        rl, _, _ = select.select([master], [], [], 30)
        if not rl:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    # A redrawn bar: carriage return, clear line, the bar, counts and an ETA.
    assert re.search(rb"\r\x1b\[K\[#*\.*\] [\d,]+/2,000 records .* ETA ", seen), seen[:300]
    assert b"job " in out and b"Completed" in out
