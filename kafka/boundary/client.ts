import type { KafkaAdmin } from "./admin.ts";
import type { InputListener, InputSettings, KafkaInput } from "./input.ts";
import type {
  KafkaOutput,
  OutputSettings,
  TransactionalOutput,
  TransactionalOutputSettings,
} from "./output.ts";
import type { InputBatch } from "./records.ts";

/** The Kafka client libraries the boundary can run on. */
export type KafkaClientKind = "kafkajs" | "platformatic";

export const KAFKA_CLIENT_KINDS: readonly KafkaClientKind[] = ["kafkajs", "platformatic"];

/** One connection configuration (ConnectionSettings) on one client library. */
export interface KafkaClient {
  readonly kind: KafkaClientKind;
  /** What the client runs with, for the agent's start line and /stats (e.g. patches in place). */
  readonly details: Readonly<Record<string, string | boolean>>;
  /** A connected admin; fails with one clear line when the brokers cannot be reached in time. */
  admin(): Promise<KafkaAdmin>;
  /** A connected output. */
  output(settings?: OutputSettings): Promise<KafkaOutput>;
  /** A connected transactional output (transactions initialised). */
  transactionalOutput(settings: TransactionalOutputSettings): Promise<TransactionalOutput>;
  /** A consumer-group input; `start` joins the group. */
  input(settings: InputSettings, listener?: InputListener): KafkaInput;
  /**
   * Reads partitions of a topic from their earliest retained offset (or a given start) up to (not
   * including) the given end offsets, batch by batch in offset order per partition; resolves with
   * the number of records read. Nothing is committed anywhere. Used to rebuild state (agent restore) and by
   * tests to read a topic to its end.
   */
  readHistory(
    topic: string,
    ends: ReadonlyMap<number, bigint>,
    onBatch: (batch: InputBatch) => void,
    /** Where to start instead of the earliest retained offset, per partition (a snapshot's). */
    starts?: ReadonlyMap<number, bigint>,
  ): Promise<number>;
  /**
   * Whether an error only says the consumer group is rebalancing (a member joined or left, or
   * this one missed a generation): expected whenever agents start, stop or crash.
   */
  isRebalance(err: unknown): boolean;
  /** Whether an error says a broker is unreachable or moving: worth the same call again later. */
  isTransient(err: unknown): boolean;
}
