import type { KafkaClient } from "./boundary.ts";

const text = new TextDecoder();

/**
 * Produces `count` records with a unique run id and reads the topic from the end offsets taken
 * before producing, until all of them are back. Used by `ping`, the demo and tests.
 */
export async function roundTrip(
  client: KafkaClient,
  topic: string,
  count: number,
): Promise<{ received: number; ms: number; values: string[] }> {
  const started = performance.now();
  const admin = await client.admin();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
    }
    const before = await admin.partitionOffsets(topic);
    const runId = crypto.randomUUID();
    const output = await client.output();
    const sent = Array.from({ length: count }, (_, i) => `${runId}:${i}`);
    try {
      await output.send([{ topic, records: sent.map((value) => ({ key: runId, value })) }]);
    } finally {
      await output.close();
    }
    const ends = new Map((await admin.partitionOffsets(topic)).map((p) => [p.partition, p.latest]));
    const values: string[] = [];
    await client.readHistory(topic, ends, (batch) => {
      const from = before.find((p) => p.partition === batch.partition)?.latest ?? 0n;
      for (let i = 0; i < batch.length; i++) {
        if (batch.offset(i) < from) continue;
        const v = text.decode(batch.value(i) ?? new Uint8Array());
        if (v.startsWith(runId)) values.push(v);
      }
    });
    return { received: values.length, ms: Math.round(performance.now() - started), values };
  } finally {
    await admin.close();
  }
}
