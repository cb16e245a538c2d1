// bedrock_sdk.mjs - runs a scenario of Bedrock batch job operations with the
// real AWS SDK (@aws-sdk/client-bedrock) and prints one JSON line per
// operation. The integration tests (tests/integration/test_api_sdk.py) drive it.
//
//   node bedrock_sdk.mjs SCENARIO.json      or      node bedrock_sdk.mjs < SCENARIO.json
//
// A scenario:
//   {"endpoint": "http://127.0.0.1:PORT", "region": "us-east-1",
//    "credentials": {"accessKeyId": "...", "secretAccessKey": "..."},
//    "client": {"maxAttempts": 1, "systemClockOffset": -1200000},   (optional)
//    "operations": [
//      {"op": "CreateModelInvocationJob", "params": {...}},
//      {"op": "GetModelInvocationJob", "params": {"jobIdentifier": {"$ref": "0.jobArn"}},
//       "until": ["Completed", "Failed"], "timeoutMs": 60000},
//      {"op": "ListModelInvocationJobs", "params": {"submitTimeAfter": {"$date": "2026-..."}}},
//      {"op": "paginateListModelInvocationJobs", "pageSize": 3, "params": {...}},
//      {"op": "StopModelInvocationJob", "params": {...}},
//      {"op": "sleep", "ms": 1100}]}
//
// An operation may carry its own "credentials" and "client" (another account,
// a skewed clock). In params, {"$date": ISO} becomes a Date and {"$ref": "N.path"}
// the value at path in operation N's response.
//
// Each output line is {"op", "ok": true, "response", "dates", "metadata"} or
// {"op", "ok": false, "error": {"name", "httpStatusCode", "message", "fault",
// "clockSkewCorrected", "attempts"}}. Dates in a response are printed as ISO
// strings and their paths listed in "dates", so that the tests can tell that
// the SDK parsed them into Date objects. A Get with "until" polls until the
// status is one of those and adds "polls" and "statuses" (each status seen, in order).
import { readFileSync } from "node:fs";
import {
  BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  ListModelInvocationJobsCommand,
  StopModelInvocationJobCommand,
  paginateListModelInvocationJobs,
} from "@aws-sdk/client-bedrock";

const COMMANDS = {
  CreateModelInvocationJob: CreateModelInvocationJobCommand,
  GetModelInvocationJob: GetModelInvocationJobCommand,
  ListModelInvocationJobs: ListModelInvocationJobsCommand,
  StopModelInvocationJob: StopModelInvocationJobCommand,
};

function makeClient(scenario, op) {
  return new BedrockClient({
    endpoint: scenario.endpoint,
    region: scenario.region ?? "us-east-1",
    credentials: op.credentials ?? scenario.credentials,
    ...scenario.client,
    ...op.client,
  });
}

// plain turns a response into JSON-able data: Dates become ISO strings and
// their paths are collected in dates.
function plain(value, path, dates) {
  if (value instanceof Date) {
    dates.push(path);
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (Array.isArray(value)) return value.map((v, i) => plain(v, `${path}[${i}]`, dates));
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v, path ? `${path}.${k}` : k, dates);
    return out;
  }
  return value;
}

function at(results, ref) {
  const [index, ...keys] = ref.split(".");
  let v = results[Number(index)]?.response;
  for (const k of keys) v = v?.[k];
  if (v === undefined) throw new Error(`$ref ${ref}: no such value`);
  return v;
}

// resolve replaces {"$date": ...} and {"$ref": ...} in params.
function resolve(value, results) {
  if (Array.isArray(value)) return value.map((v) => resolve(v, results));
  if (value && typeof value === "object") {
    if ("$date" in value) return new Date(value.$date);
    if ("$ref" in value) return at(results, value.$ref);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, results)]));
  }
  return value;
}

function success(op, response) {
  const { $metadata, ...fields } = response;
  const dates = [];
  return { op: op.op, ok: true, response: plain(fields, "", dates), dates, metadata: $metadata };
}

function failure(op, err) {
  const m = err.$metadata ?? {};
  return {
    op: op.op,
    ok: false,
    error: {
      name: err.name,
      httpStatusCode: m.httpStatusCode ?? err.$response?.statusCode,
      message: err.message,
      fault: err.$fault,
      clockSkewCorrected: m.clockSkewCorrected ?? false,
      attempts: m.attempts,
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function poll(client, op, params) {
  const deadline = Date.now() + (op.timeoutMs ?? 60000);
  const statuses = [];
  for (let polls = 1; ; polls++) {
    const res = await client.send(new GetModelInvocationJobCommand(params));
    if (statuses.at(-1) !== res.status) statuses.push(res.status);
    if (op.until.includes(res.status) || Date.now() > deadline) {
      return { ...success(op, res), polls, statuses };
    }
    await sleep(op.intervalMs ?? 100);
  }
}

async function run(scenario, op, results) {
  if (op.op === "sleep") {
    await sleep(op.ms);
    return { op: "sleep", ok: true };
  }
  const client = makeClient(scenario, op);
  const params = resolve(op.params ?? {}, results);
  try {
    if (op.op === "paginateListModelInvocationJobs") {
      const pages = [];
      for await (const page of paginateListModelInvocationJobs({ client, pageSize: op.pageSize }, params)) {
        pages.push(success(op, page).response);
      }
      return { op: op.op, ok: true, pages };
    }
    if (op.op === "GetModelInvocationJob" && op.until) return await poll(client, op, params);
    const Command = COMMANDS[op.op];
    if (!Command) throw new Error(`unknown operation ${op.op}`);
    return success(op, await client.send(new Command(params)));
  } catch (err) {
    return failure(op, err);
  } finally {
    client.destroy();
  }
}

const scenario = JSON.parse(readFileSync(process.argv[2] ?? 0, "utf8"));
const results = [];
for (const op of scenario.operations) {
  const result = await run(scenario, op, results);
  results.push(result);
  console.log(JSON.stringify(result));
}
