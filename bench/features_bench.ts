/**
 * Feature engine and model throughput: engine rows/s (with label feedback), state bytes per
 * customer and terminal (also at --scale-customers, one transaction each), customer restore and
 * snapshot speed, and ONNX batch scoring rows/s at batch sizes 1, 64, 512 and 4096 with the
 * shipped model.
 *
 *   deno task bench features [--days 30] [--customers 5000] [--terminals 10000] [--repeat 3]
 *                            [--model model/fraud-model.onnx] [--seconds 2]
 *                            [--scale-customers 1000000]
 *
 * Prints figures only; nothing here asserts timings.
 */
import { benchFlags } from "./bench_flags.ts";
import { DEFAULT_MODEL_PATH, loadOnnxModel } from "../agent/onnx_model.ts";
import { FeatureEngine } from "../features/feature_engine.ts";
import { FEATURE_COUNT } from "../features/feature_list.ts";
import { LabelDelaySimulator } from "../features/label_delay_simulator.ts";
import { DataSetGenerator, NO_DIRT } from "../producer/generator.ts";
import { parseCsvRow } from "../transactions/csv_row.ts";
import { RowState } from "../transactions/row_fields.ts";
import { newTransaction, type Transaction } from "../transactions/transaction.ts";

const values = benchFlags({
  days: { type: "string", default: "30" },
  customers: { type: "string", default: "5000" },
  terminals: { type: "string", default: "10000" },
  repeat: { type: "string", default: "3" },
  model: { type: "string", default: DEFAULT_MODEL_PATH },
  seconds: { type: "string", default: "2" },
  "scale-customers": { type: "string", default: "1000000" },
});
const repeat = Number(values.repeat);
const config = {
  customers: Number(values.customers),
  terminals: Number(values.terminals),
  days: Number(values.days),
  startMs: Date.UTC(2018, 3, 1),
  seed: 1,
  dirt: NO_DIRT,
};

console.log(
  `features bench: ${config.customers} customers, ${config.terminals} terminals, ` +
    `${config.days} days, best of ${repeat} (Deno ${Deno.version.deno}, ${Deno.build.target})`,
);

// The generated history, parsed once into Transaction objects so that only the engine is timed.
const history: Transaction[] = [];
{
  const g = new DataSetGenerator(config);
  const st = new RowState(config.startMs);
  for (let d = 0; d < config.days; d++) {
    for (const chunk of g.nextDayChunks()) {
      for (let start = 0; start < chunk.length;) {
        let end = chunk.indexOf(10, start);
        if (end < 0) end = chunk.length;
        const tx = newTransaction();
        if (parseCsvRow(chunk, start, end, tx, st) === null) history.push(tx);
        start = end + 1;
      }
    }
  }
}
const n = history.length;

function best(run: () => void): number {
  let fastest = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    run();
    fastest = Math.min(fastest, performance.now() - t0);
  }
  return fastest;
}

function rate(what: string, rows: number, ms: number, extra = ""): void {
  const perSecond = rows / (ms / 1000);
  const shown = perSecond >= 1e6
    ? `${(perSecond / 1e6).toFixed(2)} M`
    : `${(perSecond / 1e3).toFixed(1)} k`;
  console.log(
    `${what.padEnd(40)} ${shown.padStart(8)} rows/s  (${rows} rows, ${ms.toFixed(0)} ms)${extra}`,
  );
}

const matrix = new Float32Array(n * FEATURE_COUNT);
let engine = new FeatureEngine();
const engineMs = best(() => {
  engine = new FeatureEngine();
  const sim = new LabelDelaySimulator(engine);
  for (let i = 0; i < n; i++) sim.process(history[i], matrix, i * FEATURE_COUNT);
});
rate("engine: process + label feedback", n, engineMs, ` ${(engineMs * 1e6 / n).toFixed(0)} ns/row`);

const counters = engine.counters;
console.log(
  `engine counters: ${counters.outOfOrder} out of order (${counters.tooOld} too old), ` +
    `${counters.saturated} saturated`,
);

const mem = engine.memory();
console.log(
  `state per customer: ${mem.bytesPerCustomerSlot} B per slot; ` +
    `${(mem.customerBytes / mem.customers).toFixed(0)} B measured ` +
    `(${mem.customerBytes} B typed arrays + index / ${mem.customers} customers, incl. spare capacity)`,
);
{
  // At agent scale the fixed minimum allocation no longer dominates: what a large agent pays.
  const customers = Number(values["scale-customers"]);
  const wide = new FeatureEngine();
  const tx = newTransaction();
  tx.eventTimeMs = config.startMs;
  for (let c = 0; c < customers; c++) {
    tx.customerId = c;
    wide.updateCustomer(tx);
  }
  const m = wide.memory();
  console.log(
    `state per customer at ${customers} customers: ` +
      `${(m.customerBytes / m.customers).toFixed(1)} B measured ` +
      `(typed arrays incl. spare capacity + id index)`,
  );
}
console.log(
  `state per terminal: ${mem.bytesPerTerminalSlot} B per slot; ` +
    `${(mem.terminalBytes / mem.terminals).toFixed(0)} B measured ` +
    `(${mem.terminalBytes} B / ${mem.terminals} terminals)`,
);
const perMillion = (mem.bytesPerCustomerSlot * 1e6) / 2 ** 20;
console.log(`=> 1 M customers need ~${perMillion.toFixed(0)} MiB of customer state`);

// Restore after a rebalance: one partition of 8 re-read from the history.
const owned = history.filter((tx) => tx.customerId % 8 === 0);
const restoreMs = best(() => {
  const fresh = new FeatureEngine();
  for (const tx of owned) fresh.updateCustomer(tx);
});
rate(`restore: updateCustomer (1/8 of customers)`, owned.length, restoreMs);

let snapshot: Uint8Array = new Uint8Array(0);
const exportMs = best(() => {
  snapshot = engine.exportCustomers();
});
const importMs = best(() => {
  new FeatureEngine().importCustomers(snapshot);
});
console.log(
  `snapshot: ${mem.customers} customers, ${(snapshot.length / 2 ** 20).toFixed(2)} MiB, ` +
    `export ${exportMs.toFixed(1)} ms, import ${importMs.toFixed(1)} ms`,
);

const model = await loadOnnxModel(values.model, new FeatureEngine());
console.log(`model: ${model.name} ${model.version} (${model.algorithm}), 1 ORT thread`);
const budgetMs = Number(values.seconds) * 1000;
for (const batch of [1, 64, 512, 4096]) {
  const out = new Float32Array(batch);
  // Warm-up run so that session initialisation does not count.
  await model.scoreBatch(matrix, batch, out);
  let rows = 0;
  let checksum = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs) {
    const at = (rows % (n - batch)) * FEATURE_COUNT;
    const b0 = performance.now();
    const scores = await model.scoreBatch(matrix.subarray(at), batch, out);
    latencies.push(performance.now() - b0);
    checksum += scores[0];
    rows += batch;
  }
  const ms = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.floor(q * (latencies.length - 1))].toFixed(3);
  rate(`onnx scoreBatch, batch ${batch}`, rows, ms, ` batch p50 ${p(0.5)} ms, p99 ${p(0.99)} ms`);
  if (!Number.isFinite(checksum)) throw new Error("scores are not numbers");
}
await model.release();
