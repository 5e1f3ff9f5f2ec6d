import assert from "node:assert/strict";
import type { Transaction } from "../transactions/transaction.ts";
import { dayOf } from "./feature_engine.ts";
import { CUSTOMER_WINDOW_DAYS, NIGHT_BEFORE_HOUR, TERMINAL_WINDOW_DAYS } from "./feature_list.ts";

const DAY = 86_400_000;

/**
 * Test oracle: the features by their written definition, recomputed from scratch per row with
 * no state, day buckets or label feedback, so that the engine is checked against something that
 * shares none of its mechanics. Rows are grouped by customer and terminal only to keep the
 * recomputation affordable on generated data sets.
 */
export class BruteForceOracle {
  readonly #byCustomer = new Map<number, number[]>();
  readonly #byTerminal = new Map<number, number[]>();

  constructor(readonly rows: readonly Transaction[], readonly delayMs: number) {
    rows.forEach((r, i) => {
      push(this.#byCustomer, r.customerId, i);
      push(this.#byTerminal, r.terminalId, i);
    });
  }

  /** Features of row i, as float32 values like the engine writes them. */
  features(i: number): number[] {
    const rows = this.rows;
    const tx = rows[i];
    const day = dayOf(tx.eventTimeMs);
    const hour = new Date(tx.eventTimeMs).getUTCHours();
    const weekday = new Date(tx.eventTimeMs).getUTCDay();
    const out = [
      tx.amount,
      weekday === 0 || weekday === 6 ? 1 : 0,
      hour < NIGHT_BEFORE_HOUR ? 1 : 0,
      hour,
    ];
    for (const w of CUSTOMER_WINDOW_DAYS) {
      let count = 0;
      let cents = 0;
      // Rows up to and including this one: the transaction counts in its own windows.
      for (const j of this.#byCustomer.get(tx.customerId)!) {
        if (j > i) break;
        const d = dayOf(rows[j].eventTimeMs);
        if (d >= day - w && d <= day) {
          count++;
          cents += Math.round(rows[j].amount * 100);
        }
      }
      out.push(count, count ? cents / count / 100 : 0);
    }
    const cutoffDay = Math.floor((tx.eventTimeMs - this.delayMs) / DAY);
    for (const w of TERMINAL_WINDOW_DAYS) {
      let count = 0;
      let fraud = 0;
      for (const j of this.#byTerminal.get(tx.terminalId)!) {
        const r = rows[j];
        const d = dayOf(r.eventTimeMs);
        if (d >= cutoffDay - w && d < cutoffDay) {
          // Follows from the definition; asserted so that the oracle itself documents it.
          assert.ok(r.eventTimeMs + this.delayMs <= tx.eventTimeMs, "label used before its delay");
          count++;
          fraud += r.fraud;
        }
      }
      out.push(count, count ? fraud / count : 0);
    }
    return Array.from(Float32Array.from(out));
  }
}

function push(map: Map<number, number[]>, key: number, i: number): void {
  const list = map.get(key);
  if (list) list.push(i);
  else map.set(key, [i]);
}
