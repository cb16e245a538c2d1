#!/usr/bin/python3
"""sigv4_oracle.py - signs requests with Debian's python3-botocore so that
test_sigv4_oracle can compare barge's C signer against it.

Reads a JSON array of cases on stdin; every string that may hold arbitrary
bytes (path, query, header names and values, payload) is hex-encoded. Each
case:

  {"service": "bedrock", "region": "us-east-1", "method": "POST",
   "path": hex, "query": hex, "headers": [[hex name, hex value], ...],
   "payload": hex, "unsigned": false, "akid": "...", "secret": "...",
   "token": "..." or null, "time_ms": 1440938160000}

The path and query are as sent on the request line. Writes one JSON object
per line: {"i": n, "authorization": "...", "headers": [[name, value], ...],
"canonical_request": "..."} with every header botocore's request carries
after signing, or {"i": n, "error": "..."}.

The query is handed to botocore as decoded parameters, since botocore only
re-encodes parameters (a query left in the URL is signed as it stands).
Non-S3 requests get an X-Amz-Content-SHA256 header before signing, because
barge always sends and signs one and SigV4Auth then uses its value.
"""
import datetime
import hashlib
import json
import sys

try:
    from unittest import mock

    import botocore.auth
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
except ImportError as exc:
    print("sigv4_oracle: botocore is not importable by %s (%s); install it with: "
          "apt-get install -y python3-botocore" % (sys.executable, exc))
    sys.exit(3)
from urllib.parse import unquote_to_bytes


def unhex(s):
    return bytes.fromhex(s)


def text(b):
    # Paths, queries and headers are generated as UTF-8; botocore works on str.
    return b.decode("utf-8")


def fixed_clock(ms):
    """A datetime class whose utcnow() is the case's signing time."""
    when = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=ms // 1000)

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return cls(when.year, when.month, when.day, when.hour, when.minute, when.second)

    return Fixed


def query_params(raw):
    params = []
    for piece in raw.split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        params.append((text(unquote_to_bytes(k)), text(unquote_to_bytes(v))))
    return params


def sign(case):
    headers = [(text(unhex(n)), text(unhex(v))) for n, v in case["headers"]]
    host = next(v for n, v in headers if n.lower() == "host")
    payload = unhex(case["payload"])
    s3 = case["service"] == "s3"
    # botocore signs S3 bodies only over http unless told otherwise, and
    # leaves them unsigned over https only when configured to.
    scheme = "https" if case["unsigned"] else "http"
    req = AWSRequest(method=case["method"], url=scheme + "://" + host + text(unhex(case["path"])),
                     data=payload)
    for n, v in headers:
        req.headers[n] = v
    params = query_params(text(unhex(case["query"])))
    if params:
        req.params = params
    creds = Credentials(case["akid"], case["secret"], case["token"])
    if s3:
        auth = S3SigV4Auth(creds, "s3", case["region"])
        if case["unsigned"]:
            req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    else:
        auth = SigV4Auth(creds, case["service"], case["region"])
        if "X-Amz-Content-SHA256" not in req.headers:
            req.headers["X-Amz-Content-SHA256"] = (
                "UNSIGNED-PAYLOAD" if case["unsigned"] else hashlib.sha256(payload).hexdigest())
    with mock.patch.object(botocore.auth.datetime, "datetime", fixed_clock(case["time_ms"])):
        auth.add_auth(req)
    out = {"authorization": req.headers["Authorization"],
           "headers": [[n, v] for n, v in req.headers.items()]}
    del req.headers["Authorization"]
    out["canonical_request"] = auth.canonical_request(req)
    return out


def main():
    cases = json.load(sys.stdin)
    for i, case in enumerate(cases):
        try:
            out = sign(case)
        except Exception as exc:  # report and go on: the C side names the case
            out = {"error": "%s: %s" % (type(exc).__name__, exc)}
        out["i"] = i
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
