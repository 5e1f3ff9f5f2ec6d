import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import "../kafkajs_patches.ts";
import { shippedKafkajs } from "./shipped_module.ts";

const require = createRequire(import.meta.url);
const SRC = "kafkajs/src/consumer/";

/** kafkajs' Batch as this test reads it. */
type Batch = new (topic: string, fetchedOffset: string, data: unknown) => {
  rawMessages: unknown[];
  messagesWithinOffset: unknown[];
  messages: unknown[];
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
};

/** A fetch response's records as kafkajs' record decoder makes them off the fast path. */
function messages(offsets: string[], control: number[] = []) {
  return offsets.map((offset, i) => ({
    offset,
    key: Buffer.from(String(i)),
    isControlRecord: control.includes(i),
    batchContext: { producerId: "7", inTransaction: false },
  }));
}

Deno.test("the consumer Batch is kafkajs' own: the records from the fetched offset on", () => {
  const Shipped: Batch = shippedKafkajs("consumer/batch.js");
  const Patched: Batch = require(`${SRC}batch.js`);
  assert.notEqual(Patched, Shipped, "installed by the patches");
  const cases: [string, ReturnType<typeof messages>, unknown[]?][] = [
    ["100", messages(["100", "101", "102"])],
    // A compressed batch starts before the fetched offset.
    ["102", messages(["100", "101", "102", "103"])],
    ["104", messages(["100", "101"])],
    ["100", messages(["100", "101", "102"], [1])],
    ["100", []],
    // Offsets past 2^53: kafkajs' Long comparison.
    ["9007199254740993", messages(["9007199254740992", "9007199254740993"])],
  ];
  for (const [fetched, records] of cases) {
    const data = { partition: 3, highWatermark: "200", abortedTransactions: [], messages: records };
    const ours = new Patched("t", fetched, data);
    const theirs = new Shipped("t", fetched, data);
    for (const field of ["rawMessages", "messagesWithinOffset", "messages"] as const) {
      assert.deepEqual(ours[field], theirs[field], `${field}, fetched from ${fetched}`);
    }
    assert.equal(ours.lastOffset(), theirs.lastOffset());
    assert.equal(ours.firstOffset(), theirs.firstOffset());
    assert.equal(ours.offsetLag(), theirs.offsetLag());
  }
});
