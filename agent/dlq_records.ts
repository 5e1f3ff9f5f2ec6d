import type { InputBatch, OutputRecord } from "../kafka/boundary.ts";
import type { HEADER, RejectReason } from "../transactions/row_fields.ts";

/**
 * Why an input record became a DLQ record instead of a prediction: the row parser's reject
 * reasons (the file reader's too), a '#' header line, or a transaction id seen before. One list
 * for the DLQ header, /stats and /metrics.
 */
export type DlqReason = RejectReason | typeof HEADER | "duplicate_transaction_id";

/** The DLQ record of input record `index`: its key and bytes untouched; why and where from. */
export function dlqRecord(batch: InputBatch, index: number, reason: DlqReason): OutputRecord {
  const { topic, partition } = batch;
  const offset = String(batch.offset(index));
  return {
    key: batch.key(index),
    value: batch.value(index),
    headers: {
      "fraudstream.reason": reason,
      "fraudstream.source": `${topic}/${partition}/${offset}`,
      "fraudstream.source.topic": topic,
      "fraudstream.source.partition": String(partition),
      "fraudstream.source.offset": offset,
    },
  };
}
