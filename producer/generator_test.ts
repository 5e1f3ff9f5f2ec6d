import assert from "node:assert/strict";
import { DataSetGenerator, DEFAULT_DIRT, type GeneratorConfig, NO_DIRT } from "./generator.ts";
import { newTransaction, RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { parseCsvRow } from "../transactions/csv_row.ts";
import { RowState } from "../transactions/row_fields.ts";

const HANDBOOK: GeneratorConfig = {
  customers: 5000,
  terminals: 10000,
  days: 183,
  startMs: Date.UTC(2018, 3, 1),
  seed: 1,
  dirt: NO_DIRT,
};

function dayBytes(gen: DataSetGenerator): Uint8Array {
  const chunks = [...gen.nextDayChunks(64 * 1024)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function sha(bytes: Uint8Array): Promise<string> {
  return crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>).then((d) =>
    Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("")
  );
}

Deno.test("generator: the same seed gives byte-identical days, another seed does not", async () => {
  const config = { ...HANDBOOK, customers: 500, terminals: 1000, days: 3, dirt: DEFAULT_DIRT };
  const digests = async (seed: number) => {
    const gen = new DataSetGenerator({ ...config, seed });
    return [await sha(dayBytes(gen)), await sha(dayBytes(gen)), await sha(dayBytes(gen))];
  };
  const a = await digests(7);
  assert.deepEqual(await digests(7), a);
  assert.notDeepEqual(await digests(8), a);
  // Chunk size only changes how the bytes are cut, never the bytes.
  const gen = new DataSetGenerator({ ...config, seed: 7 });
  const small = [...gen.nextDayChunks(4096)];
  assert.ok(small.length > 1);
  assert.equal(await sha(new Uint8Array(small.flatMap((c) => [...c]))), a[0]);
});

Deno.test("generator: dirt does not change the underlying transactions", () => {
  const base = { ...HANDBOOK, customers: 300, terminals: 600, days: 1 };
  const clean = new TextDecoder().decode(dayBytes(new DataSetGenerator(base))).split("\n");
  const dirty = new TextDecoder().decode(
    dayBytes(new DataSetGenerator({ ...base, dirt: { ...NO_DIRT, negativeCustomer: 0.5 } })),
  ).split("\n");
  assert.equal(dirty.length, clean.length);
  for (let i = 1; i < clean.length; i++) assert.equal(dirty[i].replace(",-", ","), clean[i]);
});

Deno.test("generator: Handbook statistics over 183 days (5000 customers, 10000 terminals)", () => {
  const gen = new DataSetGenerator(HANDBOOK);
  const tx = newTransaction();
  const st = new RowState();
  let rows = 0;
  let fraud = 0;
  const byScenario = [0, 0, 0, 0];
  let amountSum = 0;
  let amountRows = 0;
  let timeSum = 0;
  let timeSq = 0;
  const perCustomer = new Float64Array(HANDBOOK.customers);
  const amountsByCustomer = new Float64Array(HANDBOOK.customers);
  const amountSqByCustomer = new Float64Array(HANDBOOK.customers);
  const legitByCustomer = new Float64Array(HANDBOOK.customers);
  let lastId = -1;
  let lastSeconds = -1;
  for (let d = 0; d < HANDBOOK.days; d++) {
    const buf = dayBytes(gen);
    let start = buf.indexOf(10) + 1;
    assert.equal(new TextDecoder().decode(buf.subarray(0, start - 1)), RETROSPECTIVE_HEADER);
    while (start < buf.length) {
      const end = buf.indexOf(10, start);
      assert.equal(parseCsvRow(buf, start, end, tx, st), null);
      start = end + 1;
      assert.equal(tx.transactionId, lastId + 1);
      assert.ok(tx.timeSeconds >= lastSeconds);
      assert.equal(tx.timeDays, d);
      assert.equal(tx.eventTimeMs, HANDBOOK.startMs + tx.timeSeconds * 1000);
      lastId = tx.transactionId;
      lastSeconds = tx.timeSeconds;
      rows++;
      perCustomer[tx.customerId]++;
      fraud += tx.fraud;
      byScenario[tx.scenario]++;
      if (tx.scenario === 1) assert.ok(tx.amount > 220);
      if (tx.scenario === 0) assert.ok(tx.amount <= 220);
      if (tx.scenario !== 3) {
        amountSum += tx.amount;
        amountRows++;
        amountsByCustomer[tx.customerId] += tx.amount;
        amountSqByCustomer[tx.customerId] += tx.amount * tx.amount;
        legitByCustomer[tx.customerId]++;
      }
      const t = tx.timeSeconds - d * 86_400;
      timeSum += t;
      timeSq += t * t;
    }
  }
  // Handbook: ~9,600 per day; fraud ~0.8%, of which ~7% / 62% / 31% by scenario.
  const perDay = rows / HANDBOOK.days;
  assert.ok(perDay > 9300 && perDay < 9900, `transactions per day ${perDay}`);
  const fraudShare = fraud / rows;
  assert.ok(fraudShare > 0.0065 && fraudShare < 0.0105, `fraud share ${fraudShare}`);
  const share = (s: number) => byScenario[s] / fraud;
  assert.ok(share(1) > 0.03 && share(1) < 0.11, `scenario 1 share ${share(1)}`);
  assert.ok(share(2) > 0.52 && share(2) < 0.70, `scenario 2 share ${share(2)}`);
  assert.ok(share(3) > 0.24 && share(3) < 0.40, `scenario 3 share ${share(3)}`);

  // Per customer and day: U(0, 4) means, minus the ~3% of times drawn off the day.
  const rates = Array.from(perCustomer, (n) => n / HANDBOOK.days).sort((a, b) => a - b);
  const meanRate = rates.reduce((a, b) => a + b, 0) / rates.length;
  assert.ok(Math.abs(meanRate - 1.94) < 0.08, `transactions per customer per day ${meanRate}`);
  const quartile = rates[Math.floor(rates.length / 4)];
  assert.ok(Math.abs(quartile - 0.97) < 0.1, `first quartile of daily rates ${quartile}`);

  // Amounts: customer means ~ U(5, 100), so ~52.5 overall; std = mean / 2 per customer.
  const meanAmount = amountSum / amountRows;
  assert.ok(Math.abs(meanAmount - 52.5) < 2, `mean amount ${meanAmount}`);
  const cvs: number[] = [];
  for (let c = 0; c < HANDBOOK.customers; c++) {
    const n = legitByCustomer[c];
    if (n < 200) continue;
    const m = amountsByCustomer[c] / n;
    cvs.push(Math.sqrt(amountSqByCustomer[c] / n - m * m) / m);
  }
  cvs.sort((a, b) => a - b);
  const medianCv = cvs[Math.floor(cvs.length / 2)];
  assert.ok(medianCv > 0.44 && medianCv < 0.52, `median amount std/mean ${medianCv}`);

  // Time of day: N(43200, 20000) truncated to the day: mean 43200, std ~18,200.
  const meanTime = timeSum / rows;
  const stdTime = Math.sqrt(timeSq / rows - meanTime * meanTime);
  assert.ok(Math.abs(meanTime - 43_200) < 300, `mean time of day ${meanTime}`);
  assert.ok(Math.abs(stdTime - 18_200) < 300, `std time of day ${stdTime}`);
});
