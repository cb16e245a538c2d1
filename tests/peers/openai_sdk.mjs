// openai_sdk.mjs - runs a scenario of file and batch operations with the
// official OpenAI SDK (openai 6.49.0) and prints one JSON line per
// operation. tests/integration/test_api_openai.py drives it.
//
//   node openai_sdk.mjs SCENARIO.json      or      node openai_sdk.mjs < SCENARIO.json
//
// A scenario:
//   {"baseURL": "http://127.0.0.1:PORT/v1", "apiKey": "...",
//    "operations": [
//      {"op": "upload", "path": "/tmp/x.jsonl", "purpose": "batch", "via": "stream"},
//                          via "stream": fs.createReadStream (sent chunked);
//                          via "file": toFile(bytes, filename) (sent with a Content-Length)
//      {"op": "uploadGenerated", "bytes": N, "purpose": "batch", "filename": "big.jsonl"},
//                          N bytes made on the fly and streamed (chunked)
//      {"op": "retrieveFile", "id": ...}, {"op": "deleteFile", "id": ...},
//      {"op": "content", "id": ...},                 the raw bytes, base64
//      {"op": "listFiles", "params": {...}},         the SDK's auto-pagination
//      {"op": "createBatch", "params": {...}},
//      {"op": "retrieveBatch", "id": ..., "until": ["completed", ...],
//       "orCompleted": 5, "timeoutMs": 60000},
//      {"op": "cancelBatch", "id": ...},
//      {"op": "listBatches", "params": {"limit": 2}}, one page, as the server sent it
//      {"op": "listAllBatches", "params": {"limit": 2}}, the SDK's auto-pagination
//      {"op": "sleep", "ms": 1000}]}
//
// An operation may carry its own "apiKey" (another account, a wrong key). An
// id, or any value in params, {"$ref": "N.path"} is the value at path in
// operation N's response.
//
// Each output line is {"op", "ok": true, "at", "response", "sent"} or
// {"op", "ok": false, "error": {"class", "status", "type", "code", "param",
// "body", "message", "cause", "is"}, "sent"}. "at" is the unix second the
// operation began. "body" is the error object the server sent (the value
// of its "error" member); "is" lists the SDK error classes the error is an
// instance of. "sent" lists the HTTP requests the SDK made
// for the operation: {method, url, auth, body}, where auth is the bearer
// token sent (null without one) and body the kind of request body handed
// to fetch ("none", "json", "form" (a FormData: undici sends a
// Content-Length) or "stream" (a ReadableStream: sent chunked)).
// A retrieveBatch with "until" polls until the status is one of those (or,
// with "orCompleted", until request_counts.completed reaches that while
// the batch is in progress) and adds "polls" and "seen" (each distinct
// [status, request_counts] observed, in order). listAll*'s response is
// {"items": [...], "pages": [{"ids", "has_more", "first_id", "last_id"}]};
// content's is {"base64", "length", "contentType"}.
import { createReadStream, readFileSync } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import * as sdk from "openai";

const OpenAI = sdk.default;
const scenario = JSON.parse(readFileSync(process.argv[2] ?? 0, "utf8"));

const ERROR_CLASSES = [
  "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
  "ConflictError", "UnprocessableEntityError", "RateLimitError", "InternalServerError",
  "APIConnectionError", "APIError", "OpenAIError",
];

let sent = [];

function bodyKind(body) {
  if (body === undefined || body === null) return "none";
  if (typeof body === "string") return "json";
  if (body instanceof FormData) return "form";
  if (typeof body.getReader === "function") return "stream";
  return Object.prototype.toString.call(body);
}

async function recordingFetch(url, init = {}) {
  // The SDK probes its fetch's FormData support with a data: URL.
  if (String(url).startsWith("data:")) return fetch(url, init);
  const h = new Headers(init.headers ?? {});
  const auth = h.get("authorization");
  sent.push({
    method: init.method ?? "GET",
    url: String(url),
    auth: auth && auth.startsWith("Bearer ") ? auth.slice(7) : auth,
    body: bodyKind(init.body),
  });
  return fetch(url, init);
}

function makeClient(op) {
  return new OpenAI({
    apiKey: op.apiKey ?? scenario.apiKey,
    baseURL: scenario.baseURL,
    maxRetries: 0,
    timeout: 300000,
    fetch: recordingFetch,
  });
}

function at(results, ref) {
  const [index, ...keys] = ref.split(".");
  const r = results[Number(index)];
  if (r && !r.ok) throw new Error(`$ref ${ref}: operation ${index} failed: ${r.error?.message}`);
  let v = r?.response;
  for (const k of keys) v = v?.[k];
  if (v === undefined) throw new Error(`$ref ${ref}: no such value`);
  return v;
}

function resolve(value, results) {
  if (Array.isArray(value)) return value.map((v) => resolve(v, results));
  if (value && typeof value === "object") {
    if ("$ref" in value) return at(results, value.$ref);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, results)]));
  }
  return value;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const plain = (v) => JSON.parse(JSON.stringify(v));

