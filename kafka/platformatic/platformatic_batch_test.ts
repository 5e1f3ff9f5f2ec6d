import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRecordsBatch, Reader, readRecordsBatch } from "@platformatic/kafka";
import { PlatformaticBatch } from "./platformatic_batch.ts";

/** Record batches encoded and decoded by the library itself, as a fetch hands them over. */
function recordBatch(firstOffset: bigint, values: string[], timestamp: bigint) {
  const writer = createRecordsBatch(
    values.map((v, i) => ({
      topic: "t",
      key: Buffer.from(`k${i}`),
      value: Buffer.from(v),
      timestamp: timestamp + BigInt(i),
      headers: i === 0 ? new Map([[Buffer.from("h"), Buffer.from("x")]]) : undefined,
    })),
  );
  const batch = readRecordsBatch(Reader.from(writer));
  return { ...batch, firstOffset };
}

Deno.test("a batch reads the library's decoded records in place, by index", () => {
  const batches = [recordBatch(10n, ["a", "b"], 1_000n), recordBatch(12n, ["c"], 2_000n)];
  const batch = new PlatformaticBatch("t", 3, batches, 10n, 20n);
  assert.equal(batch.length, 3);
  assert.deepEqual([0, 1, 2].map((i) => batch.offset(i)), [10n, 11n, 12n]);
  assert.deepEqual([0, 1, 2].map((i) => Buffer.from(batch.value(i)!).toString()), ["a", "b", "c"]);
  assert.deepEqual([0, 1, 2].map((i) => batch.timestampMs(i)), [1000, 1001, 2000]);
  assert.equal(Buffer.from(batch.key(1)!).toString(), "k1");
  assert.equal(Buffer.from(batch.headers(0).h!).toString(), "x");
  assert.deepEqual(batch.headers(1), {});
  assert.equal(batch.highWatermark, 20n);
});

Deno.test("records before the offset asked for and transaction markers are left out", () => {
  const marker = { ...recordBatch(13n, ["marker"], 3_000n), attributes: 1 << 5 };
  const batch = new PlatformaticBatch(
    "t",
    0,
    [recordBatch(10n, ["a", "b", "c"], 1_000n), marker],
    11n,
    14n,
  );
  assert.equal(batch.length, 2);
  assert.deepEqual([batch.offset(0), batch.offset(1)], [11n, 12n]);
});

/** A transactional producer's data batch, and its commit or abort marker. */
function transactional(firstOffset: bigint, producerId: bigint, value: string) {
  return { ...recordBatch(firstOffset, [value], 0n), attributes: 1 << 4, producerId };
}
function marker(firstOffset: bigint, producerId: bigint, type: "abort" | "commit") {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === "abort" ? 0 : 1, 2);
  const batch = recordBatch(firstOffset, ["marker"], 0n);
  return {
    ...batch,
    attributes: (1 << 4) | (1 << 5),
    producerId,
    records: batch.records.map((r) => ({ ...r, key })),
  };
}
const values = (batch: PlatformaticBatch) =>
  Array.from({ length: batch.length }, (_, i) => Buffer.from(batch.value(i)!).toString());

Deno.test("aborted transactions are left out up to their marker, committed ones kept", () => {
  const batches = [
    transactional(10n, 7n, "aborted"),
    transactional(11n, 8n, "other producer"),
    marker(12n, 7n, "abort"),
    marker(13n, 8n, "commit"),
    // The same producer id after a restart (a bumped epoch): committed this time.
    transactional(14n, 7n, "committed"),
    marker(15n, 7n, "commit"),
  ];
  const batch = new PlatformaticBatch("t", 0, batches, 10n, 16n, [
    { producerId: 7n, firstOffset: 10n },
  ]);
  assert.deepEqual(values(batch), ["other producer", "committed"]);
});

Deno.test("two aborted transactions of one producer, and one whose marker is past the response", () => {
  const batches = [
    transactional(20n, 7n, "aborted 1"),
    marker(21n, 7n, "abort"),
    transactional(22n, 7n, "aborted 2"),
    marker(23n, 7n, "abort"),
    transactional(24n, 9n, "aborted 3, marker not fetched yet"),
  ];
  // The broker lists each aborted transaction the fetched range overlaps, in no promised order.
  const batch = new PlatformaticBatch("t", 0, batches, 20n, 30n, [
    { producerId: 9n, firstOffset: 24n },
    { producerId: 7n, firstOffset: 22n },
    { producerId: 7n, firstOffset: 20n },
  ]);
  assert.deepEqual(values(batch), []);
});

Deno.test("a later abort marker with no transaction listed keeps the committed records before it", () => {
  const batches = [
    transactional(40n, 7n, "aborted"),
    marker(41n, 7n, "abort"),
    transactional(42n, 7n, "committed"),
    marker(43n, 7n, "commit"),
    // A transaction that aborted before it wrote here: a marker, nothing in the aborted list.
    marker(44n, 7n, "abort"),
  ];
  const batch = new PlatformaticBatch("t", 0, batches, 40n, 45n, [
    { producerId: 7n, firstOffset: 40n },
  ]);
  assert.deepEqual(values(batch), ["committed"]);
});

Deno.test("without an aborted list (read_uncommitted) every data record is kept", () => {
  const batches = [transactional(30n, 7n, "a"), marker(31n, 7n, "abort")];
  assert.deepEqual(values(new PlatformaticBatch("t", 0, batches, 30n, 32n)), ["a"]);
});
