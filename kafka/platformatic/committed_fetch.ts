import { type Consumer, FetchIsolationLevels } from "@platformatic/kafka";
import { offsetAfter } from "./platformatic_batch.ts";

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
  const refetch: ResponsePartition[] = response.responses.flatMap((t) => t.partitions)
    .filter((p) => p.abortedTransactions?.length && p.records?.length);
  if (refetch.length === 0) return response;
  const again = await consumer.fetch({
    ...options,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    topics: options.topics.map((t) => ({
      ...t,
      partitions: t.partitions.filter((p) => refetch.some((r) => r.partitionIndex === p.partition)),
    })).filter((t) => t.partitions.length > 0),
  });
  const raw = again.responses.flatMap((t) => t.partitions);
  for (const partition of refetch) {
    const end = offsetAfter(partition.records!.at(-1)!);
    const cut = (raw.find((p) => p.partitionIndex === partition.partitionIndex)?.records ?? [])
      .filter((b) => offsetAfter(b) <= end);
    // An unfiltered answer that reaches less far than the filtered one (it cannot, short of a
    // leader change between the two): the filtered records are not trusted, so none are handed
    // over and the partition is fetched again from the same offset.
    partition.records = cut.length && offsetAfter(cut.at(-1)!) === end ? cut : [];
  }
  return response;
}
