import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import { testKafka, uniquePrefix } from "./kafka.ts";
import { inputId, multiset, type ReadMessage, readTopic, waitFor } from "./pipeline.ts";

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
  const admin = await (await testKafka()).admin();
  await ensureTopics(admin, topicNames(prefix), { partitions, replicationFactor: 1 });
  await admin.close();
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

/**
 * The outputs once they account for `sent` inputs. A read_committed reader stops short of a
 * killed agent's open transaction until the broker has aborted it (exactly once).
 */
export async function outputsAccountingFor(prefix: string, sent: number, timeoutMs: number) {
  let read = await outputs(prefix);
  await waitFor("every open transaction ended", async () => {
    read = await outputs(prefix);
    return read.predictions.length + read.dlq.length >= sent;
  }, timeoutMs);
  return read;
}

/** Input ids the outputs account for fewer times than they were sent: what was lost. */
export function lostIds(expected: Map<string, number>, got: Map<string, number>): string[] {
  return [...expected].filter(([id, n]) => (got.get(id) ?? 0) < n).map(([id]) => id);
}

/** Input ids as a multiset vs. prediction keys plus the ids in DLQ'd original bytes. */
export function accountedIds(predictions: ReadMessage[], dlq: ReadMessage[]) {
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
  const admin = await (await testKafka(undefined, brokers)).admin();
  try {
    const committed = await admin.committedOffsets(group, topicNames(prefix).transactions);
    return [...committed.values()].reduce((sum, offset) => sum + Number(offset), 0);
  } finally {
    await admin.close();
  }
}

/** Per partition of the transactions topic: the group's committed offset and the end offset. */
export async function partitionProgress(
  prefix: string,
  group: string,
  brokers?: string[],
): Promise<Map<number, { committed: number; end: number }>> {
  const admin = await (await testKafka(undefined, brokers)).admin();
  try {
    const topic = topicNames(prefix).transactions;
    const committed = await admin.committedOffsets(group, topic);
    const progress = new Map<number, { committed: number; end: number }>();
    for (const p of await admin.partitionOffsets(topic)) {
      progress.set(p.partition, {
        committed: Number(committed.get(p.partition) ?? 0n),
        end: Number(p.latest),
      });
    }
    return progress;
  } finally {
    await admin.close();
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
