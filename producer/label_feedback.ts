import type { OutputRecord } from "../kafka/boundary.ts";
import {
  encodeLabel,
  encodeWatermark,
  type LabelRecord,
  newLabelRecord,
  WATERMARK_KEY,
} from "../transactions/label_record.ts";
import { DAY_MS } from "../features/feature_engine.ts";
import type { RowBatch } from "./file_reader.ts";

export interface LabelFeedbackOptions {
  /** Partitions of the labels topic: every one gets each watermark. */
  partitions: number;
}

/**
 * Simulates the bank's investigations: the label of every transaction sent is published to the
 * `labels` topic (key = terminal id) once the stream's event time has passed the transaction's
 * event time + the label delay, never earlier. Pending labels wait in a FIFO of typed arrays in
 * send order, which is event-time order for day files; a row older than the ones before it is
 * published with them, i.e. late, never early.
 *
 * After the labels, a watermark record goes to every partition of the topic (see
 * transactions/label_record.ts): all labels up to the stream's event time - the delay are out.
 * It is sent whenever it enters a new UTC day of event time, which is as fine as the agent needs:
 * terminal features read whole days of labels. Callers publish the labels due at a batch's event
 * time before they send the batch, so its transactions never wait for their watermark.
 */
export class LabelFeedback {
  published = 0;
  watermarks = 0;
  /** The latest watermark sent (epoch ms), or -Infinity. */
  watermarkMs = -Infinity;
  private head = 0;
  private tail = 0;
  private transactionId: Float64Array = new Float64Array(1 << 14);
  private customerId: Float64Array = new Float64Array(1 << 14);
  private terminalId: Float64Array = new Float64Array(1 << 14);
  private eventTimeMs: Float64Array = new Float64Array(1 << 14);
  /** fraud in bit 2, scenario in bits 0-1. */
  private label: Uint8Array = new Uint8Array(1 << 14);
  private readonly record: LabelRecord = newLabelRecord();

  private readonly partitions: number;

  /**
   * `publish` sends label records to the labels topic (an output cuts them by bytes, so a burst
   * of labels falling due at once is one call).
   */
  constructor(
    readonly delayMs: number,
    private readonly publish: (records: OutputRecord[]) => Promise<void>,
    options: LabelFeedbackOptions,
  ) {
    this.partitions = options.partitions;
  }

  get pending(): number {
    return this.tail - this.head;
  }

  /** Queues the labels of the good rows among batch rows [from, to). */
  enqueue(batch: RowBatch, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (batch.reason[i] !== null) continue;
      if (this.tail === this.eventTimeMs.length) this.makeRoom();
      const k = this.tail++;
      this.transactionId[k] = batch.transactionId[i];
      this.customerId[k] = batch.customerId[i];
      this.terminalId[k] = batch.terminalId[i];
      this.eventTimeMs[k] = batch.eventTimeMs[i];
      this.label[k] = (batch.fraud[i] << 2) | batch.scenario[i];
    }
  }

  /**
   * Publishes every label due by event time nowMs, then the watermark when it entered a new day;
   * resolves once the broker has them. Returns the number of labels.
   */
  async publishDue(nowMs: number): Promise<number> {
    const due = nowMs - this.delayMs;
    const records: OutputRecord[] = [];
    while (this.head < this.tail && this.eventTimeMs[this.head] <= due) {
      const k = this.head++;
      const r = this.record;
      r.transactionId = this.transactionId[k];
      r.customerId = this.customerId[k];
      r.terminalId = this.terminalId[k];
      r.eventTimeMs = this.eventTimeMs[k];
      r.fraud = (this.label[k] >> 2) as 0 | 1;
      r.scenario = (this.label[k] & 3) as LabelRecord["scenario"];
      records.push({ key: String(r.terminalId), value: encodeLabel(r) });
    }
    if (records.length > 0) {
      await this.publish(records);
      this.published += records.length;
    }
    if (Math.floor(due / DAY_MS) > Math.floor(this.watermarkMs / DAY_MS)) {
      const value = encodeWatermark({ eventTimeMs: due });
      await this.publish(
        Array.from({ length: this.partitions }, (_, partition) => ({
          key: WATERMARK_KEY,
          value,
          partition,
        })),
      );
      this.watermarkMs = due;
      this.watermarks++;
    }
    return records.length;
  }

  /** Moves the live part to the front, growing the arrays when more than half is live. */
  private makeRoom(): void {
    const live = this.tail - this.head;
    const size = live * 2 > this.eventTimeMs.length
      ? this.eventTimeMs.length * 2
      : this.eventTimeMs.length;
    const move = <T extends Float64Array | Uint8Array>(a: T, fresh: (n: number) => T): T => {
      const b = size === a.length ? a : fresh(size);
      b.set(a.subarray(this.head, this.tail), 0);
      return b;
    };
    this.transactionId = move(this.transactionId, (n) => new Float64Array(n));
    this.customerId = move(this.customerId, (n) => new Float64Array(n));
    this.terminalId = move(this.terminalId, (n) => new Float64Array(n));
    this.eventTimeMs = move(this.eventTimeMs, (n) => new Float64Array(n));
    this.label = move(this.label, (n) => new Uint8Array(n));
    this.head = 0;
    this.tail = live;
  }
}
