/**
 * Which event times a row may carry: the one rule the file reader (hence the producer and the
 * training export) and the agent apply, inside applyFields, so a row dated 0001, 1970, 2100 or
 * 9999 is rejected as `implausible_time` before it can move anything that keeps time (the
 * producer's event-time clock and label feedback, a customer's windows, a partition's position in
 * the label join, the origin a reader learns to derive missing datetimes).
 *
 * The verdict is a pure function of the row: a fixed era, no watermark and no per-customer
 * state, because it must be the same online and offline whatever the replay speed, partitioning,
 * restart or rebalance; docs/decisions.md ("Event times outside 2000..2099 are implausible") says
 * why a bound relative to the stream cannot be.
 */

/** First instant a row may carry: 2000-01-01T00:00:00Z. */
export const PLAUSIBLE_FROM_MS = Date.UTC(2000, 0, 1);
/** First instant past the era: 2100-01-01T00:00:00Z. */
export const PLAUSIBLE_UNTIL_MS = Date.UTC(2100, 0, 1);

/**
 * True when a row's two statements of time both lie in the era: its event time, and the start of
 * its data set that its tx_time_seconds implies (event time - tx_time_seconds), which genuine rows
 * all share. The second catches a tx_time_seconds of centuries on an otherwise ordinary row.
 */
export function plausibleTime(eventTimeMs: number, timeSeconds: number): boolean {
  const originMs = eventTimeMs - timeSeconds * 1000;
  return eventTimeMs >= PLAUSIBLE_FROM_MS && eventTimeMs < PLAUSIBLE_UNTIL_MS &&
    originMs >= PLAUSIBLE_FROM_MS;
}
