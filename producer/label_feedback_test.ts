import assert from "node:assert/strict";
import type { OutputRecord } from "../kafka/boundary.ts";
import { LabelFeedback } from "./label_feedback.ts";
import { RowBatch } from "./file_reader.ts";
import { newTransaction } from "../transactions/transaction.ts";
import { decodeLabel, decodeLabelMessage } from "../transactions/label_record.ts";

const DAY = 86_400_000;

function batchOf(times: number[]): RowBatch {
  const batch = new RowBatch(times.length + 1);
  const tx = newTransaction();
  times.forEach((t, i) => {
    Object.assign(tx, {
      transactionId: i,
      customerId: 100 + i,
      terminalId: 200 + i,
      eventTimeMs: t,
      fraud: i % 2,
      scenario: i % 2 ? 2 : 0,
    });
    batch.addGood(i + 2, 0, 0, tx, 0);
  });
  batch.addRejected(times.length + 2, 0, 0, "bad_amount");
  return batch;
}

Deno.test("labels: published only once their delay has passed in event time", async () => {
  const sent: OutputRecord[][] = [];
  const feedback = new LabelFeedback(7 * DAY, (m) => {
    sent.push(m.filter((x) => x.key !== "watermark"));
    return Promise.resolve();
  }, { partitions: 3 });
  const batch = batchOf([0, 1000, DAY, 2 * DAY]);
  feedback.enqueue(batch, 0, batch.count);
  assert.equal(feedback.pending, 4);
  assert.equal(await feedback.publishDue(7 * DAY - 1), 0);
  assert.equal(await feedback.publishDue(7 * DAY + 1000), 2);
  assert.equal(await feedback.publishDue(8 * DAY), 1);
  assert.equal(feedback.pending, 1);
  assert.equal(feedback.published, 3);
  assert.deepEqual(sent.filter((m) => m.length > 0).map((m) => m.length), [2, 1]);
  const first = sent.filter((m) => m.length > 0)[1][0];
  assert.equal(first.key, "202");
  assert.deepEqual(decodeLabel(String(first.value)), {
    transactionId: 2,
    customerId: 102,
    terminalId: 202,
    eventTimeMs: DAY,
    fraud: 0,
    scenario: 0,
  });
  assert.equal(decodeLabel(String(sent.filter((m) => m.length > 0)[0][1].value))?.scenario, 2);
});

Deno.test("labels: a watermark follows the labels it covers, on every partition, once a day", async () => {
  const sent: OutputRecord[] = [];
  const feedback = new LabelFeedback(7 * DAY, (m) => {
    sent.push(...m);
    return Promise.resolve();
  }, { partitions: 3 });
  const batch = batchOf([0, 1000, DAY, DAY + 5, 2 * DAY]);
  feedback.enqueue(batch, 0, batch.count);
  const kinds = () => sent.map((m) => decodeLabelMessage(String(m.value))!.kind);

  await feedback.publishDue(7 * DAY + 1000);
  assert.deepEqual(kinds(), ["label", "label", "watermark", "watermark", "watermark"]);
  assert.deepEqual(sent.slice(2).map((m) => m.partition), [0, 1, 2]);
  assert.equal(feedback.watermarkMs, 1000);
  // Later the same day: the labels go out, the watermark waits for the next day.
  await feedback.publishDue(8 * DAY - 1);
  assert.equal(sent.length, 5);
  await feedback.publishDue(8 * DAY + 5);
  assert.deepEqual(kinds().slice(5), ["label", "label", "watermark", "watermark", "watermark"]);
  const last = decodeLabelMessage(String(sent.at(-1)!.value));
  assert.deepEqual(last, { kind: "watermark", watermark: { eventTimeMs: DAY + 5 } });
  // Everything the watermark covers was published before it.
  assert.ok(feedback.published === 4 && feedback.watermarks === 2);
});

Deno.test("labels: the queue grows and compacts without losing order", async () => {
  const got: number[] = [];
  const feedback = new LabelFeedback(0, (m) => {
    for (const x of m) {
      if (x.key !== "watermark") got.push(decodeLabel(String(x.value))!.transactionId);
    }
    return Promise.resolve();
  }, { partitions: 1 });
  const times = Array.from({ length: 1000 }, (_, i) => i);
  const batch = batchOf(times);
  let expected = 0;
  for (let round = 0; round < 100; round++) {
    feedback.enqueue(batch, 0, batch.count);
    await feedback.publishDue(round % 3 === 0 ? 499 : 999);
    expected += 1000;
  }
  await feedback.publishDue(1000);
  assert.equal(got.length, expected);
  assert.ok(got.every((id, k) => id === k % 1000));
  assert.equal(feedback.pending, 0);
});
