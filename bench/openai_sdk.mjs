// openai_sdk.mjs - the baseline of bench/overhead.py: the same batch as
// `barge run`, sent with the official openai Node SDK at a fixed
// concurrency, writing the same JSONL of results.
//
//   node bench/openai_sdk.mjs INPUT.jsonl OUTPUT.jsonl BASE_URL CONCURRENCY
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/peers/package.json", import.meta.url));
const OpenAI = require("openai").default;

const [input, output, baseURL, conc] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "bench", maxRetries: 4 });
const out = createWriteStream(output);
const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
const it = lines[Symbol.asyncIterator]();

async function worker() {
  for (;;) {
    const { value, done } = await it.next();
    if (done) return;
    if (!value.trim()) continue;
    const rec = JSON.parse(value);
    let line;
    try {
      const res = await client.chat.completions.create(rec.modelInput);
      line = { recordId: rec.recordId, modelInput: rec.modelInput, modelOutput: res };
    } catch (e) {
      line = { recordId: rec.recordId, modelInput: rec.modelInput,
               error: { errorCode: e.status ?? 500, errorMessage: String(e.message) } };
    }
    out.write(JSON.stringify(line) + "\n");
  }
}

await Promise.all(Array.from({ length: Number(conc) }, worker));
await new Promise((r) => out.end(r));
