import { type Consumer, FetchIsolationLevels } from "@platformatic/kafka";

type FetchOptions = Parameters<Consumer["fetch"]>[0];
type FetchResponse = Awaited<ReturnType<Consumer["fetch"]>>;
type ResponsePartition = FetchResponse["responses"][number]["partitions"][number];

/**
 * consumer.fetch() at the given isolation, with the records of a read_committed answer exactly
 * as the broker sent them, for PlatformaticBatch to drop aborted transactions by the Java rule.
 *
 * The library filters a read_committed answer itself, wrongly both ways: it keeps one aborted
 * range per producer id, from the last aborted transaction listed to the producer's last abort
 * marker in the answer. Earlier aborted transactions of that producer are left in, and when a
 * later abort marker has no transaction listed (a transaction aborted before it wrote to this
 * partition) the committed transactions in between are dropped. A test read of an exactly-once
 * agent's predictions lost 1,952 of 33,040 so; kafkajs read all of them from the same topic.
 *
 * Its filter works only on partitions whose answer lists aborted transactions, so only those are
 * fetched again, read_uncommitted from the same offset: the broker's records unfiltered. They are
 * cut where the read_committed answer ended (its last record batch, filtered or not, is at most the
 * last stable offset), the range the aborted list covers.
 */
export async function fetchRecords(
  consumer: Consumer,
  options: FetchOptions,
  isolation: "read_committed" | "read_uncommitted",
): Promise<FetchResponse> {
  const level = isolation === "read_committed"
    ? FetchIsolationLevels.READ_COMMITTED
    : FetchIsolationLevels.READ_UNCOMMITTED;
  const response = await consumer.fetch({ ...options, isolationLevel: level });
  if (isolation === "read_uncommitted") return response;
  const refetch: { partition: ResponsePartition; offset: bigint }[] = [];
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      if (!partition.abortedTransactions?.length || !partition.records?.length) continue;
      const asked = options.topics.find((t) => t.topicId === topic.topicId)?.partitions.find((p) =>
        p.partition === partition.partitionIndex
      );
      if (asked) refetch.push({ partition, offset: asked.fetchOffset });
    }
  }
  if (refetch.length === 0) return response;
  const again = await consumer.fetch({
    ...options,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    topics: options.topics.map((t) => ({
      ...t,
      partitions: t.partitions.filter((p) =>
        refetch.some((r) => r.partition.partitionIndex === p.partition)
      ),
    })).filter((t) => t.partitions.length > 0),
  });
  for (const { partition } of refetch) {
    const committed = partition.records!;
    const last = committed[committed.length - 1];
    const end = last.firstOffset + BigInt(last.lastOffsetDelta) + 1n;
    const raw = again.responses.flatMap((t) =>
      t.partitions
    ).find((p) => p.partitionIndex === partition.partitionIndex)?.records ?? [];
    const cut = raw.filter((b) =>
      b.firstOffset + BigInt(b.lastOffsetDelta) < end
    );
    // An unfiltered answer that reaches less far than the filtered one (it cannot, short of a
    // leader change between the two): the filtered records are not trusted, so none are handed
    // over and the partition is fetched again from the same offset.
    partition.records = cut.length && cut[cut.length - 1].firstOffset +
            BigInt(cut[cut.length - 1].lastOffsetDelta) + 1n === end
      ? cut
      : [];
  }
  return response;
}
