import assert from "node:assert/strict";
import { DAY_MS, FeatureEngine } from "../features/feature_engine.ts";
import { FEATURE_COUNT } from "../features/feature_list.ts";
import { LabelDelaySimulator } from "../features/label_delay_simulator.ts";
import { Rng } from "../producer/prng.ts";
import { newTransaction, type Transaction } from "../transactions/transaction.ts";
import { LabelJoin } from "./label_join.ts";

const T0 = Date.UTC(2018, 3, 1);
const DELAY = 7 * DAY_MS;

/** Transactions in event-time order over `days`, on few terminals so labels matter. */
function history(n: number, days: number, seed: number): Transaction[] {
  const rng = new Rng(seed, 0);
  const rnd = () => rng.uniform();
  return Array.from({ length: n }, () => T0 + Math.floor(rnd() * days * DAY_MS))
    .sort((a, b) => a - b)
    .map((t, i) => ({
      ...newTransaction(),
      transactionId: i,
      eventTimeMs: t,
      customerId: Math.floor(rnd() * 30),
      terminalId: Math.floor(rnd() * 12),
      amount: Math.round(rnd() * 20000) / 100,
      fraud: rnd() < 0.2 ? 1 : 0,
    }));
}

function offline(rows: Transaction[]): Float32Array {
  const sim = new LabelDelaySimulator(new FeatureEngine({ labelDelayMs: DELAY }));
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  rows.forEach((tx, i) => sim.process(tx, out, i * FEATURE_COUNT));
  return out;
}

/**
 * The agent's side: labels and watermarks of two labels partitions reach the join in an order
 * chosen by `labelsAhead` (how many labels the label stream runs ahead of the transactions,
 * within the publisher's contract), and each transaction is scored once the join is ready.
 */
function streamed(rows: Transaction[], labelsAhead: number, seed: number) {
  const rng = new Rng(seed, 1);
  const rnd = () => rng.uniform();
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine);
  join.setPartitions([0, 1]);
  join.setAssigned(new Map(), [0]);
  // The publisher: label i is due once the stream passes its time + delay; after publishing what
  // is due it sends a watermark to both partitions.
  const published: {
    kind: "label" | "watermark";
    partition: number;
    tx?: Transaction;
    at: number;
  }[] = [];
  let next = 0;
  for (const tx of rows) {
    const due = tx.eventTimeMs - DELAY;
    while (next < rows.length && rows[next].eventTimeMs <= due) {
      published.push({
        kind: "label",
        partition: rows[next].terminalId % 2,
        tx: rows[next],
        at: 0,
      });
      next++;
    }
    for (const partition of [0, 1]) published.push({ kind: "watermark", partition, at: due });
  }
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  const labelsComplete: boolean[] = [];
  let read = 0;
  const readOne = () => {
    const r = published[read++];
    if (r.kind === "label") join.addLabel(r.tx!.terminalId, r.tx!.eventTimeMs, r.tx!.fraud);
    else join.setWatermark(r.partition, r.at);
  };
  rows.forEach((tx, i) => {
    // The label consumer reads a random amount, up to `labelsAhead` records ahead...
    const target = Math.min(published.length, Math.floor(rnd() * labelsAhead) + read);
    while (read < target) readOne();
    // ...and the transaction waits until its watermark has been read.
    const cutoff = engine.labelCutoffDay(tx.eventTimeMs);
    while (!join.isReady(join.neededWatermarkMs(cutoff))) readOne();
    engine.process(tx, out, i * FEATURE_COUNT);
    labelsComplete.push(join.exact(cutoff));
    join.scored(0, cutoff);
  });
  return { out, labelsComplete, join };
}

Deno.test("streamed features equal the offline ones however far the labels run ahead", () => {
  const rows = history(3000, 90, 5);
  const expected = offline(rows);
  for (const ahead of [0, 10, 500, 1e9]) {
    const { out, labelsComplete, join } = streamed(rows, ahead, ahead + 1);
    assert.deepEqual(out, expected, `labels up to ${ahead} records ahead`);
    assert.ok(labelsComplete.every(Boolean));
    assert.equal(join.staleScores, 0);
    assert.equal(join.late, 0);
  }
});

