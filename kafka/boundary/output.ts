import type { TopicRecords } from "./records.ts";
import type { KafkaInput } from "./input.ts";

/**
 * The broker's default message.max.bytes is 1,048,588 bytes per record batch (one partition of
 * one request). A send is cut into requests of at most this many bytes of records (keys, values,
 * headers and the per-record framing), so no partition's batch can reach the limit.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 768 * 1024;

/**
 * How long a send keeps retrying on connection and leadership errors before it fails: longer than
 * a KRaft leader failover (the controller fences a dead broker after broker.session.timeout.ms,
 * 9 s by default, then elects a new leader; clients then refresh their metadata). The client
 * retries inside its own protocol layer, so records already acknowledged are not sent again.
 */
export const DEFAULT_SEND_RETRY_MS = 30_000;

export interface OutputSettings {
  /** Most bytes of records per produce request; DEFAULT_MAX_REQUEST_BYTES when absent. */
  maxRequestBytes?: number;
  /** How long a send retries on connection and leadership errors; DEFAULT_SEND_RETRY_MS. */
  sendRetryMs?: number;
}

/** A producer; every send waits for all in-sync replicas (acks=all). */
export interface KafkaOutput {
  /**
   * Sends the records, cut by bytes into requests of at most maxRequestBytes; resolves when every
   * one is acknowledged; retried on connection and leadership errors for sendRetryMs. Records
   * keep their order within a partition, within a call and between calls made one after the
   * other.
   */
  send(groups: readonly TopicRecords[]): Promise<void>;
  close(): Promise<void>;
}

export interface TransactionalOutputSettings extends OutputSettings {
  /** Stable per agent instance: a restarted instance fences its predecessor's transactions. */
  transactionalId: string;
}

/** The input offsets a transaction commits with its records. */
export interface InputOffsets {
  /** The input the records were read from (its group and generation fence the commit). */
  input: KafkaInput;
  partition: number;
  nextOffset: bigint;
}

/** A transactional producer: records and input offsets commit together, or neither (exactly-once). */
export interface TransactionalOutput {
  /**
   * One transaction: the records (cut by bytes like KafkaOutput.send) and the input's offsets;
   * aborted when any part fails. Transactions run one at a time, in call order.
   */
  sendWithOffsets(groups: readonly TopicRecords[], offsets: InputOffsets): Promise<void>;
  close(): Promise<void>;
}
