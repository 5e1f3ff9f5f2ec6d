import { Admin, clientSoftwareVersion } from "@platformatic/kafka";
import type { KafkaAdmin } from "../boundary/admin.ts";
import type { KafkaClient } from "../boundary/client.ts";
import type { InputListener, InputSettings, KafkaInput } from "../boundary/input.ts";
import type {
  KafkaOutput,
  OutputSettings,
  TransactionalOutput,
  TransactionalOutputSettings,
} from "../boundary/output.ts";
import type { InputBatch } from "../boundary/records.ts";
import { type ConnectionSettings, withinConnectTimeout } from "../connection.ts";
import { retryWithin } from "../retry_within.ts";
import { isRebalance, isTransient, platformaticErrorText, platformaticOptions } from "./config.ts";
import { PlatformaticAdmin } from "./platformatic_admin.ts";
import { readPlatformaticHistory } from "./platformatic_history.ts";
import { PlatformaticInput } from "./platformatic_input.ts";
import { PlatformaticOutput, PlatformaticTransactionalOutput } from "./platformatic_output.ts";

/**
 * KafkaClient on @platformatic/kafka (pinned in deno.json). Loaded only through createKafkaClient
 * (kafka/boundary.ts). The library connects lazily, so each connect here makes a first request
 * to prove the brokers answer and accept the credentials.
 */
export class PlatformaticClient implements KafkaClient {
  readonly kind = "platformatic";
  readonly details: Readonly<Record<string, string | boolean>>;
  readonly #settings: ConnectionSettings;

  constructor(settings: ConnectionSettings) {
    this.#settings = settings;
    this.details = { client: "platformatic", platformatic_kafka: String(clientSoftwareVersion) };
  }

  async #connect<T>(what: string, connect: () => Promise<T>): Promise<T> {
    const s = this.#settings;
    return await withinConnectTimeout(s, what, async () => {
      try {
        return await retryWithin(s.connectTimeoutMs, isTransient, connect);
      } catch (err) {
        // Its messages say what failed at the top of a tree and why at the bottom.
        throw new Error(platformaticErrorText(err));
      }
    });
  }

  async admin(): Promise<KafkaAdmin> {
    const admin = new Admin(platformaticOptions(this.#settings));
    admin.on("error", () => {});
    try {
      await this.#connect("reach Kafka", () => admin.metadata({ topics: [], forceUpdate: true }));
    } catch (err) {
      await admin.close();
      throw err;
    }
    return new PlatformaticAdmin(admin, this.#settings.connectTimeoutMs);
  }

  output(settings: OutputSettings = {}): Promise<KafkaOutput> {
    return this.#connect(
      "connect the producer",
      () => PlatformaticOutput.connect(this.#settings, settings),
    );
  }

  transactionalOutput(settings: TransactionalOutputSettings): Promise<TransactionalOutput> {
    return this.#connect(
      "connect the transactional producer",
      () => PlatformaticTransactionalOutput.connect(this.#settings, settings),
    );
  }

  input(settings: InputSettings, listener: InputListener = {}): KafkaInput {
    return new PlatformaticInput(this.#settings, settings, listener);
  }

  readHistory(
    topic: string,
    ends: ReadonlyMap<number, bigint>,
    onBatch: (batch: InputBatch) => void,
    starts?: ReadonlyMap<number, bigint>,
  ): Promise<number> {
    return readPlatformaticHistory(this.#settings, topic, ends, onBatch, starts);
  }

  isRebalance(err: unknown): boolean {
    return isRebalance(err);
  }

  isTransient(err: unknown): boolean {
    return isTransient(err);
  }
}
