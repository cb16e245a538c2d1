#!/usr/bin/env python3
"""api_latency.py - GetModelInvocationJob latency of barge serve under load,
while jobs run.

Starts barge serve (2 runner threads) with jobs running against the
simulator, then drives GET /model-invocation-job/{id} with wrk (Debian's
wrk) as fast as it goes, with one request pre-signed by Debian's botocore
(a SigV4 signature stays valid for 15 minutes, and the server verifies every
request). Reports requests/s and the latency percentiles wrk measures.

    bench/api_latency.py [--barge build/barge] [--duration 10] [--connections 16 64]
"""
import argparse
import json
import os
import re
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


def signed_headers(url):
    if "/usr/lib/python3/dist-packages" not in sys.path:
        sys.path.append("/usr/lib/python3/dist-packages")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    r = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(*KEY), "bedrock", "us-east-1").add_auth(r)
    return dict(r.headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", default=os.path.join(ROOT, "build", "barge"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    a = ap.parse_args()
    lib.BARGE = os.path.abspath(a.barge)
    d = tempfile.mkdtemp(prefix="barge-apibench-")
    os.makedirs(os.path.join(d, "in"))
    lib.write_jsonl(os.path.join(d, "in", "a.jsonl"), lib.claude_records(20000))
    cfg = lib.write_config(os.path.join(d, "c.ini"), """
[server]
data = %(d)s/data
runners = 2
[account.bench]
account_id = 123456789012
access_key_id = %(k)s
secret_access_key = %(s)s
allowed_uris = file://%(d)s/
max_running_jobs_per_model = 5
[backend.sim]
kind = sim
ttft_ms = 200
max_concurrency = 512
""" % {"d": d, "k": KEY[0], "s": KEY[1]})
    srv = lib.Serve(cfg, os.path.join(d, "serve.log"))
    try:
        arns = []
        for i in range(3):
            st, err, body = lib.aws_call(srv.base, "POST", "/model-invocation-job", {
                "jobName": "bench-%d" % i, "roleArn": "arn:aws:iam::123456789012:role/x",
                "modelId": lib.HAIKU,
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "file://%s/in/a.jsonl" % d}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "file://%s/out/" % d}}},
                key=KEY)
            assert st == 200, (st, err, body)
            arns.append(body["jobArn"])
        lib.wait_status(srv.base, arns[0], {"InProgress"}, key=KEY)
        path = "/model-invocation-job/" + arns[0].rsplit("/", 1)[1]
        hdrs = signed_headers(srv.base + path)
        print("GetModelInvocationJob on barge serve while 3 jobs of 20,000 records run "
              "(2 runner threads, sim at 200 ms)")
        print("%-12s %12s %10s %10s %10s %10s" % ("connections", "requests/s", "p50 ms",
                                                 "p90 ms", "p99 ms", "errors"))
        for conn in a.connections:
            argv = ["wrk", "-t", "2", "-c", str(conn), "-d", "%ds" % a.duration, "--latency"]
            for k, v in hdrs.items():
                argv += ["-H", "%s: %s" % (k, v)]
            out = subprocess.run(argv + [srv.base + path], capture_output=True, text=True).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

            def pct(p):
                m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, out)
                v, unit = float(m.group(1)), m.group(2)
                return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

            errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print("%-12d %12.0f %10.2f %10.2f %10.2f %10s" % (
                conn, rps, pct(50), pct(90), pct(99), errs.group(1) if errs else "0"))
        st, err, job = lib.aws_call(srv.base, "GET", path, key=KEY)
        print("job 1 during the run: %s, %d of %d records" % (
            job["status"], job["processedRecordCount"], job["totalRecordCount"]))
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
