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