Deno.test("the join is ready only once every labels partition's watermark covers the need", async () => {
  const join = new LabelJoin(new FeatureEngine({ labelDelayMs: DELAY }));
  join.setPartitions([0, 1, 2]);
  const need = join.neededWatermarkMs(100);
  assert.equal(need, 100 * DAY_MS - 1);
  assert.equal(join.isReady(need), false);
  const ready = join.whenReady(need, 60_000);
  join.setWatermark(0, need);
  join.setWatermark(1, need + 5);
  assert.equal(join.isReady(need), false, "partition 2 has said nothing yet");
  assert.equal(join.lagMs, Infinity);
  join.setWatermark(2, need);
  assert.equal(join.isReady(need), true);
  await ready;
  assert.equal(join.lagMs, 0);
  // A watermark never moves back.
  join.setWatermark(2, 0);
  assert.equal(join.watermarkMs, need);
});

Deno.test("a wait for a watermark that never comes ends after the timeout", async () => {
  const join = new LabelJoin(new FeatureEngine({ labelDelayMs: DELAY }));
  join.setPartitions([0]);
  const started = performance.now();
  await join.whenReady(join.neededWatermarkMs(10), 50);
  assert.ok(performance.now() - started >= 45);
  assert.equal(join.isReady(join.neededWatermarkMs(10)), false);
});

Deno.test("partitions far apart in event time: the slower one still reads every day it needs", () => {
  const rows = history(4000, 120, 7);
  const expected = offline(rows);
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine);
  join.setPartitions([0]);
  // Every label and the final watermark are there before anything is scored (a backlog).
  for (const l of rows) join.addLabel(l.terminalId, l.eventTimeMs, l.fraud);
  join.setWatermark(0, rows.at(-1)!.eventTimeMs);
  // Two transaction partitions: customers < 15 on 0, the rest on 1; partition 1 is scored in
  // full before partition 0 starts, 120 days apart.
  join.setAssigned(new Map(), [0, 1]);
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  for (const partition of [1, 0]) {
    rows.forEach((tx, i) => {
      if ((tx.customerId < 15 ? 0 : 1) !== partition) return;
      const cutoff = engine.labelCutoffDay(tx.eventTimeMs);
      engine.process(tx, out, i * FEATURE_COUNT);
      assert.ok(join.exact(cutoff), `row ${i}`);
      join.scored(partition, cutoff);
    });
  }
  assert.deepEqual(out, expected);
  // Once both partitions are through, the days nobody reads any more are released: what is left
  // is the last windows (30 days), the release slack (7) and the labels after the last cutoff
  // (the 7-day delay plus that day).
  assert.ok(engine.terminalDaysHeld <= 30 + 7 + 7 + 1, `${engine.terminalDaysHeld} days held`);
});

Deno.test("no leakage: labels of the cutoff day and later never reach a feature", () => {
  const rows = history(800, 40, 9);
  const expected = offline(rows);
  for (let i = 0; i < rows.length; i += 37) {
    const tx = rows[i];
    const engine = new FeatureEngine({ labelDelayMs: DELAY });
    const join = new LabelJoin(engine);
    join.setPartitions([0]);
    const cutoff = engine.labelCutoffDay(tx.eventTimeMs);
    for (let j = 0; j < i; j++) engine.updateCustomer(rows[j]);
    // Every label up to the transaction's own, the true ones before the cutoff day and all the
    // rest marked fraud (the transaction's own label too), applied to the engine before scoring.
    for (let j = 0; j <= i; j++) {
      const l = rows[j];
      join.addLabel(l.terminalId, l.eventTimeMs, l.eventTimeMs < cutoff * DAY_MS ? l.fraud : 1);
    }
    join.addLabel(tx.terminalId, cutoff * DAY_MS, 1);
    join.setWatermark(0, tx.eventTimeMs);
    const out = new Float32Array(FEATURE_COUNT);
    engine.process(tx, out, 0);
    assert.deepEqual(
      out,
      expected.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT),
      `row ${i}`,
    );
  }
});

Deno.test("a transaction whose window days were released is scored stale, and counted", () => {
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine);
  join.setPartitions([0]);
  join.setAssigned(new Map([[0, 100]]), []);
  join.setWatermark(0, 300 * DAY_MS);
  join.scored(0, 200);
  // Partition 5 was not known (it had no backlog when assigned) and turns up far behind.
  assert.equal(join.exact(150), false);
  assert.ok(join.exact(200 - 7), "within the slack the days are still held");
  assert.equal(join.staleScores, 1);
  // Without the watermark a score is stale too, and the gap is recorded.
  assert.equal(join.exact(320), false);
  assert.equal(join.maxStaleGapMs, 320 * DAY_MS - 1 - 300 * DAY_MS);
});

