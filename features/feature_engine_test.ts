import assert from "node:assert/strict";
import { newTransaction, type Transaction } from "../transactions/transaction.ts";
import { dayOf, FeatureEngine } from "./feature_engine.ts";
import {
  CUSTOMER_WINDOW_DAYS,
  DEFAULT_LABEL_DELAY_MS,
  FEATURE_COUNT,
  FEATURE_NAMES,
  TERMINAL_WINDOW_DAYS,
} from "./feature_list.ts";
import { LabelDelaySimulator } from "./label_delay_simulator.ts";
import { BruteForceOracle } from "./brute_force_oracle.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2018, 3, 1);

/** Deterministic PRNG so a failure replays identically. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random transactions in event-time order, with a few odd (sparse, huge) ids mixed in. */
function randomHistory(n: number, days: number, seed: number): Transaction[] {
  const rnd = mulberry32(seed);
  const customerIds = [...Array.from({ length: 40 }, (_, i) => i), 2 ** 40, 123_456_789];
  const times = Array.from({ length: n }, () => T0 + Math.floor(rnd() * days * DAY)).sort((a, b) =>
    a - b
  );
  return times.map((t, i) => ({
    ...newTransaction(),
    transactionId: i,
    eventTimeMs: t,
    customerId: customerIds[Math.floor(rnd() * customerIds.length)],
    terminalId: Math.floor(rnd() * 25),
    amount: Math.round(rnd() * 30000) / 100,
    fraud: rnd() < 0.15 ? 1 : 0,
  }));
}

function runSimulated(rows: Transaction[], delayMs = DEFAULT_LABEL_DELAY_MS): Float32Array {
  const engine = new FeatureEngine({ labelDelayMs: delayMs });
  const sim = new LabelDelaySimulator(engine);
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  rows.forEach((tx, i) => sim.process(tx, out, i * FEATURE_COUNT));
  return out;
}

