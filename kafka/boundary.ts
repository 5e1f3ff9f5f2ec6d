/**
 * The project's one door to Kafka. Everything outside kafka/ reads, writes and administers topics
 * through these types; which client library does the work is chosen by `createKafkaClient`, and
 * that library's types, patches and quirks stay behind it (kafka/kafkajs/ for kafkajs).
 */
import type { ConnectionSettings } from "./connection.ts";
import type { KafkaClient, KafkaClientKind } from "./boundary/client.ts";
import { UserFacingError } from "../cli/usage_error.ts";

export type { ConnectionSettings } from "./connection.ts";
export type {
  GroupDescription,
  GroupLag,
  KafkaAdmin,
  PartitionOffsets,
  TopicDescription,
  TopicSpec,
} from "./boundary/admin.ts";
export type { KafkaClient, KafkaClientKind } from "./boundary/client.ts";
export { KAFKA_CLIENT_KINDS } from "./boundary/client.ts";
export type {
  BatchControl,
  BatchHandler,
  InputListener,
  InputSettings,
  KafkaInput,
} from "./boundary/input.ts";
export type {
  InputOffsets,
  KafkaOutput,
  OutputSettings,
  TransactionalOutput,
  TransactionalOutputSettings,
} from "./boundary/output.ts";
export { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_SEND_RETRY_MS } from "./boundary/output.ts";
export type {
  ByteRange,
  InputBatch,
  InputHeaders,
  OutputHeaders,
  OutputRecord,
  TopicRecords,
} from "./boundary/records.ts";

/**
 * A client for these connection settings on the chosen library. The library is loaded here, on
 * first use, so whatever it needs installed before it loads (kafkajs' patches) is in place
 * whatever the importer's module order.
 */
export async function createKafkaClient(
  settings: ConnectionSettings,
  kind: KafkaClientKind = settings.client ?? "kafkajs",
): Promise<KafkaClient> {
  switch (kind) {
    case "kafkajs": {
      // Replaces kafkajs modules in the module cache, so it must run before kafkajs loads.
      await import("./kafkajs_patches.ts");
      const { KafkajsClient } = await import("./kafkajs/kafkajs_client.ts");
      return new KafkajsClient(settings);
    }
    case "platformatic": {
      const { PlatformaticClient } = await import("./platformatic/platformatic_client.ts");
      return new PlatformaticClient(settings);
    }
    default:
      throw new UserFacingError(`Kafka client ${kind} is not available in this build`);
  }
}
