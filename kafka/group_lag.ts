import type { GroupLag, KafkaAdmin } from "./boundary/admin.ts";

/**
 * A consumer group's backlog from its committed offsets and the end offsets. Partitions the group
 * never committed count from the earliest retained offset: that whole backlog is still
 * unprocessed by the group.
 */
export async function readGroupLag(
  admin: Pick<KafkaAdmin, "committedOffsets" | "partitionOffsets">,
  group: string,
  topic: string,
): Promise<GroupLag> {
  const [committed, ends] = await Promise.all([
    admin.committedOffsets(group, topic),
    admin.partitionOffsets(topic),
  ]);
  const partitions = ends
    .map((e) => {
      const end = Number(e.latest);
      const done = committed.get(e.partition);
      const from = done ?? e.earliest;
      return {
        partition: e.partition,
        committed: done === undefined ? null : Number(done),
        end,
        lag: Math.max(0, end - Number(from)),
      };
    })
    .sort((a, b) => a.partition - b.partition);
  return { group, topic, total: partitions.reduce((s, p) => s + p.lag, 0), partitions };
}
