import assert from "node:assert/strict";
import { ArrayBatch } from "../kafka/array_batch.ts";
import { FeatureEngine } from "../features/feature_engine.ts";
import { DuplicateWindow } from "../transactions/duplicate_window.ts";
import { RowState } from "../transactions/row_fields.ts";
import { RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { LabelJoin } from "./label_join.ts";
import { DEFAULT_MODEL_PATH, loadOnnxModel } from "./onnx_model.ts";
import { ModelSlot } from "./model_slot.ts";
import { type ScoredBatch, ScoringLoop } from "./scoring_loop.ts";

/** The processor alone: records in, predictions and typed rejects out; no broker. */

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | string | null) =>
  typeof b === "string" ? b : new TextDecoder().decode(b ?? new Uint8Array());

const T0 = Date.UTC(2018, 3, 1, 8);
const row = (id: number, customer: number, minutes: number, amount = "42.50") => {
  const t = new Date(T0 + minutes * 60_000).toISOString().slice(0, 19).replace("T", " ");
  return `${id},${t},${customer},${700 + (id % 5)},${amount},${28_800 + minutes * 60},0,0,0`;
};

/** A partition's records: the lines given, at offsets from `first`, stamped 5 ms before `now`. */
function batchOf(lines: (string | null)[], first = 0n) {
  return new ArrayBatch(
    "transactions",
    3,
    lines.map((line, i) => ({
      key: bytes("k"),
      value: line === null ? null : bytes(line),
      offset: first + BigInt(i),
      timestampMs: 1_000_000 - 5,
    })),
  );
}

async function processor(rowState = new RowState()) {
  const engine = new FeatureEngine();
  const model = await loadOnnxModel(DEFAULT_MODEL_PATH, engine);
  const loop = new ScoringLoop(
    engine,
    new ModelSlot(model),
    new DuplicateWindow(1000),
    new LabelJoin(engine),
    rowState,
  );
  return { loop, release: () => model.release() };
}

async function scoreAll(loop: ScoringLoop, batch: ArrayBatch, from = 0, to = batch.length) {
  loop.prepare(batch, from, to);
  return await loop.score(batch, from, to, () => 1_000_000);
}

const predictionsOf = (out: ScoredBatch) =>
  out.predictions.map((p) => [text(p.key), JSON.parse(text(p.value))]);

Deno.test("good rows become predictions keyed by transaction id; the rest typed rejects", async () => {
  const { loop, release } = await processor();
  try {
    const batch = batchOf([
      row(1, 7, 0),
      "",
      RETROSPECTIVE_HEADER,
      "1,2,3",
      row(2, 8, 1),
      row(1, 7, 2),
      "9".repeat(5000),
      null,
    ]);
    const out = await scoreAll(loop, batch);
    assert.deepEqual(out.rejects, [
      { index: 1, reason: "empty_line" },
      { index: 2, reason: "header" },
      { index: 3, reason: "bad_field_count" },
      { index: 5, reason: "duplicate_transaction_id" },
      { index: 6, reason: "line_too_long" },
      { index: 7, reason: "empty_line" },
    ]);
    const predictions = predictionsOf(out);
    assert.deepEqual(predictions.map(([key]) => key), ["1", "2"]);
    const [, first] = predictions[0];
    assert.equal(first.transaction_id, 1);
    assert.equal(first.customer_id, 7);
    assert.equal(first.event_time, "2018-04-01T08:00:00.000Z");
    assert.equal(first.latency_ms, 5);
    assert.equal(first.fraud, first.score >= first.threshold);
    assert.equal(out.rows, 2);
    assert.deepEqual([...out.transactionIds], [1, 2]);
  } finally {
    await release();
  }
});

Deno.test("a chunk of a batch is scored on its own; rejects name their index in the batch", async () => {
  const { loop, release } = await processor();
  try {
    const batch = batchOf([row(1, 7, 0), row(2, 7, 1), "x", row(3, 7, 2)], 100n);
    const out = await scoreAll(loop, batch, 1, 3);
    assert.deepEqual(predictionsOf(out).map(([key]) => key), ["2"]);
    assert.deepEqual(out.rejects, [{ index: 2, reason: "bad_field_count" }]);
    assert.equal(batch.offset(out.rejects[0].index), 102n);
  } finally {
    await release();
  }
});

