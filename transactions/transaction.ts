/**
 * One card transaction after parsing and cleaning: the typed record every module works on.
 *
 * Parsers fill a caller-owned instance (see newTransaction) instead of returning a fresh object,
 * so the hot paths (file reader, scoring agent) allocate nothing per row.
 */
export interface Transaction {
  /** tranaction_id as written in the file; duplicates exist in the dirty data. */
  transactionId: number;
  /** tx_datetime as epoch milliseconds (UTC, as the file's wall clock has no zone). */
  eventTimeMs: number;
  customerId: number;
  /** Terminal id; an empty terminal_id is cleaned to 0. */
  terminalId: number;
  /** Amount in currency units, 2 decimals. */
  amount: number;
  /** Seconds since the start of the data set. */
  timeSeconds: number;
  /** Whole days since the start of the data set, recomputed from timeSeconds when cleaning. */
  timeDays: number;
  /** Label: 1 = fraud. Known to the feed, but only usable by features after the label delay. */
  fraud: 0 | 1;
  /** 0 legit, 1 amount over 220, 2 compromised terminal, 3 compromised customer. */
  scenario: 0 | 1 | 2 | 3;
}

export function newTransaction(): Transaction {
  return {
    transactionId: 0,
    eventTimeMs: 0,
    customerId: 0,
    terminalId: 0,
    amount: 0,
    timeSeconds: 0,
    timeDays: 0,
    fraud: 0,
    scenario: 0,
  };
}

/** The odd header line of the bank's retrospective files, byte for byte (sic: "tranaction"). */
export const RETROSPECTIVE_HEADER =
  "# tranaction_id | tx_datetime | customer_id | terminal_id | tx_amount | tx_time_seconds | tx_time_days | tx_fraud | tx_fraud_scenario";
