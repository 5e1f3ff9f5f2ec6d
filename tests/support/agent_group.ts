import type { KafkaMessage } from "kafkajs";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import { testKafka, uniquePrefix } from "./kafka.ts";
import { inputId, multiset, readTopic } from "./pipeline.ts";

/**
 * What the agent tests and the agent fault scenarios share: fresh topics, the output topics
 * read back, and the group's progress from its committed offsets.
 */

/** `generate` flags for the agent tests' data: dirty on purpose (the generator's default dirt). */
export const AGENT_TEST_DATA = [
  "--customers",
  "600",
  "--terminals",
  "1200",
  "--days",
  "10",
  "--seed",
  "11",
];

export async function freshTopics(name: string, partitions = 4) {
  const prefix = uniquePrefix(name);
  const admin = (await testKafka()).admin();
  await admin.connect();
  await ensureTopics(admin, topicNames(prefix), { partitions, replicationFactor: 1 });
  await admin.disconnect();
  return prefix;
}

export async function outputs(prefix: string, brokers?: string[]) {
  const kafka = await testKafka(undefined, brokers);
  const names = topicNames(prefix);
  return {
    predictions: await readTopic(kafka, names.predictions),
    dlq: await readTopic(kafka, names.dlq),
  };
}

/** Input ids as a multiset vs. prediction keys plus the ids in DLQ'd original bytes. */
export function accountedIds(predictions: KafkaMessage[], dlq: KafkaMessage[]) {
  return multiset([
    ...predictions.map((m) => m.key!.toString()),
    ...dlq.map((m) => inputId(m.value!.toString())),
  ]);
}

/** Sum of the group's committed offsets on the transactions topic: messages fully handled. */
export async function groupOffsets(
  prefix: string,
  group: string,
  brokers?: string[],
): Promise<number> {
  const admin = (await testKafka(undefined, brokers)).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({
      groupId: group,
      topics: [topicNames(prefix).transactions],
    });
    return t.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Per partition of the transactions topic: the group's committed offset and the end offset. */
export async function partitionProgress(
  prefix: string,
  group: string,
): Promise<Map<number, { committed: number; end: number }>> {
  const admin = (await testKafka()).admin();
  await admin.connect();
  try {
    const topic = topicNames(prefix).transactions;
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const progress = new Map<number, { committed: number; end: number }>();
    for (const p of await admin.fetchTopicOffsets(topic)) {
      progress.set(p.partition, { committed: 0, end: Number(p.high) });
    }
    for (const p of t.partitions) {
      progress.get(p.partition)!.committed = Math.max(0, Number(p.offset));
    }
    return progress;
  } finally {
    await admin.disconnect();
  }
}

export async function groupDrained(
  prefix: string,
  group: string,
  total: number,
  brokers?: string[],
): Promise<boolean> {
  return await groupOffsets(prefix, group, brokers) >= total;
}