function row(m: Float32Array, i: number): number[] {
  return Array.from(m.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
}

Deno.test("feature vector has the declared width and names", () => {
  assert.equal(new FeatureEngine().width, FEATURE_NAMES.length);
  assert.equal(
    FEATURE_COUNT,
    4 + 2 * CUSTOMER_WINDOW_DAYS.length + 2 * TERMINAL_WINDOW_DAYS.length,
  );
});

Deno.test("every feature equals the brute-force definition on random history", () => {
  for (const [seed, delay] of [[1, DEFAULT_LABEL_DELAY_MS], [2, 36 * 3_600_000]]) {
    const rows = randomHistory(1500, 75, seed);
    const m = runSimulated(rows, delay);
    const oracle = new BruteForceOracle(rows, delay);
    for (let i = 0; i < rows.length; i++) {
      assert.deepEqual(row(m, i), oracle.features(i), `seed ${seed} row ${i}`);
    }
  }
});

Deno.test("own amount and time features", () => {
  const engine = new FeatureEngine();
  const out = new Float32Array(FEATURE_COUNT * 2);
  // 2018-04-01 was a Sunday; 05:59 counts as night.
  engine.process(
    { ...newTransaction(), eventTimeMs: T0 + 5 * 3_600_000 + 59 * 60_000, amount: 12.5 },
    out,
    0,
  );
  assert.deepEqual(Array.from(out.subarray(0, 4)), [12.5, 1, 1, 5]);
  engine.process(
    { ...newTransaction(), eventTimeMs: T0 + DAY + 6 * 3_600_000, amount: 3 },
    out,
    FEATURE_COUNT,
  );
  assert.deepEqual(Array.from(out.subarray(FEATURE_COUNT, FEATURE_COUNT + 4)), [3, 0, 0, 6]);
});

Deno.test("a label is not used before the delay has passed, nor the row's own label", () => {
  const names = FEATURE_NAMES;
  const count1 = names.indexOf("terminal_count_1d");
  const risk1 = names.indexOf("terminal_risk_1d");
  const engine = new FeatureEngine();
  const sim = new LabelDelaySimulator(engine);
  const out = new Float32Array(FEATURE_COUNT);
  const at = (t: number, fraud: 0 | 1) => ({
    ...newTransaction(),
    terminalId: 7,
    eventTimeMs: t,
    fraud,
  });
  const fraudAt = T0 + 10 * 3_600_000;
  sim.process(at(fraudAt, 1), out, 0);
  // Just before the delay: the label must not be visible, even though the simulator holds it.
  sim.process(at(fraudAt + DEFAULT_LABEL_DELAY_MS - 1, 0), out, 0);
  assert.equal(out[count1], 0);
  // Delivering it early changes nothing: the window ends at the start of the cutoff day.
  engine.applyLabel(7, fraudAt, 1);
  engine.writeFeatures(at(fraudAt + DEFAULT_LABEL_DELAY_MS + 3_600_000, 0), out, 0);
  assert.equal(out[count1], 0);
  // The next day after the delay it is used.
  const fresh = new FeatureEngine();
  fresh.applyLabel(7, fraudAt, 1);
  fresh.writeFeatures(at(fraudAt + DEFAULT_LABEL_DELAY_MS + DAY, 0), out, 0);
  assert.equal(out[count1], 1);
  assert.equal(out[risk1], 1);
});

Deno.test("labels applied all at once up front give the same features as delayed feedback", () => {
  // If any window read a label younger than the delay, knowing every label early would leak.
  const rows = randomHistory(1200, 60, 3);
  const delayed = runSimulated(rows);
  const engine = new FeatureEngine();
  for (const r of rows) engine.applyLabel(r.terminalId, r.eventTimeMs, r.fraud);
  const early = new Float32Array(rows.length * FEATURE_COUNT);
  rows.forEach((tx, i) => engine.process(tx, early, i * FEATURE_COUNT));
  // Terminal state is kept by day, so labels of later days change nothing a window reads.
  assert.deepEqual(early, delayed);
  // Flipping the labels of the scored rows' own days cannot change their features either.
  const flipped = rows.map((r) => ({ ...r, fraud: (1 - r.fraud) as 0 | 1 }));
  const a = runSimulated(rows);
  const b = runSimulated(flipped);
  for (let i = 0; i < rows.length; i++) {
    const onlyOwnDay = rows.every((r) =>
      r.terminalId !== rows[i].terminalId ||
      dayOf(r.eventTimeMs) >= dayOf(rows[i].eventTimeMs - DEFAULT_LABEL_DELAY_MS)
    );
    if (onlyOwnDay) assert.deepEqual(row(a, i), row(b, i));
  }
});

Deno.test("the same input twice gives bit-identical output", () => {
  const rows = randomHistory(3000, 90, 4);
  const a = runSimulated(rows);
  const b = runSimulated(rows);
  assert.deepEqual(new Uint8Array(a.buffer), new Uint8Array(b.buffer));
});

Deno.test("exported customer state restores the same features; dropped customers start over", () => {
  const rows = randomHistory(2000, 50, 5);
  const half = 1000;
  const whole = runSimulated(rows);

  const engine = new FeatureEngine();
  const sim = new LabelDelaySimulator(engine);
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  for (let i = 0; i < half; i++) sim.process(rows[i], out, i * FEATURE_COUNT);
  const even = (id: number) => id % 2 === 0;
  const snapshot = engine.exportCustomers(even);
  const evenCustomers = countIds(rows.slice(0, half), even);
  assert.equal(engine.dropCustomers(even), evenCustomers);
  assert.equal(engine.exportCustomers(even).byteLength, 16);
  assert.equal(engine.importCustomers(snapshot.slice()), evenCustomers);
  for (let i = half; i < rows.length; i++) sim.process(rows[i], out, i * FEATURE_COUNT);
  assert.deepEqual(out, whole);
});

Deno.test("rebuilding a customer set from history matches the uninterrupted engine", () => {
  const rows = randomHistory(2000, 50, 6);
  const whole = runSimulated(rows);
  const split = 1300;
  const engine = new FeatureEngine();
  const sim = new LabelDelaySimulator(engine);
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  for (let i = 0; i < split; i++) sim.process(rows[i], out, i * FEATURE_COUNT);
  // A rebalance hands customers 0-9 to this agent with no snapshot: forget and re-read them.
  const moved = (id: number) => id < 10;
  engine.dropCustomers(moved);
  for (let i = 0; i < split; i++) if (moved(rows[i].customerId)) engine.updateCustomer(rows[i]);
  for (let i = split; i < rows.length; i++) sim.process(rows[i], out, i * FEATURE_COUNT);
  assert.deepEqual(out.subarray(split * FEATURE_COUNT), whole.subarray(split * FEATURE_COUNT));
});

/** Each row that is older than an earlier row of the same customer, counted without the engine. */
function lateRows(rows: Transaction[]): { late: number; tooOld: number } {
  const newest = new Map<number, number>();
  let late = 0;
  let tooOld = 0;
  for (const r of rows) {
    const last = newest.get(r.customerId) ?? -Infinity;
    if (r.eventTimeMs < last) {
      late++;
      if (dayOf(r.eventTimeMs) <= dayOf(last) - 31) tooOld++;
    } else {
      newest.set(r.customerId, r.eventTimeMs);
    }
  }
  return { late, tooOld };
}

function processAll(rows: Transaction[]): { engine: FeatureEngine; out: Float32Array } {
  const engine = new FeatureEngine();
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  rows.forEach((tx, i) => engine.process(tx, out, i * FEATURE_COUNT));
  return { engine, out };
}

Deno.test("rows late within the window are counted, and leave the state of sorted input", () => {
  const sorted = randomHistory(1500, 75, 7);
  // Reversing blocks of 8 rows (under a day at 20 rows a day) makes many rows a little late.
  const shuffled: Transaction[] = [];
  for (let i = 0; i < sorted.length; i += 8) shuffled.push(...sorted.slice(i, i + 8).reverse());
  const expected = lateRows(shuffled);
  assert.ok(expected.late > 100 && expected.tooOld === 0, JSON.stringify(expected));

  const inOrder = processAll(sorted);
  const a = processAll(shuffled);
  const b = processAll(shuffled);
  assert.deepEqual(inOrder.engine.counters, { outOfOrder: 0, tooOld: 0, saturated: 0 });
  assert.deepEqual(a.engine.counters, { outOfOrder: expected.late, tooOld: 0, saturated: 0 });
  // Deterministic: the same disordered input gives the same features and counters again.
  assert.deepEqual(new Uint8Array(a.out.buffer), new Uint8Array(b.out.buffer));
  assert.deepEqual(a.engine.counters, b.engine.counters);
  // Day buckets do not depend on the order they were filled in.
  assert.deepEqual(a.engine.exportCustomers(), inOrder.engine.exportCustomers());
});

Deno.test("a late row joins its own day; one older than the window is scored alone", () => {
  const names = FEATURE_NAMES;
  const at = (day: number, amount: number) => ({
    ...newTransaction(),
    customerId: 3,
    eventTimeMs: T0 + day * DAY + 3_600_000,
    amount,
  });
  const customer = (out: Float32Array) =>
    CUSTOMER_WINDOW_DAYS.map((w) => [
      out[names.indexOf(`customer_count_${w}d`)],
      out[names.indexOf(`customer_mean_amount_${w}d`)],
    ]);
  const engine = new FeatureEngine();
  const out = new Float32Array(FEATURE_COUNT);
  engine.process(at(0, 10), out, 0);
  engine.process(at(10, 10), out, 0);
  engine.process(at(12, 20), out, 0);
  // Day 11 is late but held: its windows read days up to 11, so not day 12's transaction.
  engine.process(at(11, 30), out, 0);
  assert.deepEqual(customer(out), [[2, 20], [2, 20], [3, 50 / 3].map(Math.fround)]);
  engine.process(at(12, 40), out, 0);
  assert.deepEqual(customer(out), [[3, 30], [4, 25], [5, 22]]);
  assert.deepEqual(engine.counters, { outOfOrder: 1, tooOld: 0, saturated: 0 });

  engine.process(at(45, 20), out, 0);
  const before = engine.exportCustomers();
  // Day 5 left the ring (days 15..45): scored as the customer's only transaction, not kept.
  engine.process(at(5, 50), out, 0);
  assert.deepEqual(customer(out), [[1, 50], [1, 50], [1, 50]]);
  assert.deepEqual(engine.exportCustomers(), before);
  assert.deepEqual(engine.counters, { outOfOrder: 2, tooOld: 1, saturated: 0 });
  // Replays rebuild state that was counted when scored, so they do not count again.
  engine.updateCustomer(at(5, 50));
  engine.updateCustomer(at(44, 50));
  assert.deepEqual(engine.counters, { outOfOrder: 2, tooOld: 1, saturated: 0 });
});

Deno.test("a day bucket past 65,535 rows or $42.9M saturates and is counted", () => {
  const names = FEATURE_NAMES;
  const count1 = names.indexOf("customer_count_1d");
  const mean1 = names.indexOf("customer_mean_amount_1d");
  const engine = new FeatureEngine();
  const out = new Float32Array(FEATURE_COUNT);
  const tx = { ...newTransaction(), customerId: 1, eventTimeMs: T0, amount: 0.01 };
  for (let i = 0; i < 65_535; i++) engine.process(tx, out, 0);
  assert.equal(out[count1], 65_535);
  assert.equal(engine.counters.saturated, 0);
  engine.process(tx, out, 0);
  assert.equal(out[count1], 65_535);
  assert.deepEqual(engine.counters, { outOfOrder: 0, tooOld: 0, saturated: 1 });

  const rich = { ...newTransaction(), customerId: 2, eventTimeMs: T0, amount: 30_000_000 };
  engine.process(rich, out, 0);
  assert.equal(out[mean1], 30_000_000);
  engine.process(rich, out, 0);
  assert.equal(out[count1], 2);
  assert.equal(out[mean1], Math.fround(0xffff_ffff / 2 / 100));
  assert.equal(engine.counters.saturated, 2);
  // The next day's bucket starts empty; windows over the saturated day still read its ceiling.
  engine.process({ ...rich, eventTimeMs: T0 + DAY }, out, 0);
  assert.equal(out[mean1], Math.fround((0xffff_ffff + 3e9) / 3 / 100));
  assert.equal(engine.counters.saturated, 2);
});

Deno.test("a snapshot of another format or a truncated one is refused", () => {
  const engine = new FeatureEngine();
  engine.process({ ...newTransaction(), eventTimeMs: T0 }, new Float32Array(FEATURE_COUNT), 0);
  const snapshot = engine.exportCustomers();
  assert.equal(snapshot.byteLength, 16 + 16 + 6 * 31);
  const fsc1 = snapshot.slice();
  new DataView(fsc1.buffer).setUint32(0, 0x31435346, true);
  assert.throws(() => new FeatureEngine().importCustomers(fsc1), /not a customer state snapshot/);
  assert.throws(() => new FeatureEngine().importCustomers(snapshot.slice(0, 40)), /truncated/);
});

Deno.test("state stays bounded: memory per customer does not grow with history", () => {
  const engine = new FeatureEngine();
  const out = new Float32Array(FEATURE_COUNT);
  const tx = newTransaction();
  for (let d = 0; d < 400; d++) {
    for (let c = 0; c < 100; c++) {
      tx.customerId = c;
      tx.eventTimeMs = T0 + d * DAY + c * 1000;
      tx.amount = 10;
      engine.process(tx, out, 0);
    }
  }
  const m = engine.memory();
  assert.equal(m.customers, 100);
  assert.ok(m.customerBytes < 1024 * m.bytesPerCustomerSlot + 70_000, `${m.customerBytes}`);
  assert.equal(out[FEATURE_NAMES.indexOf("customer_count_30d")], 31);
});

Deno.test("a non-numeric event time is refused, not folded into state", () => {
  assert.throws(
    () =>
      new FeatureEngine().process(
        { ...newTransaction(), eventTimeMs: NaN },
        new Float32Array(FEATURE_COUNT),
        0,
      ),
    RangeError,
  );
  assert.throws(() => new FeatureEngine({ labelDelayMs: 0 }), RangeError);
});

function countIds(rows: Transaction[], select: (id: number) => boolean): number {
  return new Set(rows.map((r) => r.customerId).filter(select)).size;
}

Deno.test("a partition's customers, exported by their owner tag, restore that partition alone", () => {
  const rows = randomHistory(3000, 60, 8);
  const whole = runSimulated(rows);
  const partitionOf = (id: number) => id % 3;
  const split = 2000;
  const engine = new FeatureEngine();
  const sim = new LabelDelaySimulator(engine);
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  for (let i = 0; i < split; i++) {
    engine.ownerTag = partitionOf(rows[i].customerId);
    sim.process(rows[i], out, i * FEATURE_COUNT);
  }
  // The snapshot of partition 1 is taken, then the agent loses every customer of partition 1.
  const snapshot = engine.exportCustomers((_, tag) => tag === 1);
  const inPartition1 = new Set(
    rows.slice(0, split).map((r) => r.customerId).filter((id) => id % 3 === 1),
  );
  assert.equal(engine.dropCustomers((_, tag) => tag === 1), inPartition1.size);
  engine.ownerTag = 1;
  assert.equal(engine.importCustomers(snapshot), inPartition1.size);
  for (let i = split; i < rows.length; i++) {
    engine.ownerTag = partitionOf(rows[i].customerId);
    sim.process(rows[i], out, i * FEATURE_COUNT);
  }
  assert.deepEqual(out, whole);
  assert.equal(
    engine.exportCustomers((_, tag) => tag === 5).byteLength,
    16,
    "no customer tagged 5",
  );
});
