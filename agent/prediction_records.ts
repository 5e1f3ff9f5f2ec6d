import { Buffer } from "node:buffer";
import type { OutputRecord } from "../kafka/boundary.ts";

/** One scored batch, column by column, as the scoring loop holds it. */
export interface ScoredColumns {
  transactionIds: Float64Array;
  customerIds: Float64Array;
  scores: Float32Array;
  eventTimesMs: Float64Array;
  latenciesMs: Float64Array;
  /** 1 when the row's terminal features read every label they should (agent/label_join.ts). */
  labelsComplete: Uint8Array;
}

/**
 * Encodes prediction records (JSON value, key = transaction id) for a whole batch at once. The
 * batch's text is built as one ASCII string and encoded into one Buffer, and every key and value is
 * a view into it: handed strings, a Kafka client measures and copies each key and value
 * separately, which a CPU profile put at a fifth of the agent's time.
 */
export class PredictionEncoder {
  readonly #threshold: number;
  readonly #modelJson: string;
  #ends = new Uint32Array(0);
  #day = NaN;
  #dayPrefix = "";

  constructor(modelName: string, modelVersion: string, threshold: number) {
    this.#threshold = threshold;
    this.#modelJson = asciiJsonString(`${modelName}@${modelVersion}`);
  }

  encode(columns: ScoredColumns, rows: number): OutputRecord[] {
    if (this.#ends.length < 2 * rows) this.#ends = new Uint32Array(Math.max(2 * rows, 512));
    const ends = this.#ends;
    const { transactionIds, customerIds, scores, eventTimesMs, latenciesMs, labelsComplete } =
      columns;
    const threshold = this.#threshold;
    const model = this.#modelJson;
    let text = "";
    for (let r = 0; r < rows; r++) {
      const id = transactionIds[r];
      const score = scores[r];
      text += id;
      ends[2 * r] = text.length;
      text += `{"transaction_id":${id},"customer_id":${customerIds[r]},"score":${score},"fraud":${
        score >= threshold
      },"threshold":${threshold},"model":${model},"event_time":"${
        this.#isoTime(eventTimesMs[r])
      }","labels_complete":${labelsComplete[r] === 1},"latency_ms":${latenciesMs[r]}}`;
      ends[2 * r + 1] = text.length;
    }
    // Every character is ASCII (numbers, ISO dates, an escaped model label), so UTF-8 takes one
    // byte per character and the string offsets above are byte offsets.
    const bytes = Buffer.from(text);
    const records = new Array<OutputRecord>(rows);
    let start = 0;
    for (let r = 0; r < rows; r++) {
      const keyEnd = ends[2 * r];
      const end = ends[2 * r + 1];
      records[r] = { key: bytes.subarray(start, keyEnd), value: bytes.subarray(keyEnd, end) };
      start = end;
    }
    return records;
  }

  /**
   * `new Date(ms).toISOString()` without a Date per row: a batch's event times mostly share their
   * day, so the date part is kept and the time of day is assembled from small lookup tables.
   */
  #isoTime(ms: number): string {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      const iso = new Date(day * DAY_MS).toISOString();
      this.#dayPrefix = iso.slice(0, iso.indexOf("T") + 1);
    }
    const t = ms - day * DAY_MS;
    const seconds = Math.floor(t / 1000);
    return `${this.#dayPrefix}${TWO_DIGITS[Math.floor(seconds / 3600)]}:${
      TWO_DIGITS[Math.floor(seconds / 60) % 60]
    }:${TWO_DIGITS[seconds % 60]}.${THREE_DIGITS[Math.floor(t % 1000)]}Z`;
  }
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));

/** JSON string literal with every non-ASCII character escaped: one byte per character. */
export function asciiJsonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
