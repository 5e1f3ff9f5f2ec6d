/**
 * A label from the bank's investigations, as published on the `labels` topic once its delay has
 * passed (key = terminal id). JSON, so that a real investigation system can publish it too.
 */
export interface LabelRecord {
  transactionId: number;
  customerId: number;
  terminalId: number;
  /** Event time of the labelled transaction (not of the investigation), epoch ms. */
  eventTimeMs: number;
  fraud: 0 | 1;
  scenario: 0 | 1 | 2 | 3;
}

/** A zeroed record for a reader or writer to fill in place (no object per label). */
export function newLabelRecord(): LabelRecord {
  return { transactionId: 0, customerId: 0, terminalId: 0, eventTimeMs: 0, fraud: 0, scenario: 0 };
}

export function encodeLabel(l: LabelRecord): string {
  return `{"transaction_id":${l.transactionId},"customer_id":${l.customerId},"terminal_id":${l.terminalId},"event_time_ms":${l.eventTimeMs},"fraud":${l.fraud},"scenario":${l.scenario}}`;
}

/**
 * The label stream's progress, published by the label publisher to EVERY partition of the labels
 * topic after the labels it covers: "every label of a transaction with event time <= eventTimeMs
 * is in this partition before this record". Key `watermark`; the value is
 * `{"label_watermark_ms":W}`. The agent's label watermark is the lowest of its partitions' latest
 * ones, and it scores a transaction only once that covers what the transaction's features read.
 */
export interface LabelWatermark {
  eventTimeMs: number;
}

export const WATERMARK_KEY = "watermark";

export function encodeWatermark(w: LabelWatermark): string {
  return `{"label_watermark_ms":${w.eventTimeMs}}`;
}

/** One record of the labels topic: a label, a watermark, or null when it is neither. */
export type LabelMessage =
  | { kind: "label"; label: LabelRecord }
  | { kind: "watermark"; watermark: LabelWatermark };

export function decodeLabelMessage(text: string): LabelMessage | null {
  const v = parseObject(text);
  if (v === null) return null;
  if ("label_watermark_ms" in v) {
    const w = v.label_watermark_ms;
    return typeof w === "number" && Number.isFinite(w)
      ? { kind: "watermark", watermark: { eventTimeMs: w } }
      : null;
  }
  const label = labelOf(v);
  return label === null ? null : { kind: "label", label };
}

/** Parses a label message; null when it is not a valid label (the caller counts those). */
export function decodeLabel(text: string): LabelRecord | null {
  const v = parseObject(text);
  return v === null ? null : labelOf(v);
}

function parseObject(text: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : null;
}

function labelOf(v: Record<string, unknown>): LabelRecord | null {
  const { transaction_id, customer_id, terminal_id, event_time_ms, fraud, scenario } = v;
  if (
    !isId(transaction_id) || !isId(customer_id) || !isId(terminal_id) ||
    typeof event_time_ms !== "number" || !Number.isFinite(event_time_ms) ||
    (fraud !== 0 && fraud !== 1) ||
    (scenario !== undefined && scenario !== 0 && scenario !== 1 && scenario !== 2 && scenario !== 3)
  ) return null;
  return {
    transactionId: transaction_id,
    customerId: customer_id,
    terminalId: terminal_id,
    eventTimeMs: event_time_ms,
    fraud,
    scenario: (scenario ?? 0) as LabelRecord["scenario"],
  };
}

function isId(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LABEL_KEYS = [
  '{"transaction_id":',
  ',"customer_id":',
  ',"terminal_id":',
  ',"event_time_ms":',
  ',"fraud":',
  ',"scenario":',
].map((k) => encoder.encode(k));
const MINUS = 0x2d;
const ZERO = 0x30;
const CLOSE = 0x7d;

/**
 * Reads one record of the labels topic, bytes [start, end) of buf, into `out` (a watermark's time
 * goes to out.eventTimeMs) and says which it was, or null when it is neither. The agent reads every
 * label of the bank, so the labels encodeLabel writes are read straight from the bytes, without a
 * string or an object per record (3x faster than JSON.parse and a string); any other spelling of
 * the JSON takes the general path and means the same.
 */
export function readLabelMessage(
  buf: Uint8Array,
  start: number,
  end: number,
  out: LabelRecord,
): "label" | "watermark" | null {
  if (readCanonicalLabel(buf, start, end, out)) return "label";
  const m = decodeLabelMessage(decoder.decode(buf.subarray(start, end)));
  if (m === null) return null;
  if (m.kind === "watermark") {
    out.eventTimeMs = m.watermark.eventTimeMs;
    return "watermark";
  }
  Object.assign(out, m.label);
  return "label";
}

/** The fields of encodeLabel's output, in its order; false (out untouched or partly) otherwise. */
function readCanonicalLabel(b: Uint8Array, at: number, end: number, out: LabelRecord): boolean {
  let i = at;
  const values = CANONICAL_VALUES;
  for (let f = 0; f < LABEL_KEYS.length; f++) {
    const key = LABEL_KEYS[f];
    if (i + key.length > end) return false;
    for (let k = 0; k < key.length; k++) if (b[i + k] !== key[k]) return false;
    i += key.length;
    const negative = f === 3 && b[i] === MINUS;
    if (negative) i++;
    const start = i;
    let v = 0;
    while (i < end && b[i] >= ZERO && b[i] <= ZERO + 9) v = v * 10 + (b[i++] - ZERO);
    // No digits, a leading zero or more than 15 digits (past exact integers): the general path.
    if (i === start || i - start > 15 || (b[start] === ZERO && i - start > 1)) return false;
    values[f] = negative ? -v : v;
  }
  if (i !== end - 1 || b[i] !== CLOSE) return false;
  if (values[4] > 1 || values[5] > 3) return false;
  out.transactionId = values[0];
  out.customerId = values[1];
  out.terminalId = values[2];
  out.eventTimeMs = values[3];
  out.fraud = values[4] as 0 | 1;
  out.scenario = values[5] as LabelRecord["scenario"];
  return true;
}

const CANONICAL_VALUES = new Float64Array(6);
