#!/usr/bin/env python3
"""run_bench.py - throughput, CPU and peak memory of `barge run` on the
built-in simulator at zero latency, for 50,000 small (~300-byte) and 50,000
large (~4 KB, ~200 MB in all) records.

    bench/run_bench.py [--barge build/barge] [--runs 3] [--dir /tmp/barge-bench]

Each run is a fresh job (fresh state and output). Figures are the median of
the runs: records/s on the wall clock, CPU seconds (user + system) per 1,000
records, and the peak resident set size of the barge process.
"""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import time

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
WORDS = ("the quick brown fox jumps over lazy dog report summary customer order invoice "
         "shipping delay refund product quality").split()


def generate(path, n, words_per_record, seed):
    if os.path.exists(path):
        return
    r = random.Random(seed)
    with open(path + ".tmp", "w") as f:
        for i in range(n):
            text = " ".join(r.choice(WORDS) for _ in range(words_per_record))
            f.write(json.dumps({"recordId": "R%07d" % i, "modelInput": {
                "anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                "messages": [{"role": "user", "content": "Summarize: " + text}]}}) + "\n")
    os.rename(path + ".tmp", path)


def measure(barge, inp, work):
    """Runs one job in a child and returns wall s, cpu s, peak RSS in MiB."""
    state, out = os.path.join(work, "state"), os.path.join(work, "out")
    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    # A fork per measurement so that RUSAGE_CHILDREN covers this run alone.
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        t0 = time.time()
        p = subprocess.run([barge, "run", inp, "--model", MODEL, "--output", out,
                            "--state", state, "--no-progress", "--json"],
                           capture_output=True, text=True)
        wall = time.time() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        os.write(wr, json.dumps({"rc": p.returncode, "wall": wall,
                                 "cpu": ru.ru_utime + ru.ru_stime,
                                 "rss": ru.ru_maxrss / 1024.0,
                                 "summary": p.stdout, "err": p.stderr[-500:]}).encode())
        os._exit(0)
    os.close(wr)
    data = b""
    while True:
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        data += chunk
    os.waitpid(pid, 0)
    m = json.loads(data)
    if m["rc"] != 0:
        raise SystemExit("barge failed: %s" % m["err"])
    s = json.loads(m["summary"])
    assert s["successRecordCount"] == s["totalRecordCount"], s
    return m["wall"], m["cpu"], m["rss"], s["totalRecordCount"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", default=os.path.join(os.path.dirname(__file__), "..", "build", "barge"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/barge-bench")
    ap.add_argument("--records", type=int, default=50000)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    cases = [("small (~300 B)", "small.jsonl", 25), ("large (~4 KB)", "large.jsonl", 620)]
    print("%-16s %10s %12s %12s %10s %10s" % ("records", "file MB", "records/s",
                                              "CPU s/1k", "peak MiB", "wall s"))
    for label, name, words in cases:
        path = os.path.join(a.dir, name)
        generate(path, a.records, words, seed=len(name))
        runs = [measure(os.path.abspath(a.barge), path, a.dir) for _ in range(a.runs)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        n = runs[0][3]
        print("%-16s %10.1f %12.0f %12.4f %10.1f %10.2f" % (
            label, os.path.getsize(path) / 1e6, n / wall, cpu / n * 1000, rss, wall))


if __name__ == "__main__":
    main()
