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

export function encodeLabel(l: LabelRecord): string {
  return `{"transaction_id":${l.transactionId},"customer_id":${l.customerId},"terminal_id":${l.terminalId},"event_time_ms":${l.eventTimeMs},"fraud":${l.fraud},"scenario":${l.scenario}}`;
}

/** Parses a label message; null when it is not a valid label (the caller counts those). */
export function decodeLabel(text: string): LabelRecord | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object") return null;
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
