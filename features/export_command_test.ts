import assert from "node:assert/strict";
import { join } from "node:path";
import { expandInputs, FileReader } from "../producer/file_reader.ts";
import { newTransaction, type Transaction } from "../transactions/transaction.ts";
import { BruteForceOracle } from "./brute_force_oracle.ts";
import { command, exportFeatures } from "./export_command.ts";
import { dayOf, FeatureEngine } from "./feature_engine.ts";
import { DEFAULT_LABEL_DELAY_MS, FEATURE_COUNT, FEATURE_NAMES } from "./feature_list.ts";
import { readFeatureMatrix } from "./feature_matrix.ts";

const DAY = 86_400_000;

/** A small generated data set (with the generator's default dirt), shared by the tests below. */
const dir = await Deno.makeTempDir({ prefix: "fraudstream-features-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const generated = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("../main.ts", import.meta.url).pathname,
    "generate",
    "--out",
    join(dir, "data"),
    "--customers",
    "300",
    "--terminals",
    "600",
    "--days",
    "45",
    "--seed",
    "11",
  ],
  stdout: "null",
}).output();
assert.equal(generated.code, 0, new TextDecoder().decode(generated.stderr));
const files = await expandInputs([join(dir, "data")]);

async function readAll(): Promise<Transaction[]> {
  const rows: Transaction[] = [];
  for await (const batch of new FileReader(files).batches()) {
    for (let i = 0; i < batch.count; i++) {
      if (batch.reason[i] === null) rows.push(batch.get(i, newTransaction()));
    }
  }
  return rows;
}

const history = await readAll();
const matrixPath = join(dir, "matrix.bin");
const summary = await exportFeatures(files, {
  out: matrixPath,
  format: "bin",
  labelDelayMs: DEFAULT_LABEL_DELAY_MS,
});
const matrix = await readFeatureMatrix(matrixPath);

function matrixRow(i: number): number[] {
  return Array.from(matrix.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
}

Deno.test("the generated files are in event-time order, so export rows follow file rows", () => {
  assert.equal(summary.outOfOrder, 0);
  assert.equal(matrix.header.rows, history.length);
  assert.ok(history.length > 20_000, `${history.length} rows`);
  for (let i = 0; i < history.length; i++) {
    assert.equal(matrix.meta[i].transactionId, history[i].transactionId);
    assert.equal(matrix.meta[i].eventTimeMs, history[i].eventTimeMs);
    assert.equal(matrix.meta[i].fraud, history[i].fraud);
  }
});

Deno.test("exported features equal the brute-force definition on generated data", () => {
  const oracle = new BruteForceOracle(history, DEFAULT_LABEL_DELAY_MS);
  for (let i = 0; i < history.length; i++) {
    assert.deepEqual(matrixRow(i), oracle.features(i), `row ${i}`);
  }
});

Deno.test("two agents splitting the customers, fed labels day by day, equal the export", () => {
  // Online: each agent owns half of the customers (partitions), and every agent reads all labels
  // from the labels topic, here delivered in day-sized lumps as late as the windows allow.
  const agents = [new FeatureEngine(), new FeatureEngine()];
  const out = new Float32Array(FEATURE_COUNT);
  let delivered = 0;
  for (let i = 0; i < history.length; i++) {
    const tx = history[i];
    const neededBefore = dayOf(tx.eventTimeMs - DEFAULT_LABEL_DELAY_MS) * DAY;
    while (delivered < i && history[delivered].eventTimeMs < neededBefore) {
      const l = history[delivered++];
      for (const a of agents) a.applyLabel(l.terminalId, l.eventTimeMs, l.fraud);
    }
    agents[tx.customerId % 2].process(tx, out, 0);
    assert.deepEqual(Array.from(out), matrixRow(i), `row ${i}`);
  }
});

Deno.test("exporting twice gives byte-identical matrices", async () => {
  const again = join(dir, "again.bin");
  await exportFeatures(files, { out: again, format: "bin", labelDelayMs: DEFAULT_LABEL_DELAY_MS });
  assert.deepEqual(await Deno.readFile(again), await Deno.readFile(matrixPath));
});

Deno.test("the CSV export holds the same values as the binary one", async () => {
  const csvPath = join(dir, "matrix.csv");
  await exportFeatures(files, {
    out: csvPath,
    format: "csv",
    labelDelayMs: DEFAULT_LABEL_DELAY_MS,
  });
  const lines = (await Deno.readTextFile(csvPath)).trimEnd().split("\n");
  assert.deepEqual(lines[0].split(",").slice(6), [...FEATURE_NAMES]);
  assert.equal(lines.length - 1, matrix.header.rows);
  for (let i = 0; i < matrix.header.rows; i += 97) {
    const cells = lines[i + 1].split(",").map(Number);
    assert.equal(cells[0], matrix.meta[i].transactionId);
    assert.deepEqual(Array.from(Float32Array.from(cells.slice(6))), matrixRow(i), `row ${i}`);
  }
});

Deno.test("the command refuses bad usage with one-line errors", async () => {
  await assert.rejects(() => command.main([join(dir, "data")]), /--out FILE is required/);
  await assert.rejects(
    () => command.main(["--out", join(dir, "x.bin"), "--format", "parquet", join(dir, "data")]),
    /expected bin or csv/,
  );
  await assert.rejects(
    () => command.main(["--out", join(dir, "x.bin"), join(dir, "missing")]),
    /no such file or directory/,
  );
  await assert.rejects(
    () => command.main(["--out", join(dir, "no", "such", "dir", "x.bin"), join(dir, "data")]),
    /features: /,
  );
});
