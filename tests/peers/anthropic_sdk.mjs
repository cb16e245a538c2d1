// anthropic_sdk.mjs - runs a scenario of Message Batches operations with the
// official Anthropic SDK (@anthropic-ai/sdk, installed as the npm aliases
// anthropic-sdk-1 = 1.14.0 and anthropic-sdk-0 = 0.137.0) and prints one JSON
// line per operation. tests/integration/test_api_anthropic.py drives it.
//
//   node anthropic_sdk.mjs SCENARIO.json      or      node anthropic_sdk.mjs < SCENARIO.json
//
// A scenario:
//   {"sdk": "anthropic-sdk-1", "baseURL": "http://127.0.0.1:PORT", "apiKey": "...",
//    "operations": [
//      {"op": "create", "params": {"requests": [...]}},
//      {"op": "retrieve", "id": {"$ref": "0.id"}},
//      {"op": "retrieve", "id": "msgbatch_...", "until": ["ended"], "timeoutMs": 60000},
//      {"op": "list", "params": {"limit": 2}},          one page, as the server sent it
//      {"op": "listAll", "params": {"limit": 2}},       the SDK's auto-pagination
//      {"op": "cancel", "id": ...}, {"op": "delete", "id": ...},
//      {"op": "results", "id": ...},                    the SDK's JSONL decoder
//      {"op": "results", "id": ..., "summary": true},   only custom_ids and result types
//      {"op": "sleep", "ms": 1000}]}
//
// An operation may carry its own "apiKey" (another account, a wrong key). An
// id {"$ref": "N.path"} is the value at path in operation N's response.
//
// Each output line is {"op", "ok": true, "response", "sent"} or
// {"op", "ok": false, "error": {"class", "status", "type", "body", "message",
// "apiMessage", "is"}, "sent"}. "sent" lists the HTTP requests the SDK made
// for the operation ({method, url, auth}: auth is "bearer", "x-api-key",
// "both" or "none"); "is" lists the SDK error classes the error is an
// instance of. A retrieve with "until" polls until the status is one of those
// and adds "polls" and "seen" (each distinct [processing_status,
// request_counts] observed, in order). listAll's response is {"items": [...],
// "pages": [{"ids", "has_more", "first_id", "last_id"}]}; results' is the list
// of decoded lines, or with "summary" {"custom_ids": [...], "types": {type: count}}.
import { readFileSync } from "node:fs";

const scenario = JSON.parse(readFileSync(process.argv[2] ?? 0, "utf8"));
const sdk = await import(scenario.sdk);
const Anthropic = sdk.default;

const ERROR_CLASSES = [
  "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
  "ConflictError", "UnprocessableEntityError", "RateLimitError", "InternalServerError",
  "APIConnectionError", "APIError", "AnthropicError",
];

let sent = [];

async function recordingFetch(url, init = {}) {
  const h = new Headers(init.headers ?? {});
  const bearer = (h.get("authorization") ?? "").startsWith("Bearer ");
  const xkey = h.has("x-api-key");
  sent.push({
    method: init.method ?? "GET",
    url: String(url),
    auth: bearer && xkey ? "both" : bearer ? "bearer" : xkey ? "x-api-key" : "none",
    version: h.get("anthropic-version"),
  });
  return fetch(url, init);
}

function makeClient(op) {
  return new Anthropic({
    apiKey: op.apiKey ?? scenario.apiKey,
    baseURL: scenario.baseURL,
    maxRetries: 0,
    timeout: 120000,
    fetch: recordingFetch,
    ...scenario.client,
  });
}

function at(results, ref) {
  const [index, ...keys] = ref.split(".");
  let v = results[Number(index)]?.response;
  for (const k of keys) v = v?.[k];
  if (v === undefined) throw new Error(`$ref ${ref}: no such value`);
  return v;
}

const resolve = (v, results) => (v && typeof v === "object" && "$ref" in v ? at(results, v.$ref) : v);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const plain = (v) => JSON.parse(JSON.stringify(v));

function failure(op, err) {
  return {
    op: op.op,
    ok: false,
    error: {
      class: err?.constructor?.name ?? null,
      status: err?.status ?? null,
      type: err?.type ?? err?.error?.error?.type ?? null,
      body: err?.error ?? null,
      message: err?.message ?? String(err),
      apiMessage: err?.error?.error?.message ?? null,
      is: ERROR_CLASSES.filter((n) => sdk[n] && err instanceof sdk[n]),
    },
  };
}

async function poll(batches, op, id) {
  const deadline = Date.now() + (op.timeoutMs ?? 60000);
  const seen = [];
  for (let polls = 1; ; polls++) {
    const b = await batches.retrieve(id);
    const state = JSON.stringify([b.processing_status, b.request_counts]);
    if (JSON.stringify(seen.at(-1)) !== state) seen.push(JSON.parse(state));
    if (op.until.includes(b.processing_status) || Date.now() > deadline) {
      return { response: plain(b), polls, seen };
    }
    await sleep(op.intervalMs ?? 100);
  }
}

async function perform(batches, op, results) {
  const id = resolve(op.id, results);
  switch (op.op) {
    case "create":
      return { response: plain(await batches.create(op.params)) };
    case "retrieve":
      if (op.until) return poll(batches, op, id);
      return { response: plain(await batches.retrieve(id)) };
    case "list": {
      const page = await batches.list(op.params ?? {});
      return {
        response: plain({ data: page.data, has_more: page.has_more, first_id: page.first_id,
                          last_id: page.last_id }),
      };
    }
    case "listAll": {
      const items = [];
      for await (const b of batches.list(op.params ?? {})) items.push(plain(b));
      const pages = [];
      for await (const page of (await batches.list(op.params ?? {})).iterPages()) {
        pages.push({ ids: page.data.map((b) => b.id), has_more: page.has_more,
                     first_id: page.first_id, last_id: page.last_id });
      }
      return { response: { items, pages } };
    }
    case "cancel":
      return { response: plain(await batches.cancel(id)) };
    case "delete":
      return { response: plain(await batches.delete(id)) };
    case "results": {
      const lines = [];
      const summary = { custom_ids: [], types: {} };
      for await (const line of await batches.results(id)) {
        if (!op.summary) {
          lines.push(plain(line));
          continue;
        }
        summary.custom_ids.push(line.custom_id);
        summary.types[line.result?.type] = (summary.types[line.result?.type] ?? 0) + 1;
      }
      return { response: op.summary ? summary : lines };
    }
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
  const batches = makeClient(op).messages.batches;
  try {
    return { op: op.op, ok: true, ...(await perform(batches, op, results)), sent };
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
