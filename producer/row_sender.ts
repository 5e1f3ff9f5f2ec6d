import { UserFacingError } from "../cli/usage_error.ts";
import type { KafkaOutput, OutputRecord } from "../kafka/boundary.ts";
import { errorText } from "../kafka/connection.ts";
import type { TopicNames } from "../kafka/topics.ts";
import type { RowBatch } from "./file_reader.ts";
import type { LabelFeedback } from "./label_feedback.ts";

/** Which rows of a batch to send, and their bytes. */
export interface RowsToSend {
  /** Rejected rows are sent too (as the bank's feed would), unless this says to skip them. */
  skipRejected?: boolean;
  /** Row i's value; by default its line, copied (the reader reuses the batch's buffer). */
  value?: (batch: RowBatch, i: number) => Uint8Array;
}

/** What one `send` put on the transactions topic. */
export interface SentRows {
  records: number;
  rejected: number;
}

const copyOfLine = (batch: RowBatch, i: number) => batch.line(i).slice();

/**
 * The replay of day-file rows into Kafka, shared by `fraudstream produce` and the capacity
 * planner's load driver: each row becomes a transactions record (key = customer id, as the bank's
 * feed, none for a rejected row), and the labels due by the rows' event time go out first, so an
 * agent never waits for the labels these transactions need. Sends are cut by bytes by the output.
 */
export class RowSender {
  readonly #output: KafkaOutput;
  readonly #topics: TopicNames;
  /** Label feedback whose due labels go out ahead of the rows. */
  labels: LabelFeedback | undefined;
  /** The latest event time among the good rows sent (epoch ms), NaN before the first. */
  eventTimeMs = NaN;
  sent = 0;

  constructor(output: KafkaOutput, topics: TopicNames) {
    this.#output = output;
    this.#topics = topics;
  }

  /** Sends records to a topic; a failure is one line naming the topic. */
  async publish(topic: string, records: OutputRecord[]): Promise<void> {
    try {
      await this.#output.send([{ topic, records }]);
    } catch (err) {
      throw new UserFacingError(`cannot send to ${topic}: ${errorText(err)}`);
    }
  }

  /** Sends rows [from, to) of the batch, after the labels due by their event time. */
  async send(batch: RowBatch, from: number, to: number, rows: RowsToSend = {}): Promise<SentRows> {
    const value = rows.value ?? copyOfLine;
    // Stamped when released, before the labels go out: a label is never older than the
    // transactions that made it due.
    const timestampMs = Date.now();
    const records: OutputRecord[] = [];
    let rejected = 0;
    for (let i = from; i < to; i++) {
      const good = batch.reason[i] === null;
      if (!good && rows.skipRejected) continue;
      const key = good ? String(batch.customerId[i]) : null;
      records.push({ key, value: value(batch, i), timestampMs });
      if (!good) rejected++;
      else if (!(batch.eventTimeMs[i] <= this.eventTimeMs)) this.eventTimeMs = batch.eventTimeMs[i];
    }
    const labels = this.labels;
    if (labels) {
      labels.enqueue(batch, from, to);
      if (!Number.isNaN(this.eventTimeMs)) await labels.publishDue(this.eventTimeMs);
    }
    if (records.length > 0) await this.publish(this.#topics.transactions, records);
    this.sent += records.length;
    return { records: records.length, rejected };
  }
}
