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

Deno.test("rows late for their customer are counted in the export's summary and header", async () => {
  // Files overlapping in time: the second one goes back to a day still in customer 1's window
  // (May 9) and to one that left it (April 6), while customer 2 is in order.
  const overlap = join(dir, "overlap");
  await Deno.mkdir(overlap);
  const line = (id: number, date: string, customer: number, amount: string) => {
    const ms = Date.parse(date.replace(" ", "T") + "Z") - Date.UTC(2018, 3, 1);
    const seconds = ms / 1000;
    return `${id},${date},${customer},7,${amount},${seconds},${Math.floor(seconds / 86400)},0,0`;
  };
  const header = "# tranaction_id | tx_datetime | customer_id | terminal_id | tx_amount | " +
    "tx_time_seconds | tx_time_days | tx_fraud | tx_fraud_scenario";
  await Deno.writeTextFile(
    join(overlap, "a.txt"),
    [header, line(1, "2018-05-11 10:00:00", 1, "10.00")].join("\n") + "\n",
  );
  await Deno.writeTextFile(
    join(overlap, "b.txt"),
    [
      header,
      line(2, "2018-04-06 10:00:00", 1, "20.00"),
      line(3, "2018-05-09 10:00:00", 1, "30.00"),
      line(4, "2018-05-12 10:00:00", 2, "40.00"),
    ].join("\n") + "\n",
  );
  const out = join(overlap, "m.bin");
  const result = await exportFeatures(await expandInputs([overlap]), {
    out,
    format: "bin",
    labelDelayMs: DEFAULT_LABEL_DELAY_MS,
  });
  const expected = { outOfOrder: 2, tooOld: 1, saturated: 0 };
  assert.equal(result.header.rows, 4);
  assert.deepEqual(result.engine, expected);
  assert.deepEqual((await readFeatureMatrix(out)).header.source.engine, expected);
  assert.deepEqual(summary.engine, { outOfOrder: 0, tooOld: 0, saturated: 0 });
});

Deno.test("rows dated 2100 or 1970 are skipped and counted, and change no other row", async () => {
  const hostile = join(dir, "hostile");
  await Deno.mkdir(hostile);
  const good = Deno.readTextFileSync(files[1]).trimEnd().split("\n");
  const rows = good.filter((l) => /^\d+,2018-/.test(l));
  const lines = [
    ...good.slice(0, 3),
    rows[0].replace(/,2018-/, ",2100-"),
    ...good.slice(3, 6),
    rows[1].replace(/,2018-/, ",1970-"),
    ...good.slice(6),
  ];
  await Deno.writeTextFile(join(hostile, "with.txt"), lines.join("\n") + "\n");
  await Deno.writeTextFile(join(hostile, "without.txt"), good.join("\n") + "\n");
  const exported = async (name: string) => {
    const out = join(hostile, `${name}.bin`);
    const result = await exportFeatures([join(hostile, `${name}.txt`)], {
      out,
      format: "bin",
      labelDelayMs: DEFAULT_LABEL_DELAY_MS,
    });
    return { result, matrix: await readFeatureMatrix(out) };
  };
  const withHostile = await exported("with");
  const without = await exported("without");
  assert.equal(withHostile.result.reader.rejectedBy.implausible_time, 2);
  assert.equal(without.result.reader.rejectedBy.implausible_time, 0);
  assert.equal(withHostile.result.header.rows, without.result.header.rows);
  assert.deepEqual(withHostile.matrix.features, without.matrix.features);
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
