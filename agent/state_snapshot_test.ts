import assert from "node:assert/strict";
import { encodeSnapshot, type PartitionSnapshot, SnapshotAssembler } from "./state_snapshot.ts";

function snapshot(partition: number, nextOffset: bigint, customerBytes: number): PartitionSnapshot {
  const customers = new Uint8Array(customerBytes).map((_, i) => (i * 7 + partition) & 0xff);
  return {
    partition,
    nextOffset,
    position: 17_800 + Number(nextOffset % 100n),
    customers,
    duplicates: new Float64Array([1, 10, 2, 11, 3, 10]),
  };
}

Deno.test("a snapshot cut into chunks comes back whole, whatever order the chunks are read in", () => {
  const s = snapshot(3, 12_345n, 5_000);
  const chunks = encodeSnapshot(s, 1_024);
  // 4 + 5,000 + 4 bytes, aligned to 8, then 3 pairs of float64: 5,056 bytes in 1,024-byte chunks.
  assert.equal(chunks.length, 5);
  assert.deepEqual(chunks.map((c) => c.key), ["3/0", "3/1", "3/2", "3/3", "3/4"]);
  const reader = new SnapshotAssembler();
  for (const c of [...chunks].reverse()) reader.add(c.value);
  assert.deepEqual(reader.latest(3, 12_345n), s);
  assert.equal(reader.latest(4, 12_345n), null, "nothing for another partition");
});

Deno.test("the newest complete snapshot at or before the committed offset is the one taken", () => {
  const older = snapshot(0, 100n, 3_000);
  const newer = snapshot(0, 200n, 500);
  const reader = new SnapshotAssembler();
  // Compaction kept the newer snapshot's chunk 0 and the older one's chunks 1 and 2 (same keys
  // 0/1 and 0/2 never rewritten by the shorter newer snapshot): they must not mix.
  const olderChunks = encodeSnapshot(older, 1_024);
  const newerChunks = encodeSnapshot(newer, 1_024);
  assert.equal(newerChunks.length, 1);
  for (const c of [...olderChunks, ...newerChunks]) reader.add(c.value);
  assert.deepEqual(reader.latest(0, 250n), newer);
  // A snapshot ahead of the commit (its commit failed) is not used: its state includes records
  // that will be delivered again.
  assert.deepEqual(reader.latest(0, 150n), older);
  assert.equal(reader.latest(0, 99n), null);
});

Deno.test("a snapshot with a chunk missing is skipped for an older complete one", () => {
  const reader = new SnapshotAssembler();
  for (const c of encodeSnapshot(snapshot(1, 50n, 2_500), 1_024)) reader.add(c.value);
  const partial = encodeSnapshot(snapshot(1, 80n, 2_500), 1_024);
  reader.add(partial[0].value);
  reader.add(partial[2].value);
  assert.equal(reader.latest(1, 100n)?.nextOffset, 50n);
});

Deno.test("records that are not snapshot chunks are counted, not read", () => {
  const reader = new SnapshotAssembler();
  reader.add(null);
  reader.add(new TextEncoder().encode("not a snapshot, but long enough to have a head..."));
  const chunk = encodeSnapshot(snapshot(2, 5n, 100))[0].value;
  reader.add(chunk.subarray(0, chunk.byteLength - 1));
  assert.equal(reader.foreign, 3);
  assert.equal(reader.latest(2, 5n), null);
});
