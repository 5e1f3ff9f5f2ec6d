import type { Kafka, KafkaMessage } from "kafkajs";

/**
 * Reads partitions of a topic from their earliest retained offset up to (not including) given
 * end offsets, handing each chunk to `onMessages`. kafkajs only reads through a consumer group,
 * so this uses a throwaway group that never commits and is deleted afterwards.
 */
export async function readPartitionHistory(
  kafka: Kafka,
  topic: string,
  ends: Map<number, number>,
  groupId: string,
  onMessages: (partition: number, messages: KafkaMessage[]) => void,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const pending = new Map<number, number>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const end = ends.get(p.partition);
      if (end !== undefined && end > Number(p.low)) pending.set(p.partition, end);
    }
    if (pending.size === 0) return 0;
    let read = 0;
    const consumer = kafka.consumer({ groupId, maxBytes: 16 << 20, maxBytesPerPartition: 4 << 20 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        consumer.run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            const end = pending.get(batch.partition);
            if (end === undefined) {
              consumer.pause([{ topic, partitions: [batch.partition] }]);
              return Promise.resolve();
            }
            let n = batch.messages.length;
            while (n > 0 && Number(batch.messages[n - 1].offset) >= end) n--;
            if (n > 0) {
              onMessages(
                batch.partition,
                n === batch.messages.length ? batch.messages : batch.messages.slice(0, n),
              );
              read += n;
            }
            if (Number(batch.lastOffset()) + 1 >= end || n < batch.messages.length) {
              pending.delete(batch.partition);
              consumer.pause([{ topic, partitions: [batch.partition] }]);
              if (pending.size === 0) resolve();
            }
            return Promise.resolve();
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch(() => {});
    return read;
  } finally {
    await admin.disconnect();
  }
}
