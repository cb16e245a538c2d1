// s3_sdk.mjs - the real AWS SDK for JavaScript (@aws-sdk/client-s3) as an
// independent S3 client for barge's S3 tests (tests/integration/test_s3.py):
// it uploads inputs, reads outputs back and lists what a job left behind.
//
//   node s3_sdk.mjs < SCENARIO.json
//
// A scenario:
//   {"endpoint": "http://127.0.0.1:PORT", "bucket": "NAME",
//    "credentials": {"accessKeyId": "S3RVER", "secretAccessKey": "S3RVER"},  (optional)
//    "operations": [
//      {"op": "put", "key": "in/a b.jsonl", "file": "/path/to/local"},
//      {"op": "get", "key": "out/J/a b.jsonl.out", "file": "/path/to/write"},
//      {"op": "head", "key": "..."},
//      {"op": "list", "prefix": "out/"}]}
//
// One JSON line is printed per operation: {"op", "ok": true, ...} with
// "size"/"etag" (put, get, head) or "objects": [{"key", "size", "etag"}]
// (list, every page); or {"op", "ok": false, "error": {"name", "message"}}.
import { createWriteStream, readFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";

const scenario = JSON.parse(readFileSync(0, "utf8"));
const client = new S3Client({
  endpoint: scenario.endpoint,
  region: scenario.region || "us-east-1",
  forcePathStyle: true,
  credentials: scenario.credentials || { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  maxAttempts: 3,
});
const Bucket = scenario.bucket;
// The SDK sends bucket-level requests as "/bucket/"; s3rver signs them as
// "/bucket" and so refuses them. Dropping the slash before signing is what
// real S3 accepts as well.
client.middlewareStack.add(
  (next) => async (args) => {
    const p = args.request.path;
    if (p && /^\/[^/]+\/$/.test(p)) args.request.path = p.slice(0, -1);
    return next(args);
  },
  { step: "build", name: "bucketPathWithoutSlash" },
);

async function run(o) {
  switch (o.op) {
    case "put": {
      const body = readFileSync(o.file);
      const r = await client.send(new PutObjectCommand({ Bucket, Key: o.key, Body: body }));
      return { size: body.length, etag: r.ETag };
    }
    case "get": {
      const r = await client.send(new GetObjectCommand({ Bucket, Key: o.key }));
      await pipeline(r.Body, createWriteStream(o.file));
      return { size: r.ContentLength, etag: r.ETag };
    }
    case "head": {
      const r = await client.send(new HeadObjectCommand({ Bucket, Key: o.key }));
      return { size: r.ContentLength, etag: r.ETag };
    }
    case "list": {
      const objects = [];
      for await (const page of paginateListObjectsV2({ client, pageSize: o.pageSize || 1000 },
                                                     { Bucket, Prefix: o.prefix || "" })) {
        for (const c of page.Contents || [])
          objects.push({ key: c.Key, size: c.Size, etag: c.ETag });
      }
      return { objects };
    }
    default:
      throw new Error("unknown op " + o.op);
  }
}

for (const o of scenario.operations) {
  try {
    const r = await run(o);
    console.log(JSON.stringify({ op: o.op, ok: true, ...r }));
  } catch (err) {
    console.log(JSON.stringify({ op: o.op, ok: false,
                                 error: { name: err.name, message: err.message } }));
  }
}
