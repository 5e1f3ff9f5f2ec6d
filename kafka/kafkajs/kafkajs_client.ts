import "../kafkajs_warning_filter.ts";
import { Kafka } from "kafkajs";
import type { KafkaAdmin } from "../boundary/admin.ts";
import type { KafkaClient } from "../boundary/client.ts";
import type { InputListener, InputSettings, KafkaInput } from "../boundary/input.ts";
import type {
  KafkaOutput,
  OutputSettings,
  TransactionalOutput,
  TransactionalOutputSettings,
} from "../boundary/output.ts";
import { DEFAULT_SEND_RETRY_MS } from "../boundary/output.ts";
import type { InputBatch } from "../boundary/records.ts";
import { type ConnectionSettings, withinConnectTimeout } from "../connection.ts";
import { kafkajsPatchesInstalled } from "../kafkajs_patches.ts";
import { retryWithin } from "../retry_within.ts";
import { isTransient, kafkaConfig, REQUEST_RETRY, sendRetry } from "./config.ts";
import { KafkajsAdmin } from "./kafkajs_admin.ts";
import { readKafkajsHistory } from "./kafkajs_history.ts";
import { KafkajsInput } from "./kafkajs_input.ts";
import { KafkajsOutput, KafkajsTransactionalOutput } from "./kafkajs_output.ts";
import { PRODUCER_OPTIONS } from "./producer_options.ts";
import { isRebalance } from "./rebalance.ts";

/**
 * KafkaClient on kafkajs 2.2.4. Loaded only through createKafkaClient (kafka/boundary.ts), after
 * kafka/kafkajs_patches.ts replaced the parts of kafkajs it patches.
 */
export class KafkajsClient implements KafkaClient {
  readonly kind = "kafkajs";
  readonly details: Readonly<Record<string, string | boolean>>;
  readonly #settings: ConnectionSettings;
  readonly #kafka: Kafka;

  constructor(settings: ConnectionSettings) {
    if (!kafkajsPatchesInstalled) {
      // Unpatched, a send retried after a leader change may drop records and still succeed.
      throw new Error("kafkajs loaded before kafka/kafkajs_patches.ts could fix its produce path");
    }
    this.#settings = settings;
    this.#kafka = new Kafka(kafkaConfig(settings));
    this.details = { client: "kafkajs", kafkajs_patches: true };
  }

  /**
   * Connecting is retried on transient errors too: the brokers may still be starting. The retries
   * end a second before the connect timeout, so the last error is what the user reads.
   */
  #connect(what: string, connect: () => Promise<void>): Promise<void> {
    const s = this.#settings;
    const budgetMs = Math.max(0, s.connectTimeoutMs - 1_000);
    return withinConnectTimeout(s, what, () => retryWithin(budgetMs, isTransient, connect));
  }

  async admin(): Promise<KafkaAdmin> {
    const admin = this.#kafka.admin({ retry: REQUEST_RETRY });
    await this.#connect("reach Kafka", () => admin.connect());
    return new KafkajsAdmin(admin, this.#settings.connectTimeoutMs);
  }

  async output(settings: OutputSettings = {}): Promise<KafkaOutput> {
    const producer = this.#kafka.producer({
      ...PRODUCER_OPTIONS,
      retry: sendRetry(settings.sendRetryMs ?? DEFAULT_SEND_RETRY_MS),
    });
    await this.#connect("connect the producer", () => producer.connect());
    return new KafkajsOutput(producer, settings);
  }

  async transactionalOutput(settings: TransactionalOutputSettings): Promise<TransactionalOutput> {
    const producer = this.#kafka.producer({
      ...PRODUCER_OPTIONS,
      transactionalId: settings.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      retry: sendRetry(settings.sendRetryMs ?? DEFAULT_SEND_RETRY_MS),
    });
    await this.#connect("connect the transactional producer", () => producer.connect());
    return new KafkajsTransactionalOutput(producer, settings);
  }

  input(settings: InputSettings, listener?: InputListener): KafkaInput {
    return new KafkajsInput(this.#kafka, settings, listener);
  }

  async readHistory(
    topic: string,
    ends: ReadonlyMap<number, bigint>,
    onBatch: (batch: InputBatch) => void,
    starts?: ReadonlyMap<number, bigint>,
  ): Promise<number> {
    const admin = await this.admin() as KafkajsAdmin;
    try {
      const groupId = `${this.#settings.clientId}.history.${crypto.randomUUID().slice(0, 8)}`;
      return await readKafkajsHistory(this.#kafka, admin, groupId, topic, ends, onBatch, starts);
    } finally {
      await admin.close();
    }
  }

  isRebalance(err: unknown): boolean {
    return isRebalance(err);
  }

  isTransient(err: unknown): boolean {
    return isTransient(err);
  }
}
