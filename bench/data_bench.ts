/**
 * Data-side throughput: generator (in memory and to files), file reader (plain and gzip), and
 * the byte-level row parser against a naive string split over the same lines.
 *
 *   deno task bench:data [--days 30] [--customers 5000] [--terminals 10000] [--repeat 3]
 *
 * Prints figures only; nothing here asserts timings.
 */
import { benchFlags } from "./bench_flags.ts";
import { join } from "node:path";
import { DataSetGenerator, DEFAULT_DIRT, type GeneratorConfig } from "../producer/generator.ts";
import { writeDataSet } from "../producer/generate_command.ts";
import { FileReader } from "../producer/file_reader.ts";
import { parseCsvRow } from "../transactions/csv_row.ts";
import { RowState } from "../transactions/row_fields.ts";
import { newTransaction } from "../transactions/transaction.ts";

const values = benchFlags({
  days: { type: "string", default: "30" },
  customers: { type: "string", default: "5000" },
  terminals: { type: "string", default: "10000" },
  repeat: { type: "string", default: "3" },
});
const config: GeneratorConfig = {
  customers: Number(values.customers),
  terminals: Number(values.terminals),
  days: Number(values.days),
  startMs: Date.UTC(2018, 3, 1),
  seed: 1,
  dirt: DEFAULT_DIRT,
};
const repeat = Number(values.repeat);

function report(what: string, rows: number, bytes: number, ms: number): void {
  const perSecond = rows / (ms / 1000);
  console.log(
    `${what.padEnd(34)} ${(perSecond / 1e6).toFixed(2).padStart(6)} M rows/s  ` +
      `${(bytes / 1e6 / (ms / 1000)).toFixed(0).padStart(5)} MB/s  (${rows} rows, ${
        ms.toFixed(0)
      } ms)`,
  );
}

/** Best of `repeat` runs: the figure least disturbed by GC and the machine's other work. */
async function best(
  run: () => Promise<{ rows: number; bytes: number }> | { rows: number; bytes: number },
) {
  let fastest = Infinity;
  let out = { rows: 0, bytes: 0 };
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    out = await run();
    fastest = Math.min(fastest, performance.now() - t0);
  }
  return { ...out, ms: fastest };
}

console.log(
  `data bench: ${config.customers} customers, ${config.terminals} terminals, ${config.days} days, ` +
    `default dirt, best of ${repeat} (Deno ${Deno.version.deno}, ${Deno.build.target})`,
);

const days: Uint8Array[] = [];
const gen = await best(() => {
  const g = new DataSetGenerator(config);
  let bytes = 0;
  days.length = 0;
  for (let d = 0; d < config.days; d++) {
    const chunks = [...g.nextDayChunks()];
    days.push(concat(chunks));
    bytes += chunks.reduce((n, c) => n + c.length, 0);
  }
  return { rows: g.counts.rows, bytes };
});
report("generate (in memory)", gen.rows, gen.bytes, gen.ms);

const dir = await Deno.makeTempDir({ prefix: "fraudstream-bench-" });
try {
  for (const gzip of [false, true]) {
    const out = join(dir, gzip ? "gz" : "plain");
    const written = await best(async () => {
      const g = new DataSetGenerator(config);
      const files = await writeDataSet(g, out, gzip);
      return { rows: g.counts.rows, bytes: files.reduce((n, f) => n + Deno.statSync(f).size, 0) };
    });
    report(`generate to files${gzip ? " (gzip)" : ""}`, written.rows, written.bytes, written.ms);
    const files = [...Deno.readDirSync(out)].map((e) => join(out, e.name)).sort();
    const read = await best(async () => {
      const reader = new FileReader(files);
      let rows = 0;
      for await (const batch of reader.batches()) rows += batch.count;
      return { rows, bytes: reader.stats.bytes };
    });
    report(`read files${gzip ? " (gzip)" : ""}`, read.rows, read.bytes, read.ms);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

// Parser alone over the generated days, already in memory, against a naive string parse.
const sample = concat(days);
const ours = await best(() => {
  const tx = newTransaction();
  const st = new RowState();
  let rows = 0;
  let checksum = 0;
  for (let start = 0; start < sample.length;) {
    let end = sample.indexOf(10, start);
    if (end < 0) end = sample.length;
    if (parseCsvRow(sample, start, end, tx, st) === null) {
      rows++;
      checksum += tx.amount;
    }
    start = end + 1;
  }
  if (checksum === 0) throw new Error("no rows parsed");
  return { rows, bytes: sample.length };
});
report("parse bytes (csv_row.ts)", ours.rows, ours.bytes, ours.ms);

const naive = await best(() => {
  const text = new TextDecoder().decode(sample);
  let rows = 0;
  let checksum = 0;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(",");
    if (f.length !== 9) continue;
    const id = Number(f[0]);
    const time = f[1] === "" ? NaN : Date.parse(f[1].replace(" ", "T") + "Z");
    const customer = Math.abs(Number(f[2]));
    const terminal = f[3] === "" ? 0 : Number(f[3]);
    const amount = Number(f[4]);
    const seconds = Number(f[5]);
    const fraud = Number(f[7]);
    const scenario = Number(f[8]);
    if (
      [id, customer, terminal, amount, seconds, fraud, scenario].some(Number.isNaN) ||
      (Number.isNaN(time) && f[1] !== "")
    ) continue;
    rows++;
    checksum += amount + Math.floor(seconds / 86_400);
  }
  if (checksum === 0) throw new Error("no rows parsed");
  return { rows, bytes: sample.length };
});
report("parse naive (decode + split(','))", naive.rows, naive.bytes, naive.ms);
console.log(
  `parser speed-up over naive split: ${
    (naive.ms / naive.rows / (ours.ms / ours.rows)).toFixed(1)
  }x`,
);

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