Deno.test("a label at or below the watermark is counted late; one of a released day, dropped", () => {
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine);
  join.setPartitions([0]);
  join.setAssigned(new Map([[0, 10]]), []);
  join.setWatermark(0, 50 * DAY_MS);
  join.addLabel(3, 40 * DAY_MS, 1);
  join.addLabel(3, 60 * DAY_MS, 1);
  assert.equal(join.late, 1);
  join.scored(0, 100);
  join.addLabel(3, 20 * DAY_MS, 1);
  assert.equal(join.dropped, 1);
  assert.equal(join.applied, 2);
});

Deno.test("the feed is held only while many days are held and nobody waits on that partition", () => {
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine, 3);
  join.setPartitions([0, 1]);
  join.setAssigned(new Map(), [0]);
  let reliefs = 0;
  join.onRelief = () => reliefs++;
  for (let d = 0; d < 5; d++) join.addLabel(1, (100 + d) * DAY_MS, 0);
  join.setWatermark(0, 90 * DAY_MS);
  join.setWatermark(1, 120 * DAY_MS);
  assert.equal(join.shouldHold(0), true);
  assert.equal(join.shouldHold(1), true);
  // A transaction needs day 95: partition 0 must keep flowing, partition 1 may stay held.
  void join.whenReady(join.neededWatermarkMs(96), 10);
  assert.equal(join.shouldHold(0), false);
  assert.equal(join.shouldHold(1), true);
  assert.equal(reliefs, 1);
  // The slowest partition moves on: the days before its windows are released.
  join.scored(0, 100 + 2 + 30 + 7);
  assert.equal(engine.terminalDaysHeld, 3);
  assert.equal(join.shouldHold(1), false);
  assert.equal(reliefs, 2);
  join.close();
});

Deno.test("a partition waiting for its watermark keeps the days it will read held", () => {
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine);
  join.setPartitions([0]);
  join.setAssigned(new Map(), []);
  for (let d = 0; d < 100; d++) join.addLabel(1, d * DAY_MS, 0);
  // Partition 3 fetched a chunk from day 20 on and waits; partition 4 races to day 90.
  join.fetched(3, 20);
  join.fetched(4, 20);
  join.scored(4, 90);
  assert.equal(join.exact(20), false, "no watermark yet");
  join.setWatermark(0, 100 * DAY_MS);
  assert.ok(join.exact(20), "its windows were kept while it waited");
  join.scored(3, 95);
  assert.equal(join.exact(20), false, "once both are past, the early days go");
});

Deno.test("rewind: a partition behind the released days is exact once the labels are read again", () => {
  const rows = history(4000, 120, 11);
  const expected = offline(rows);
  const engine = new FeatureEngine({ labelDelayMs: DELAY });
  const join = new LabelJoin(engine);
  join.setPartitions([0]);
  const readLabels = () => {
    for (const l of rows) join.addLabel(l.terminalId, l.eventTimeMs, l.fraud);
    join.setWatermark(0, rows.at(-1)!.eventTimeMs);
  };
  readLabels();
  // Partition 1 (customers >= 15) is scored to the end and releases the days behind it; then
  // partition 0 is handed over from its first row.
  join.setAssigned(new Map(), [1]);
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  const score = (partition: number) =>
    rows.forEach((tx, i) => {
      if ((tx.customerId < 15 ? 0 : 1) !== partition) return;
      const cutoff = engine.labelCutoffDay(tx.eventTimeMs);
      if (join.released(cutoff)) {
        join.rewind();
        assert.equal(join.isReady(join.neededWatermarkMs(cutoff)), false, "no watermark yet");
        readLabels();
      }
      engine.process(tx, out, i * FEATURE_COUNT);
      assert.ok(join.exact(cutoff), `row ${i}`);
      join.scored(partition, cutoff);
    });
  score(1);
  join.setAssigned(new Map([[1, Infinity]]), [0]);
  assert.ok(join.released(engine.labelCutoffDay(rows[0].eventTimeMs)));
  score(0);
  assert.deepEqual(out, expected);
  assert.equal(join.rewinds, 1);
  assert.equal(join.staleScores, 0);
});
