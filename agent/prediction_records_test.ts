import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { asciiJsonString, PredictionEncoder } from "./prediction_records.ts";

const columns = {
  transactionIds: Float64Array.of(17, 1234567890123, 5),
  customerIds: Float64Array.of(3, 4999, 0),
  scores: Float32Array.of(0.125, 0.75, 0.4),
  eventTimesMs: Float64Array.of(
    Date.UTC(2018, 3, 1, 0, 0, 31),
    Date.UTC(2018, 5, 30, 23, 59, 59),
    0,
  ),
  latenciesMs: Float64Array.of(2, 0.5, 1000),
  labelsComplete: Uint8Array.of(1, 0, 1),
};

Deno.test("each prediction is keyed by its transaction id and carries the decision at the threshold", () => {
  const records = new PredictionEncoder("fraudstream-fraud", "abc123", 0.4).encode(columns, 3);
  assert.equal(records.length, 3);
  assert.deepEqual(records.map((r) => r.key!.toString()), ["17", "1234567890123", "5"]);
  assert.deepEqual(JSON.parse(records[1].value!.toString()), {
    transaction_id: 1234567890123,
    customer_id: 4999,
    score: 0.75,
    fraud: true,
    threshold: 0.4,
    model: "fraudstream-fraud@abc123",
    event_time: "2018-06-30T23:59:59.000Z",
    labels_complete: false,
    latency_ms: 0.5,
  });
  assert.equal(JSON.parse(records[0].value!.toString()).labels_complete, true);
  assert.equal(JSON.parse(records[0].value!.toString()).fraud, false);
  // A float32 score is printed as the double it widens to, so the decision compares that value.
  const third = JSON.parse(records[2].value!.toString());
  assert.equal(third.score, Math.fround(0.4));
  assert.equal(third.fraud, Math.fround(0.4) >= 0.4);
});

Deno.test("only the rows asked for are encoded, and the records are views of one buffer", () => {
  const records = new PredictionEncoder("m", "1", 0.5).encode(columns, 2);
  assert.equal(records.length, 2);
  const key = records[0].key as Buffer;
  assert.ok(Buffer.isBuffer(key));
  assert.equal(key.buffer, (records[1].value as Buffer).buffer);
});

Deno.test("a non-ASCII model name stays valid JSON with the same text", () => {
  const name = "modèle-fraude✓";
  assert.match(asciiJsonString(name), /^[\x20-\x7e]*$/);
  const records = new PredictionEncoder(name, "v1", 0.5).encode(columns, 1);
  assert.equal(JSON.parse(records[0].value!.toString()).model, `${name}@v1`);
});

Deno.test("event times read exactly as Date.toISOString writes them", () => {
  const encoder = new PredictionEncoder("m", "1", 0.5);
  const times = [
    0,
    -1,
    Date.UTC(2018, 3, 1) - 1,
    Date.UTC(2018, 3, 1),
    Date.UTC(2018, 3, 1, 13, 7, 9, 45),
    Date.UTC(2020, 1, 29, 23, 59, 59, 999),
    Date.UTC(1969, 11, 31, 12),
    Date.UTC(12_000, 0, 1, 1, 2, 3),
  ];
  for (let i = 0; i < 2000; i++) times.push(Date.UTC(2018, 3, 1) + i * 86_399_937);
  const rows = times.length;
  const records = encoder.encode({
    transactionIds: new Float64Array(rows),
    customerIds: new Float64Array(rows),
    scores: new Float32Array(rows),
    eventTimesMs: Float64Array.from(times),
    latenciesMs: new Float64Array(rows),
    labelsComplete: new Uint8Array(rows),
  }, rows);
  records.forEach((r, i) =>
    assert.equal(JSON.parse(r.value!.toString()).event_time, new Date(times[i]).toISOString())
  );
});
