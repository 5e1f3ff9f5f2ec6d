import type { InputBatch } from "./records.ts";

/** How a consumer-group input reads one topic. */
export interface InputSettings {
  group: string;
  topic: string;
  /** Where a partition the group never committed starts. */
  start: "earliest" | "latest";
  /**
   * "coalesced": `ack` commits to the group, one commit request at a time carrying the newest
   * offset of every partition acknowledged meanwhile (in order, never blocking the next batch).
   * "none": nothing is committed by the input (a reader of its own, or a TransactionalOutput
   * commits the offsets with its records).
   */
  commit: "coalesced" | "none";
  /** Partitions handed to the handler at the same time. */
  concurrency?: number;
  /** Most bytes per fetch, and per partition in a fetch. */
  maxBytes?: number;
  maxBytesPerPartition?: number;
  /** An idle fetch returns after this long; it bounds how long `stop` waits for one. */
  maxWaitMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * Static group membership (KIP-345) under this stable name, where the client supports it
   * (@platformatic/kafka; kafkajs has no static membership and ignores it): a member restarted
   * under the same name within the session timeout takes its partitions back without a
   * rebalance, and a dead one's partitions wait for the session timeout instead of moving.
   */
  instanceId?: string;
  /** "read_committed" skips records of aborted transactions and waits for open ones. */
  isolation?: "read_committed" | "read_uncommitted";
}

/** What the handler may do with the batch it was given. */
export interface BatchControl {
  /**
   * Records before `nextOffset` are done: they are not delivered again to this member, and with
   * commit "coalesced" the offset is committed to the group (asynchronously, coalesced).
   */
  ack(nextOffset: bigint): void;
  /** False once the partition was revoked or the input is stopping: drop the rest of the batch. */
  readonly active: boolean;
  /**
   * The offset this batch was fetched from: the member's position in the partition. Its first
   * record may lie after it (transaction markers, compacted records are not delivered).
   */
  readonly fetchedFrom: bigint;
  /** Tells the group this member is alive during a long batch. */
  heartbeat(): Promise<void>;
}

/**
 * Called with one partition's batch at a time (up to `concurrency` partitions at once, batches of
 * one partition in order). When it returns without having paused the partition, the batch counts
 * as read (delivery continues after it; only `ack` commits). When it paused the partition, the
 * records after the last `ack` are delivered again after `resume`. When it throws, the records
 * after the last `ack` are delivered again (to whoever owns the partition then).
 */
export type BatchHandler = (batch: InputBatch, control: BatchControl) => Promise<void>;

/** Group events, for logging, state rebuilds and readiness. */
export interface InputListener {
  /** The whole assignment of this member after the group settled (sorted). */
  assigned?(partitions: readonly number[], leader: boolean): void;
  /** Partitions this member lost in a rebalance. */
  revoked?(partitions: readonly number[]): void;
  /** The client failed; `restarting` false means for good (`failed` rejects). */
  crashed?(error: Error, restarting: boolean): void;
  /** A coalesced commit failed: those records are read again after a crash or rebalance. */
  commitFailed?(error: Error, offsets: readonly { partition: number; nextOffset: bigint }[]): void;
}

/** A consumer-group member on one topic. */
export interface KafkaInput {
  readonly group: string;
  readonly topic: string;
  /** Joins the group and starts delivering batches to the handler. */
  start(handler: BatchHandler): Promise<void>;
  /** Stops fetching the partition; a batch in the handler finishes as the handler decides. */
  pause(partition: number): void;
  resume(partition: number): void;
  /** Epoch ms of the last answer from the brokers (fetch, heartbeat, join): readiness. */
  readonly lastContactMs: number;
  /** Rejects when the input stopped for good on an error: the process should exit. */
  readonly failed: Promise<never>;
  /** Waits for the commits in flight and scheduled (commit "coalesced"). */
  commitsDone(): Promise<void>;
  /** Lets the batches in the handler finish, commits what they acked, leaves the group. */
  stop(): Promise<void>;
}
