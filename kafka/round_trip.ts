import type { Kafka } from "kafkajs";
import { PRODUCER_OPTIONS } from "./producer_options.ts";

/**
 * Produces `count` records with a unique run id and consumes the topic from the end offsets
 * taken before producing, until all of them are back. Used by `ping`, the demo and tests.
 */
export async function roundTrip(
  kafka: Kafka,
  topic: string,
  count: number,
): Promise<{ received: number; ms: number; values: string[] }> {
  const started = performance.now();
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    }
    const before = await admin.fetchTopicOffsets(topic);
    const runId = crypto.randomUUID();
    const producer = kafka.producer(PRODUCER_OPTIONS);
    await producer.connect();
    const sent = Array.from({ length: count }, (_, i) => `${runId}:${i}`);
    await producer.send({
      topic,
      acks: -1,
      messages: sent.map((value) => ({ key: runId, value })),
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `fraudstream-ping-${runId}` });
    const values: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: false });
      const done = new Promise<void>((resolve) => {
        consumer.run({
          eachBatch: ({ batch }) => {
            for (const m of batch.messages) {
              const v = m.value?.toString() ?? "";
              if (v.startsWith(runId)) values.push(v);
            }
            if (values.length >= count) resolve();
            return Promise.resolve();
          },
        });
      });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const p of before) consumer.seek({ topic, partition: p.partition, offset: p.offset });
      });
      await done;
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([`fraudstream-ping-${runId}`]).catch(() => {});
    return { received: values.length, ms: Math.round(performance.now() - started), values };
  } finally {
    await admin.disconnect();
  }
}
