import type { Logger } from "../cli/json_log.ts";
import type { KafkaAdmin, KafkaClient, KafkaOutput, OutputRecord } from "../kafka/boundary.ts";
import type { FeatureEngine } from "../features/feature_engine.ts";
import type { DuplicateWindow } from "../transactions/duplicate_window.ts";
import { encodeSnapshot, type PartitionSnapshot, SnapshotAssembler } from "./state_snapshot.ts";

/**
 * Per-partition state snapshots on the `state` topic (agent/state_snapshot.ts has the format).
 * While scoring, a partition's customer state and its share of the duplicate window are captured
 * at a chunk boundary at most every `intervalMs`, and sent once the offsets up to that boundary
 * are committed: a snapshot never covers a record the group would deliver again. On assignment,
 * the newest snapshot at or before each partition's committed offset is loaded and only the
 * records after it are replayed. Chunk i of a partition's snapshot goes to partition
 * `p % statePartitions` of the state topic, so a restore reads only its partitions' share.
 */
export class StateSnapshots {
  readonly #topic: string;
  readonly #intervalMs: number;
  readonly #engine: FeatureEngine;
  readonly #duplicates: DuplicateWindow;
  readonly #log: Logger;
  #output: KafkaOutput | null = null;
  #statePartitions = 0;
  readonly #lastAt = new Map<number, number>();
  /** Captured, waiting for the commit of the offsets they cover. */
  #pending: OutputRecord[] = [];
  #flushing: Promise<void> | null = null;
  /** Snapshots sent, and the last send's error (a failed send only means a longer replay). */
  sent = 0;
  lastError: string | null = null;

  constructor(
    topic: string,
    intervalMs: number,
    engine: FeatureEngine,
    duplicates: DuplicateWindow,
    log: Logger,
  ) {
    this.#topic = topic;
    this.#intervalMs = intervalMs;
    this.#engine = engine;
    this.#duplicates = duplicates;
    this.#log = log;
  }

  /** Opens the output; false (snapshots off) when the state topic does not exist. */
  async start(client: KafkaClient, admin: KafkaAdmin): Promise<boolean> {
    const partitions = await admin.partitionOffsets(this.#topic).catch(() => []);
    if (partitions.length === 0) return false;
    this.#statePartitions = partitions.length;
    this.#output = await client.output();
    return true;
  }

  /** Whether the partition is due for a snapshot now. */
  due(partition: number, now: number): boolean {
    return this.#output !== null &&
      now - (this.#lastAt.get(partition) ?? -Infinity) >= this.#intervalMs;
  }

  /**
   * Captures the partition's state as of `nextOffset` (between its chunks, so nothing of it is in
   * flight); `commitsDone` resolves once that offset is committed, then it is sent.
   */
  capture(
    partition: number,
    nextOffset: bigint,
    position: number,
    now: number,
    commitsDone: () => Promise<void>,
  ): void {
    this.#lastAt.set(partition, now);
    const owned = (_: number, tag: number) => tag === partition;
    const snapshot: PartitionSnapshot = {
      partition,
      nextOffset,
      position,
      customers: this.#engine.exportCustomers(owned),
      duplicates: this.#duplicates.export((customer) => this.#engine.tagOf(customer) === partition),
    };
    const target = partition % this.#statePartitions;
    for (const chunk of encodeSnapshot(snapshot)) {
      this.#pending.push({ key: chunk.key, value: chunk.value, partition: target });
    }
    this.#flushing ??= this.#flush(commitsDone);
  }

  async #flush(commitsDone: () => Promise<void>): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const records = this.#pending;
        this.#pending = [];
        try {
          // A snapshot ahead of the committed offset is never loaded (load() takes the newest at
          // or before it), so a failed commit makes a snapshot useless, never wrong.
          await commitsDone();
          await this.#output!.send([{ topic: this.#topic, records }]);
          this.sent += new Set(records.map((r) => String(r.key).split("/")[0])).size;
        } catch (err) {
          this.lastError = err instanceof Error ? err.message : String(err);
          this.#log.log("warn", "snapshot_failed", { error: this.lastError });
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  /**
   * The newest usable snapshot of each partition: at or before its committed offset (partitions
   * never committed have none). Reads the state topic's partitions that hold theirs.
   */
  async load(
    client: KafkaClient,
    admin: KafkaAdmin,
    committed: ReadonlyMap<number, bigint>,
  ): Promise<Map<number, PartitionSnapshot>> {
    const found = new Map<number, PartitionSnapshot>();
    if (this.#output === null || committed.size === 0) return found;
    const wanted = new Set([...committed.keys()].map((p) => p % this.#statePartitions));
    const ends = new Map<number, bigint>();
    for (const p of await admin.partitionOffsets(this.#topic)) {
      if (wanted.has(p.partition) && p.latest > p.earliest) ends.set(p.partition, p.latest);
    }
    const assembler = new SnapshotAssembler();
    await client.readHistory(this.#topic, ends, (batch) => {
      for (let i = 0; i < batch.length; i++) assembler.add(batch.value(i));
    });
    for (const [partition, offset] of committed) {
      const snapshot = assembler.latest(partition, offset);
      if (snapshot) found.set(partition, snapshot);
    }
    return found;
  }

  /** Loads a snapshot into the engine and the duplicate window. */
  apply(snapshot: PartitionSnapshot): void {
    this.#engine.ownerTag = snapshot.partition;
    this.#engine.importCustomers(snapshot.customers);
    this.#duplicates.import(snapshot.duplicates);
  }

  async close(): Promise<void> {
    await this.#flushing;
    await this.#output?.close();
  }
}
