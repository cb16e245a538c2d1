#!/usr/bin/env python3
"""saturation.py - how close barge keeps a backend to its capacity.

barge sim-server plays an inference server with 64 sequence slots (it
answers 429 beyond them), 50 ms to the first token, 5 ms per token and 200
output tokens per answer: each request takes 1.05 s, so at best 64 requests
finish every 1.05 s. The best possible time for N records is
ceil(N/64) * 1.05 s; the figure reported is that best time over the
measured one. Two runs: max_concurrency = 64 (the capacity is known) and
max_concurrency = 512 (barge must find it from the 429s).

    bench/saturation.py [--barge build/barge] [--records 2048]
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Sim, measure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEQS, TTFT, ITL, TOKENS = 64, 50, 5, 200


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", default=os.path.join(ROOT, "build", "barge"))
    ap.add_argument("--records", type=int, default=2048)
    a = ap.parse_args()
    barge = os.path.abspath(a.barge)
    work = tempfile.mkdtemp(prefix="barge-saturation-")
    inp = os.path.join(work, "in.jsonl")
    with open(inp, "w") as f:
        for i in range(a.records):
            f.write(json.dumps({"recordId": "S%05d" % i, "modelInput": {
                "anthropic_version": "bedrock-2023-05-31", "max_tokens": TOKENS,
                "messages": [{"role": "user", "content": "Write report %d." % i}]}}) + "\n")
    per_request = (TTFT + ITL * TOKENS) / 1000.0
    best = math.ceil(a.records / SEQS) * per_request
    print("%d records; sim-server max_seqs %d, %.2f s a request; best possible %.1f s"
          % (a.records, SEQS, per_request, best))
    print("%-22s %8s %10s %12s %10s" % ("max_concurrency", "wall s", "records/s",
                                         "of capacity", "429s"))
    try:
        for conc in (SEQS, 512):
            sim = Sim(barge, "--max-seqs", SEQS, "--ttft-ms", TTFT, "--itl-ms", ITL,
                      "--output-tokens", TOKENS, "--threads", 2)
            try:
                cfg = os.path.join(work, "c.ini")
                with open(cfg, "w") as f:
                    f.write("[backend.srv]\nkind = openai\nbase_url = http://127.0.0.1:%d/v1\n"
                            "max_concurrency = %d\nmax_attempts = 100\ntimeout_s = 60\n"
                            "[model.m]\nfamily = anthropic-messages\nbackend = srv\n"
                            % (sim.port, conc))
                shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
                shutil.rmtree(os.path.join(work, "st"), ignore_errors=True)
                wall, cpu, rss, rc, out, err = measure(
                    [barge, "run", inp, "--model", "m", "--config", cfg, "--output",
                     os.path.join(work, "out"), "--state", os.path.join(work, "st"),
                     "--no-progress", "--json"])
                if rc != 0:
                    raise SystemExit("barge failed: %s" % err)
                s = json.loads(out)
                assert s["successRecordCount"] == a.records, s
                st = sim.stats()
                print("%-22s %8.1f %10.1f %11.1f%% %10d" % (
                    "%d%s" % (conc, " (known)" if conc == SEQS else " (found)"), wall,
                    a.records / wall, best / wall * 100, st["by_status"].get("429", 0)))
            finally:
                sim.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
