#!/usr/bin/env python3
"""workers.py - what PostgreSQL and `barge worker` processes buy.

Two measurements, each a job of --records records submitted to barge serve
and timed from the Create call to Completed (validation and finalize
included):

1. Store: barge serve with 2 runners and the in-process simulator at zero
   latency, on SQLite and then on PostgreSQL (tests/pg.sh's server, on this
   machine): what the shared store costs per record.
2. Scale-out: the simulator with --ttft-ms of latency and a backend limit of
   --concurrency requests per process, so that one process is bound by its
   limit and not by CPU: barge serve with 2 runners on SQLite (the
   baseline), then barge serve without runners and 1, 2 and 3 `barge
   worker` processes (2 runners each) on PostgreSQL. The limit applies per
   process, so each worker adds its share of backend capacity.

    bench/workers.py [--barge build/barge] [--records 20000] [--ttft-ms 20]
                     [--concurrency 32]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lib  # noqa: E402

KEY = ("AKIDBENCH", "bench-secret")
ENV = {"BENCH_SECRET": KEY[1]}


def config(d, name, store, runners, sim):
    return lib.write_config(os.path.join(d, name), """
[server]
data = %(d)s/data-%(name)s
store = %(store)s
runners = %(runners)d
lease_seconds = 30
[account.bench]
account_id = 111111111111
access_key_id = %(k)s
secret_access_key_env = BENCH_SECRET
allowed_uris = file://%(d)s/
max_running_jobs_per_model = 10
[backend.sim]
kind = sim
%(sim)s
""" % {"d": d, "name": name, "store": store, "runners": runners, "k": KEY[0], "sim": sim})


def run_job(d, serve_cfg, worker_cfg, workers, records):
    """Starts serve and the workers, runs one job; returns (seconds, rec/s)."""
    srv = lib.Serve(serve_cfg, os.path.join(d, "serve.log"), env=ENV)
    ws = []
    try:
        ws = [lib.Worker(worker_cfg, os.path.join(d, "w%d.log" % i), env=ENV)
              for i in range(workers)]
        out = tempfile.mkdtemp(prefix="out-", dir=d)
        body = {"jobName": "bench", "roleArn": "arn:aws:iam::111111111111:role/b",
                "modelId": lib.HAIKU,
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "file://%s/in.jsonl" % d}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://%s/" % out}}}
        t0 = time.time()
        st, err, res = lib.aws_call(srv.base, "POST", "/model-invocation-job", body, key=KEY)
        assert st == 200, (st, err, res)
        job = lib.wait_status(srv.base, res["jobArn"], {"Completed", "Failed"}, key=KEY,
                              timeout=3600)
        secs = time.time() - t0
        assert job["status"] == "Completed" and job["processedRecordCount"] == records, job
        return secs, records / secs
    finally:
        for w in ws:
            w.stop()
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", default=os.path.join(ROOT, "build", "barge"))
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--ttft-ms", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()
    lib.BARGE = os.path.abspath(a.barge)
    d = tempfile.mkdtemp(prefix="barge-workers-bench-")
    pgdir = tempfile.mkdtemp(prefix="barge-workers-pg-")
    url = None
    try:
        url = subprocess.run([os.path.join(ROOT, "tests", "pg.sh"), "start", pgdir], check=True,
                             capture_output=True, text=True).stdout.strip()
        os.environ["BARGE_TEST_PG"] = url
        lib.write_jsonl(os.path.join(d, "in.jsonl"), lib.claude_records(a.records))
        rows = []

        fast = "max_concurrency = 64\n"
        sq = config(d, "sq-fast", "sqlite:%s/sq-fast.db" % d, 2, fast)
        secs, rate = run_job(d, sq, None, 0, a.records)
        rows.append(("store", "SQLite, serve 2 runners, zero latency", secs, rate))
        pg = config(d, "pg-fast", lib.pg_database(), 2, fast)
        secs, rate = run_job(d, pg, None, 0, a.records)
        rows.append(("store", "PostgreSQL, serve 2 runners, zero latency", secs, rate))

        slow = "ttft_ms = %d\nmax_concurrency = %d\n" % (a.ttft_ms, a.concurrency)
        sq = config(d, "sq-slow", "sqlite:%s/sq-slow.db" % d, 2, slow)
        secs, base = run_job(d, sq, None, 0, a.records)
        rows.append(("scale", "SQLite, serve 2 runners (baseline)", secs, base))
        for n in (1, 2, 3):
            store = lib.pg_database()
            s = config(d, "pg-serve-%d" % n, store, 0, slow)
            w = config(d, "pg-worker-%d" % n, store, 2, slow)
            secs, rate = run_job(d, s, w, n, a.records)
            rows.append(("scale", "PostgreSQL, serve 0 runners + %d worker%s" %
                         (n, "s" if n > 1 else ""), secs, rate))

        print("%d records of ~300 B; latency case: ttft %d ms, max_concurrency %d per process"
              % (a.records, a.ttft_ms, a.concurrency))
        print("%-6s %-46s %8s %10s %8s" % ("", "setup", "seconds", "records/s", "ratio"))
        for kind, what, secs, rate in rows:
            ref = rows[0][3] if kind == "store" else base
            print("%-6s %-46s %8.2f %10.0f %7.2fx" % (kind, what, secs, rate, rate / ref))
        print(json.dumps([dict(zip(("kind", "setup", "seconds", "records_per_s"), r))
                          for r in rows]))
    finally:
        subprocess.run([os.path.join(ROOT, "tests", "pg.sh"), "stop", pgdir])
        shutil.rmtree(pgdir, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