function failure(op, err) {
  return {
    op: op.op,
    ok: false,
    error: {
      class: err?.constructor?.name ?? null,
      status: err?.status ?? null,
      type: err?.type ?? null,
      code: err?.code ?? null,
      param: err?.param ?? null,
      body: err?.error ?? null,
      message: err?.message ?? String(err),
      cause: err?.cause ? String(err.cause) : null,
      is: ERROR_CLASSES.filter((n) => sdk[n] && err instanceof sdk[n]),
    },
  };
}

// generated yields n bytes of JSON lines (n >= 100), about 1 MiB at a
// time: the same line over and over, the first padded with spaces so that
// the total is exactly n.
async function* generated(n) {
  const line = Buffer.from(`{"custom_id":"filler","method":"POST","url":"/v1/chat/completions","body":{}}\n`);
  const lines = Math.floor(n / line.length);
  const pad = n - lines * line.length;
  yield Buffer.concat([line.subarray(0, line.length - 1), Buffer.alloc(pad, " "), Buffer.from("\n")]);
  const per = Math.floor((1 << 20) / line.length);
  const block = Buffer.alloc(per * line.length);
  for (let i = 0; i < per; i++) line.copy(block, i * line.length);
  for (let left = lines - 1; left > 0; left -= per) {
    yield block.subarray(0, Math.min(left, per) * line.length);
  }
}

async function poll(client, op, id) {
  const deadline = Date.now() + (op.timeoutMs ?? 60000);
  const seen = [];
  for (let polls = 1; ; polls++) {
    const b = await client.batches.retrieve(id);
    const state = JSON.stringify([b.status, b.request_counts]);
    if (JSON.stringify(seen.at(-1)) !== state) seen.push(JSON.parse(state));
    const enough = op.orCompleted !== undefined && b.status === "in_progress" &&
      (b.request_counts?.completed ?? 0) >= op.orCompleted;
    if (op.until.includes(b.status) || enough || Date.now() > deadline) {
      return { response: plain(b), polls, seen };
    }
    await sleep(op.intervalMs ?? 100);
  }
}

async function listAll(list, params) {
  const items = [];
  for await (const x of list(params)) items.push(plain(x));
  const pages = [];
  for await (const page of (await list(params)).iterPages()) {
    pages.push({ ids: page.data.map((x) => x.id), has_more: page.has_more,
                 first_id: page.body?.first_id, last_id: page.body?.last_id });
  }
  return { response: { items, pages } };
}

async function perform(client, op, results) {
  const id = resolve(op.id, results);
  const params = resolve(op.params ?? {}, results);
  switch (op.op) {
    case "upload": {
      const file = op.via === "file"
        ? await sdk.toFile(readFileSync(op.path), op.filename ?? basename(op.path))
        : createReadStream(op.path);
      return { response: plain(await client.files.create({ file, purpose: op.purpose ?? "batch" })) };
    }
    case "uploadGenerated": {
      const file = sdk.toStreamingFile(Readable.from(generated(op.bytes)),
                                       op.filename ?? "generated.jsonl");
      return { response: plain(await client.files.create({ file, purpose: op.purpose ?? "batch" })) };
    }
    case "retrieveFile":
      return { response: plain(await client.files.retrieve(id)) };
    case "deleteFile":
      return { response: plain(await client.files.delete(id)) };
    case "content": {
      const res = await client.files.content(id);
      const bytes = Buffer.from(await res.arrayBuffer());
      return { response: { base64: bytes.toString("base64"), length: bytes.length,
                           contentType: res.headers.get("content-type") } };
    }
    case "listFiles":
      return listAll((p) => client.files.list(p), params);
    case "createBatch":
      return { response: plain(await client.batches.create(params)) };
    case "retrieveBatch":
      if (op.until) return poll(client, op, id);
      return { response: plain(await client.batches.retrieve(id)) };
    case "cancelBatch":
      return { response: plain(await client.batches.cancel(id)) };
    case "listBatches": {
      const page = await client.batches.list(params);
      return { response: plain({ data: page.data, has_more: page.has_more,
                                 first_id: page.body?.first_id, last_id: page.body?.last_id,
                                 object: page.body?.object }) };
    }
    case "listAllBatches":
      return listAll((p) => client.batches.list(p), params);
    default:
      throw new Error(`unknown operation ${op.op}`);
  }
}

async function run(op, results) {
  if (op.op === "sleep") {
    await sleep(op.ms);
    return { op: "sleep", ok: true };
  }
  sent = [];
  const client = makeClient(op);
  try {
    const at = Math.floor(Date.now() / 1000);
    return { op: op.op, ok: true, at, ...(await perform(client, op, results)), sent };
  } catch (err) {
    return { ...failure(op, err), sent };
  }
}

const results = [];
for (const op of scenario.operations) {
  const result = await run(op, results);
  results.push(result);
  console.log(JSON.stringify(result));
}