Deno.test("score refuses records that were not prepared", async () => {
  const { loop, release } = await processor();
  try {
    const batch = batchOf([row(1, 7, 0), row(2, 7, 1)]);
    loop.prepare(batch, 0, 1);
    await assert.rejects(loop.score(batch, 0, 2), /prepare these records first/);
  } finally {
    await release();
  }
});

Deno.test("history replayed into state gives the scores an uninterrupted run gives", async () => {
  const history = batchOf([row(1, 7, 0, "10.00"), row(2, 7, 30, "900.00"), row(3, 8, 31)]);
  const next = batchOf([row(4, 7, 40, "15.00"), row(5, 8, 41)], 3n);
  const uninterrupted = await processor();
  const restarted = await processor();
  try {
    await scoreAll(uninterrupted.loop, history);
    const expected = predictionsOf(await scoreAll(uninterrupted.loop, next));
    restarted.loop.replay(history);
    assert.deepEqual(predictionsOf(await scoreAll(restarted.loop, next)), expected);
  } finally {
    await uninterrupted.release();
    await restarted.release();
  }
});

Deno.test("a missing datetime is derived from the origin any loop of the stream learnt", async () => {
  // The agent's loops share one row state: the origin tx_time_seconds counts from is the
  // stream's, so a loop that has parsed no complete row yet still repairs such a row.
  const shared = new RowState();
  const first = await processor(shared);
  const second = await processor(shared);
  try {
    await scoreAll(first.loop, batchOf([row(1, 7, 0)]));
    const undated = row(2, 8, 90).replace(/^2,[^,]*,/, "2,,");
    const out = await scoreAll(second.loop, batchOf([undated]));
    assert.deepEqual(out.rejects, []);
    assert.equal(predictionsOf(out)[0][1].event_time, "2018-04-01T09:30:00.000Z");
    const alone = await processor();
    try {
      const rejected = await scoreAll(alone.loop, batchOf([undated]));
      assert.deepEqual(rejected.rejects, [{ index: 0, reason: "missing_datetime" }]);
    } finally {
      await alone.release();
    }
  } finally {
    await first.release();
    await second.release();
  }
});

Deno.test("learnOrigin reads records up to a complete one and changes nothing else", async () => {
  const { loop, release } = await processor();
  try {
    const undated = row(2, 8, 90).replace(/^2,[^,]*,/, "2,,");
    loop.learnOrigin(batchOf(["x", undated, row(1, 7, 0), row(3, 7, 5)]));
    assert.ok(loop.originKnown);
    // Nothing was scored or remembered: the same rows score as if they were new.
    const out = await scoreAll(loop, batchOf([row(1, 7, 0), undated]));
    assert.deepEqual(out.rejects, []);
    assert.deepEqual(predictionsOf(out).map(([key]) => key), ["1", "2"]);
    assert.equal(predictionsOf(out)[1][1].event_time, "2018-04-01T09:30:00.000Z");
  } finally {
    await release();
  }
});

Deno.test("a replay from mid-stream that starts with an undated row, once the origin is learnt", async () => {
  // A restore from a snapshot replays the records after it: here first an undated large amount.
  // The partition's first record (before the snapshot) is complete.
  const first = batchOf([row(1, 9, 0)]);
  const history = batchOf([row(2, 7, 30, "900.00").replace(/^2,[^,]*,/, "2,,")], 1n);
  const next = () => batchOf([row(3, 7, 40, "15.00")], 2n);
  const uninterrupted = await processor();
  const unaware = await processor();
  const restarted = await processor();
  try {
    uninterrupted.loop.learnOrigin(first);
    await scoreAll(uninterrupted.loop, history);
    const expected = predictionsOf(await scoreAll(uninterrupted.loop, next()));
    // Without the origin the undated row is left out of the customer's state: the score differs.
    unaware.loop.replay(history);
    assert.notDeepEqual(predictionsOf(await scoreAll(unaware.loop, next())), expected);
    restarted.loop.learnOrigin(first);
    restarted.loop.replay(history);
    assert.deepEqual(predictionsOf(await scoreAll(restarted.loop, next())), expected);
  } finally {
    await uninterrupted.release();
    await unaware.release();
    await restarted.release();
  }
});
