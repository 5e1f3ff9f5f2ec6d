import type { Admin } from "kafkajs";

/** A consumer group's backlog on one topic, as Kafka sees it: committed offsets vs end offsets. */
export interface GroupLag {
  group: string;
  topic: string;
  total: number;
  partitions: { partition: number; committed: number | null; end: number; lag: number }[];
}

/**
 * Partitions the group never committed count from the earliest retained offset: that whole
 * backlog is still unprocessed by the group.
 */
export async function groupLag(admin: Admin, group: string, topic: string): Promise<GroupLag> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
  ]);
  const byPartition = new Map<number, number>();
  for (const p of committed.find((t) => t.topic === topic)?.partitions ?? []) {
    const offset = Number(p.offset);
    if (offset >= 0) byPartition.set(p.partition, offset);
  }
  const partitions = ends
    .map((e) => {
      const end = Number(e.high);
      const done = byPartition.get(e.partition);
      const from = done ?? Number(e.low);
      return {
        partition: e.partition,
        committed: done ?? null,
        end,
        lag: Math.max(0, end - from),
      };
    })
    .sort((a, b) => a.partition - b.partition);
  return { group, topic, total: partitions.reduce((s, p) => s + p.lag, 0), partitions };
}
