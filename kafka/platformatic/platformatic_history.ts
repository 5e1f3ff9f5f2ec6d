import { Consumer, FetchIsolationLevels, ListOffsetTimestamps } from "@platformatic/kafka";
import type { ByteRange, InputBatch } from "../boundary/records.ts";
import type { ConnectionSettings } from "../connection.ts";
import { platformaticOptions } from "./config.ts";
import { offsetAfter, PlatformaticBatch } from "./platformatic_batch.ts";
import { fetchRecords } from "./committed_fetch.ts";

type FetchTopics = Parameters<Consumer["fetch"]>[0]["topics"];

/**
 * Reads partitions from their earliest retained offset (or the given start) up to (not including)
 * the end offsets with
 * plain fetches: no group is joined and nothing is committed. Progress is taken from the record
 * batches fetched, transaction markers included, so a topic written in transactions (ending in a
 * commit marker) is read to its end.
 */
export async function readPlatformaticHistory(
  s: ConnectionSettings,
  topic: string,
  ends: ReadonlyMap<number, bigint>,
  onBatch: (batch: InputBatch) => void,
  startAt: ReadonlyMap<number, bigint> = new Map(),
): Promise<number> {
  const consumer = new Consumer({
    ...platformaticOptions(s),
    groupId: `${s.clientId}.history.${crypto.randomUUID().slice(0, 8)}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  consumer.on("error", () => {});
  try {
    const starts = (await consumer.listOffsets({
      topics: [topic],
      timestamp: ListOffsetTimestamps.EARLIEST,
    })).get(topic) ?? [];
    const next = new Map<number, bigint>();
    for (const [p, end] of ends) {
      if (starts[p] === undefined) continue;
      const given = startAt.get(p);
      const start = given !== undefined && given > starts[p] ? given : starts[p];
      if (end > start) next.set(p, start);
    }
    let read = 0;
    while (next.size > 0) {
      const metadata = await consumer.metadata({ topics: [topic] });
      const meta = metadata.topics.get(topic)!;
      const byNode = new Map<number, number[]>();
      for (const p of next.keys()) {
        const leader = meta.partitions[p].leader;
        byNode.set(leader, [...(byNode.get(leader) ?? []), p]);
      }
      await Promise.all([...byNode].map(async ([node, partitions]) => {
        const request: FetchTopics = [{
          topicId: meta.id,
          partitions: partitions.map((p) => ({
            partition: p,
            fetchOffset: next.get(p)!,
            partitionMaxBytes: 4 << 20,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        }];
        const response = await fetchRecords(consumer, {
          node,
          topics: request,
          maxWaitTime: 500,
          maxBytes: 16 << 20,
        }, "read_committed");
        for (const t of response.responses) {
          for (const part of t.partitions) {
            const p = part.partitionIndex;
            const from = next.get(p);
            const batches = part.records;
            if (from === undefined || !batches?.length) continue;
            const end = ends.get(p)!;
            const batch = new PlatformaticBatch(
              topic,
              p,
              batches,
              from,
              part.highWatermark,
              part.abortedTransactions ?? [],
            );
            let n = batch.length;
            while (n > 0 && batch.offset(n - 1) >= end) n--;
            if (n > 0) {
              onBatch(n === batch.length ? batch : new HeadOf(batch, n));
              read += n;
            }
            const last = batches[batches.length - 1];
            const after = offsetAfter(last);
            if (after >= end) next.delete(p);
            else next.set(p, after);
          }
        }
      }));
    }
    return read;
  } finally {
    await consumer.close(true);
  }
}

/** The first `length` records of a batch. */
class HeadOf implements InputBatch {
  readonly #batch: InputBatch;
  readonly length: number;

  constructor(batch: InputBatch, length: number) {
    this.#batch = batch;
    this.length = length;
  }
  get topic() {
    return this.#batch.topic;
  }
  get partition() {
    return this.#batch.partition;
  }
  get highWatermark() {
    return this.#batch.highWatermark;
  }
  key(i: number) {
    return this.#batch.key(i);
  }
  value(i: number) {
    return this.#batch.value(i);
  }
  valueIn(i: number, range: ByteRange) {
    return this.#batch.valueIn(i, range);
  }
  headers(i: number) {
    return this.#batch.headers(i);
  }
  offset(i: number) {
    return this.#batch.offset(i);
  }
  timestampMs(i: number) {
    return this.#batch.timestampMs(i);
  }
}
