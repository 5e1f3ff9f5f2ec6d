import { FetchedRecord } from "./record_codec.ts";

/** A record as kafkajs' consumer Batch reads it. */
interface BatchMessage {
  readonly offset: string;
  readonly isControlRecord?: boolean;
}

/** kafkajs' partition data of a fetch response, as far as its Batch reads it. */
interface PartitionData {
  messages: BatchMessage[];
  abortedTransactions?: unknown[];
}

/** kafkajs' consumer Batch class (consumer/batch.js). */
type KafkajsBatchClass = new (
  topic: string,
  fetchedOffset: string,
  partitionData: PartitionData,
) => {
  rawMessages: BatchMessage[];
  messagesWithinOffset: BatchMessage[];
  messages: BatchMessage[];
};

type FilterAborted = (
  input: { messages: BatchMessage[]; abortedTransactions?: unknown[] },
) => BatchMessage[];

const NONE: BatchMessage[] = [];

/**
 * The replacement for kafkajs' consumer Batch (consumer/batch.js): the same batch, without a Long
 * parsed from a decimal string for every record to drop the records before the fetched offset.
 * A partition's records arrive in offset order, so those are a prefix, found by comparing numbers
 * (FetchedRecord keeps its offset as one). Offsets past 2^53, which no real partition reaches, go
 * through kafkajs' own Batch.
 */
export function createBatch(
  Shipped: KafkajsBatchClass,
  filterAbortedMessages: FilterAborted,
): KafkajsBatchClass {
  return class Batch extends Shipped {
    constructor(topic: string, fetchedOffset: string, partitionData: PartitionData) {
      const from = firstWithin(partitionData.messages, Number(fetchedOffset));
      if (from < 0) return new Shipped(topic, fetchedOffset, partitionData);
      super(topic, fetchedOffset, { ...partitionData, messages: NONE });
      const messages = partitionData.messages;
      this.rawMessages = messages;
      this.messagesWithinOffset = from === 0 ? messages : messages.slice(from);
      this.messages = withoutControlRecords(filterAbortedMessages({
        messages: this.messagesWithinOffset,
        abortedTransactions: partitionData.abortedTransactions,
      }));
    }
  };
}

/** The records that are not control records: the same array when none is (the common case). */
function withoutControlRecords(messages: BatchMessage[]): BatchMessage[] {
  return messages.some((m) => m.isControlRecord)
    ? messages.filter((m) => !m.isControlRecord)
    : messages;
}

/** Index of the first record at or after `fetched`; -1 when an offset is not a safe integer. */
function firstWithin(messages: BatchMessage[], fetched: number): number {
  if (!Number.isSafeInteger(fetched)) return -1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const offset = m instanceof FetchedRecord ? m.offsetNumber : Number(m.offset);
    if (!Number.isSafeInteger(offset)) return -1;
    if (offset >= fetched) return i;
  }
  return messages.length;
}
