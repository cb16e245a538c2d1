#!/usr/bin/env python3
"""overhead.py - barge's own cost per request, against a zero-latency
OpenAI-compatible backend (nginx returning a canned chat.completion).

Sends the same 20,000 chat requests three ways, in one run, at the same
concurrency: `barge run` (openai backend), a script using the official
openai Node SDK (bench/openai_sdk.mjs) writing the same JSONL, and
`curl --parallel` alone (no output written). Reports records/s and CPU
seconds per 1,000 records of each.

    bench/overhead.py [--barge build/barge] [--records 20000] [--concurrency 64]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Nginx, measure

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def ensure_sdk():
    peers = os.path.join(ROOT, "tests", "peers")
    if not os.path.isdir(os.path.join(peers, "node_modules", "openai")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=peers, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", default=os.path.join(ROOT, "build", "barge"))
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ensure_sdk()
    work = tempfile.mkdtemp(prefix="barge-overhead-")
    ng = Nginx(os.path.join(work, "nginx"))
    try:
        base = "http://127.0.0.1:%d/v1" % ng.port
        inp = os.path.join(work, "in.jsonl")
        curlcfg = os.path.join(work, "curl.cfg")
        with open(inp, "w") as f, open(curlcfg, "w") as c:
            for i in range(a.records):
                mi = {"model": "bench", "max_tokens": 16, "messages": [
                    {"role": "user", "content": "Classify ticket %d: the parcel arrived late." % i}]}
                f.write(json.dumps({"recordId": "R%06d" % i, "modelInput": mi}) + "\n")
                body = json.dumps(mi).replace("\\", "\\\\").replace('"', '\\"')
                c.write('%surl = "%s/chat/completions"\nheader = "Content-Type: application/json"\n'
                        'data-binary = "%s"\noutput = "/dev/null"\n'
                        % ("next\n" if i else "", base, body))
        cfg = os.path.join(work, "c.ini")
        with open(cfg, "w") as f:
            f.write("[backend.nginx]\nkind = openai\nbase_url = %s\nmax_concurrency = %d\n"
                    "[model.bench]\nfamily = openai-chat\nbackend = nginx\n" % (base, a.concurrency))
        runs = {
            "barge run": [os.path.abspath(a.barge), "run", inp, "--model", "bench", "--config", cfg,
                          "--output", os.path.join(work, "out"), "--state",
                          os.path.join(work, "st"), "--no-progress"],
            "openai Node SDK": ["node", os.path.join(HERE, "openai_sdk.mjs"), inp,
                                os.path.join(work, "sdk.jsonl"), base, str(a.concurrency)],
            "curl --parallel": ["curl", "--parallel", "--parallel-immediate", "--parallel-max",
                                str(a.concurrency), "-s", "--no-progress-meter", "-K", curlcfg],
        }
        res = {}
        for name, argv in runs.items():
            got = []
            for _ in range(a.runs):
                shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
                shutil.rmtree(os.path.join(work, "st"), ignore_errors=True)
                wall, cpu, rss, rc, out, err = measure(argv)
                if rc != 0:
                    raise SystemExit("%s failed (%d): %s" % (name, rc, err))
                got.append((wall, cpu, rss))
            # The median run by wall time stands for the client.
            got.sort()
            res[name] = got[len(got) // 2]
        with open(os.path.join(work, "sdk.jsonl")) as f:
            assert sum(1 for _ in f) == a.records
        print("%d chat requests to nginx on 127.0.0.1, concurrency %d, median of %d runs"
              % (a.records, a.concurrency, a.runs))
        print("%-18s %10s %12s %12s %10s" % ("client", "wall s", "records/s", "CPU s/1k",
                                            "peak MiB"))
        for name, (wall, cpu, rss) in res.items():
            print("%-18s %10.2f %12.0f %12.4f %10.1f" % (name, wall, a.records / wall,
                                                      cpu / a.records * 1000, rss))
        bw, bc, _ = res["barge run"]
        sw, sc, _ = res["openai Node SDK"]
        cw, cc, _ = res["curl --parallel"]
        print("barge vs SDK: %.1fx the records/s, %.2fx the CPU per record" % (sw / bw, bc / sc))
        print("barge vs curl --parallel: %.2fx the wall time" % (bw / cw))
    finally:
        ng.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
