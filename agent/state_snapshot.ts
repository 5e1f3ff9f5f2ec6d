/**
 * The record format of the `state` topic: one partition's customer state as of an offset, so a
 * restart or rebalance loads it and replays only the records after it instead of the partition's
 * whole history. A snapshot is cut into chunks that stay far below the broker's record size limit;
 * chunk i of partition p is keyed `p/i`, so compaction keeps the newest chunk of each key. A reader
 * takes, per partition, the newest snapshot all of whose chunks it found: chunks left from an older,
 * longer snapshot carry that snapshot's offset and never complete a newer one.
 *
 * Layout of a chunk (little-endian): a 40-byte head (magic "FSS1", partition, chunk index, chunk
 * count, next offset and label position as float64, payload bytes, chunk bytes), then its slice of
 * the payload: customer state (FeatureEngine.exportCustomers) behind its byte length, then the
 * duplicate window's pairs (DuplicateWindow.export) as float64.
 */

const MAGIC = 0x31535346; // "FSS1"
const HEAD_BYTES = 40;
/** Payload bytes per chunk: a tenth of the broker's default 1 MiB record limit. */
export const SNAPSHOT_CHUNK_BYTES = 100 * 1024;

export interface PartitionSnapshot {
  partition: number;
  /** The state covers every record of the partition before this offset. */
  nextOffset: bigint;
  /** Highest label cutoff day among those records (-Infinity when none): the join's position. */
  position: number;
  /** FeatureEngine.exportCustomers of the partition's customers. */
  customers: Uint8Array;
  /** DuplicateWindow.export of the partition's customers: [tx, customer, ...]. */
  duplicates: Float64Array;
}

export interface SnapshotChunk {
  key: string;
  value: Uint8Array;
}

/** The snapshot as chunks to send (keys `partition/chunk`). */
export function encodeSnapshot(
  s: PartitionSnapshot,
  chunkBytes = SNAPSHOT_CHUNK_BYTES,
): SnapshotChunk[] {
  const dupAt = align8(4 + s.customers.byteLength + 4);
  const payload = new Uint8Array(dupAt + s.duplicates.byteLength);
  const view = new DataView(payload.buffer);
  view.setUint32(0, s.customers.byteLength, true);
  payload.set(s.customers, 4);
  view.setUint32(4 + s.customers.byteLength, s.duplicates.length, true);
  payload.set(
    new Uint8Array(s.duplicates.buffer, s.duplicates.byteOffset, s.duplicates.byteLength),
    dupAt,
  );
  const chunks = Math.max(1, Math.ceil(payload.byteLength / chunkBytes));
  const out: SnapshotChunk[] = [];
  for (let i = 0; i < chunks; i++) {
    const slice = payload.subarray(
      i * chunkBytes,
      Math.min(payload.byteLength, (i + 1) * chunkBytes),
    );
    const value = new Uint8Array(HEAD_BYTES + slice.byteLength);
    const head = new DataView(value.buffer);
    head.setUint32(0, MAGIC, true);
    head.setUint32(4, s.partition, true);
    head.setUint32(8, i, true);
    head.setUint32(12, chunks, true);
    head.setFloat64(16, Number(s.nextOffset), true);
    head.setFloat64(24, s.position, true);
    head.setUint32(32, payload.byteLength, true);
    head.setUint32(36, slice.byteLength, true);
    value.set(slice, HEAD_BYTES);
    out.push({ key: `${s.partition}/${i}`, value });
  }
  return out;
}

/**
 * Collects chunks read from the state topic (in any order) and answers, per partition, the newest
 * complete snapshot at or before an offset. Chunks of another format are counted and skipped.
 */
export class SnapshotAssembler {
  /** partition -> next offset -> chunks by index. */
  readonly #seen = new Map<number, Map<number, Map<number, Uint8Array>>>();
  #foreign = 0;

  add(value: Uint8Array | null): void {
    if (value === null || value.byteLength < HEAD_BYTES) {
      this.#foreign++;
      return;
    }
    const head = new DataView(value.buffer, value.byteOffset, HEAD_BYTES);
    if (
      head.getUint32(0, true) !== MAGIC ||
      head.getUint32(36, true) !== value.byteLength - HEAD_BYTES
    ) {
      this.#foreign++;
      return;
    }
    const partition = head.getUint32(4, true);
    const offset = head.getFloat64(16, true);
    const byOffset = this.#seen.get(partition) ?? new Map();
    this.#seen.set(partition, byOffset);
    const chunks = byOffset.get(offset) ?? new Map();
    byOffset.set(offset, chunks);
    chunks.set(head.getUint32(8, true), value);
  }

  /** Records that were not snapshot chunks of this format. */
  get foreign(): number {
    return this.#foreign;
  }

  /** The newest complete snapshot of the partition covering no record at or after `notAfter`. */
  latest(partition: number, notAfter: bigint): PartitionSnapshot | null {
    const byOffset = this.#seen.get(partition);
    if (!byOffset) return null;
    const offsets = [...byOffset.keys()].filter((o) => BigInt(o) <= notAfter).sort((a, b) => b - a);
    for (const offset of offsets) {
      const snapshot = assemble(partition, offset, byOffset.get(offset)!);
      if (snapshot) return snapshot;
    }
    return null;
  }
}

function assemble(
  partition: number,
  offset: number,
  chunks: Map<number, Uint8Array>,
): PartitionSnapshot | null {
  const first = chunks.get(0);
  if (!first) return null;
  const head = new DataView(first.buffer, first.byteOffset, HEAD_BYTES);
  const count = head.getUint32(12, true);
  const payload = new Uint8Array(head.getUint32(32, true));
  let at = 0;
  for (let i = 0; i < count; i++) {
    const chunk = chunks.get(i);
    if (!chunk) return null;
    const body = chunk.subarray(HEAD_BYTES);
    if (at + body.byteLength > payload.byteLength) return null;
    payload.set(body, at);
    at += body.byteLength;
  }
  if (at !== payload.byteLength) return null;
  const view = new DataView(payload.buffer);
  const customerBytes = view.getUint32(0, true);
  const pairs = view.getUint32(4 + customerBytes, true);
  const dupAt = align8(4 + customerBytes + 4);
  if (dupAt + 8 * pairs !== payload.byteLength) return null;
  return {
    partition,
    nextOffset: BigInt(offset),
    position: head.getFloat64(24, true),
    customers: payload.slice(4, 4 + customerBytes),
    duplicates: new Float64Array(payload.buffer, dupAt, pairs),
  };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
