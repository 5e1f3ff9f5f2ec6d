import type { Kafka } from "kafkajs";
import type { InputBatch } from "../boundary/records.ts";
import { KafkajsBatch } from "./kafkajs_batch.ts";
import type { KafkajsAdmin } from "./kafkajs_admin.ts";
import { REQUEST_RETRY } from "./config.ts";

/**
 * Reads partitions from their earliest retained offset (or the given start) up to (not including)
 * the end offsets. kafkajs only reads through a consumer group, so this uses a throwaway group
 * that never commits and is deleted afterwards. Starts are seeks made as the consumer starts,
 * applied at its first fetch: kafkajs' admin `setOffsets` runs a paused consumer of its own and
 * returns after its first fetch round, for which kafkajs, with nothing to fetch, sleeps its 5 s
 * fetch wait; every rebuild from a snapshot took 5 s longer.
 * A consumer that crashes fails the read (kafkajs would restart it without the seeks, from the
 * earliest offset). Progress is taken from kafkajs' end-of-batch event, which also reports the
 * batches it does not hand over (only transaction markers or aborted records): a topic written in
 * transactions ends with a commit marker.
 */
export async function readKafkajsHistory(
  kafka: Kafka,
  admin: KafkajsAdmin,
  groupId: string,
  topic: string,
  ends: ReadonlyMap<number, bigint>,
  onBatch: (batch: InputBatch) => void,
  starts: ReadonlyMap<number, bigint> = new Map(),
): Promise<number> {
  const pending = new Map<number, bigint>();
  const from = new Map<number, bigint>();
  for (const p of await admin.partitionOffsets(topic)) {
    const end = ends.get(p.partition);
    const start = starts.get(p.partition) ?? p.earliest;
    if (end === undefined || end <= start || end <= p.earliest) continue;
    pending.set(p.partition, end);
    if (start > p.earliest) from.set(p.partition, start);
  }
  if (pending.size === 0) return 0;
  let read = 0;
  const consumer = kafka.consumer({
    groupId,
    maxBytes: 16 << 20,
    maxBytesPerPartition: 4 << 20,
    retry: REQUEST_RETRY,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        const end = pending.get(e.payload.partition);
        if (end === undefined || BigInt(e.payload.lastOffset) + 1n < end) return;
        pending.delete(e.payload.partition);
        consumer.pause([{ topic, partitions: [e.payload.partition] }]);
        if (pending.size === 0) resolve();
      });
      consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          const end = pending.get(batch.partition);
          if (end === undefined) {
            consumer.pause([{ topic, partitions: [batch.partition] }]);
            return Promise.resolve();
          }
          const messages = batch.messages;
          let n = messages.length;
          while (n > 0 && BigInt(messages[n - 1].offset) >= end) n--;
          if (n > 0) {
            onBatch(
              new KafkajsBatch(
                topic,
                batch.partition,
                n === messages.length ? messages : messages.slice(0, n),
                batch.highWatermark,
              ),
            );
            read += n;
          }
          return Promise.resolve();
        },
      }).catch(reject);
      // run() has made the consumer's group by now; the seeks wait for its first fetch.
      for (const [partition, offset] of from) {
        consumer.seek({ topic, partition, offset: String(offset) });
      }
    });
  } finally {
    await consumer.disconnect();
  }
  await admin.deleteGroups([groupId]).catch(() => {});
  return read;
}
