import type { Transaction } from "./transaction.ts";
import { plausibleTime } from "./time_plausibility.ts";

/**
 * The nine fields of a retrospective row and the data team's cleaning rules, shared by the CSV
 * and the JSON wire formats: each format only finds the byte range of every field, then
 * applyFields reads and cleans them the same way.
 */

/** Why a row was rejected: short, stable, machine-readable (metrics labels, DLQ records). */
export type RejectReason =
  | "empty_line"
  | "line_too_long"
  | "bad_field_count"
  | "bad_json"
  | "bad_transaction_id"
  | "bad_datetime"
  | "missing_datetime"
  | "bad_customer_id"
  | "bad_terminal_id"
  | "bad_amount"
  | "bad_time_seconds"
  | "bad_time_days"
  | "bad_fraud"
  | "bad_scenario"
  | "implausible_time";

export const REJECT_REASONS: readonly RejectReason[] = [
  "empty_line",
  "line_too_long",
  "bad_field_count",
  "bad_json",
  "bad_transaction_id",
  "bad_datetime",
  "missing_datetime",
  "bad_customer_id",
  "bad_terminal_id",
  "bad_amount",
  "bad_time_seconds",
  "bad_time_days",
  "bad_fraud",
  "bad_scenario",
  "implausible_time",
];

/** A '#' line: the files' header, neither a row nor an error. */
export const HEADER = "header";

/** What parsing one line gave: null = a good row in the Transaction, else header or reject. */
export type RowOutcome = null | typeof HEADER | RejectReason;

/** Bits of RowState.flags: which cleaning rules changed the last good row. */
export const REPAIR_NEGATIVE_CUSTOMER = 1;
export const REPAIR_EMPTY_TERMINAL = 2;
export const REPAIR_DATETIME_DERIVED = 4;
export const REPAIR_TIME_DAYS = 8;
/**
 * Not a repair but a finding only a reader that sees the stream in order can make: the row's id
 * is not above every id before it. The row is kept (it is a real transaction), only flagged.
 */
export const FLAG_DUPLICATE_ID = 16;

export const FLAG_NAMES: readonly [bit: number, name: string][] = [
  [REPAIR_NEGATIVE_CUSTOMER, "negative_customer_id"],
  [REPAIR_EMPTY_TERMINAL, "empty_terminal_id"],
  [REPAIR_DATETIME_DERIVED, "missing_datetime"],
  [REPAIR_TIME_DAYS, "wrong_time_days"],
  [FLAG_DUPLICATE_ID, "duplicate_transaction_id"],
];

/** Field order of the retrospective format (and the JSON keys' meaning). */
export const F_TRANSACTION_ID = 0;
export const F_DATETIME = 1;
export const F_CUSTOMER_ID = 2;
export const F_TERMINAL_ID = 3;
export const F_AMOUNT = 4;
export const F_TIME_SECONDS = 5;
export const F_TIME_DAYS = 6;
export const F_FRAUD = 7;
export const F_SCENARIO = 8;
export const FIELD_COUNT = 9;

const MS_PER_DAY = 86_400_000;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
/** More digits than this could exceed 2^53 and lose precision silently. */
const MAX_DIGITS = 15;

/**
 * Per-stream parsing state, owned by the caller and reused for every row.
 *
 * originMs is the instant tx_time_seconds counts from. It is what makes a missing tx_datetime
 * repairable: tx_datetime = origin + tx_time_seconds exactly, so once one complete row has been
 * seen (or the origin is given), a missing datetime is derived, not guessed. Before that the row
 * is rejected as missing_datetime.
 */
export class RowState {
  originMs: number;
  /** Repair bits of the last row (valid when the outcome was null). */
  flags = 0;
  /** Byte range of each field of the current row; an absent field is an empty range. */
  readonly fieldStart = new Int32Array(FIELD_COUNT);
  readonly fieldEnd = new Int32Array(FIELD_COUNT);

  constructor(originMs = NaN) {
    this.originMs = originMs;
  }

  clearFields(): void {
    this.fieldStart.fill(0);
    this.fieldEnd.fill(0);
  }
}

/** Reads the field ranges in `st` into `tx`, applying the cleaning rules. */
export function applyFields(buf: Uint8Array, st: RowState, tx: Transaction): RowOutcome {
  const s = st.fieldStart;
  const e = st.fieldEnd;
  let flags = 0;

  const id = readUint(buf, s[F_TRANSACTION_ID], e[F_TRANSACTION_ID]);
  if (id < 0) return "bad_transaction_id";

  let customer: number;
  if (s[F_CUSTOMER_ID] < e[F_CUSTOMER_ID] && buf[s[F_CUSTOMER_ID]] === MINUS) {
    customer = readUint(buf, s[F_CUSTOMER_ID] + 1, e[F_CUSTOMER_ID]);
    flags |= REPAIR_NEGATIVE_CUSTOMER;
  } else {
    customer = readUint(buf, s[F_CUSTOMER_ID], e[F_CUSTOMER_ID]);
  }
  if (customer < 0) return "bad_customer_id";

  let terminal = 0;
  if (s[F_TERMINAL_ID] === e[F_TERMINAL_ID]) {
    flags |= REPAIR_EMPTY_TERMINAL;
  } else {
    terminal = readUint(buf, s[F_TERMINAL_ID], e[F_TERMINAL_ID]);
    if (terminal < 0) return "bad_terminal_id";
  }

  const amount = readDecimal(buf, s[F_AMOUNT], e[F_AMOUNT]);
  if (amount < 0) return "bad_amount";

  const seconds = readUint(buf, s[F_TIME_SECONDS], e[F_TIME_SECONDS]);
  if (seconds < 0) return "bad_time_seconds";
  const days = Math.floor(seconds / 86_400);
  // An empty tx_time_days is as wrong as a disagreeing one: both are recomputed.
  if (s[F_TIME_DAYS] === e[F_TIME_DAYS]) {
    flags |= REPAIR_TIME_DAYS;
  } else {
    const given = readSignedInt(buf, s[F_TIME_DAYS], e[F_TIME_DAYS]);
    if (Number.isNaN(given)) return "bad_time_days";
    if (given !== days) flags |= REPAIR_TIME_DAYS;
  }

  const fraud = readUint(buf, s[F_FRAUD], e[F_FRAUD]);
  if (fraud !== 0 && fraud !== 1) return "bad_fraud";
  const scenario = readUint(buf, s[F_SCENARIO], e[F_SCENARIO]);
  if (scenario < 0 || scenario > 3) return "bad_scenario";

  let eventTimeMs: number;
  if (s[F_DATETIME] === e[F_DATETIME]) {
    if (Number.isNaN(st.originMs)) return "missing_datetime";
    eventTimeMs = st.originMs + seconds * 1000;
    flags |= REPAIR_DATETIME_DERIVED;
  } else {
    eventTimeMs = readDatetime(buf, s[F_DATETIME], e[F_DATETIME]);
    if (Number.isNaN(eventTimeMs)) return "bad_datetime";
  }
  // Before the origin is learnt from it: a row from 2100 must not date the rows derived after it.
  if (!plausibleTime(eventTimeMs, seconds)) return "implausible_time";
  if (Number.isNaN(st.originMs)) st.originMs = eventTimeMs - seconds * 1000;

  tx.transactionId = id;
  tx.eventTimeMs = eventTimeMs;
  tx.customerId = customer;
  tx.terminalId = terminal;
  tx.amount = amount;
  tx.timeSeconds = seconds;
  tx.timeDays = days;
  tx.fraud = fraud as 0 | 1;
  tx.scenario = scenario as 0 | 1 | 2 | 3;
  st.flags = flags;
  return null;
}

/** Unsigned decimal integer of 1..15 digits, or -1. */
export function readUint(buf: Uint8Array, start: number, end: number): number {
  if (start >= end || end - start > MAX_DIGITS) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Optionally negative integer, or NaN. */
function readSignedInt(buf: Uint8Array, start: number, end: number): number {
  if (start < end && buf[start] === MINUS) {
    const n = readUint(buf, start + 1, end);
    return n < 0 ? NaN : -n;
  }
  const n = readUint(buf, start, end);
  return n < 0 ? NaN : n;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Non-negative decimal such as 70.91, 5, 5.0 or .5, or -1. All digits are gathered into one
 * exact integer and divided once by a power of ten, which IEEE division rounds correctly: the
 * result is the same double that Number("70.91") gives.
 */
export function readDecimal(buf: Uint8Array, start: number, end: number): number {
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c === DOT) {
      if (fraction >= 0) return -1;
      fraction = 0;
      continue;
    }
    const d = c - ZERO;
    if (d < 0 || d > 9) return -1;
    mantissa = mantissa * 10 + d;
    if (fraction >= 0) fraction++;
    if (++digits > MAX_DIGITS) return -1;
  }
  if (digits === 0) return -1;
  return fraction > 0 ? mantissa / POW10[fraction] : mantissa;
}

/**
 * "YYYY-MM-DD HH:MM:SS" (or with 'T') as UTC epoch milliseconds, or NaN. Done on bytes with
 * integer arithmetic so that no string or Date is created per row.
 */
export function readDatetime(buf: Uint8Array, start: number, end: number): number {
  if (end - start !== 19) return NaN;
  if (
    buf[start + 4] !== MINUS || buf[start + 7] !== MINUS ||
    (buf[start + 10] !== 0x20 && buf[start + 10] !== 0x54) ||
    buf[start + 13] !== 0x3a || buf[start + 16] !== 0x3a
  ) return NaN;
  const year = readUint(buf, start, start + 4);
  const month = readUint(buf, start + 5, start + 7);
  const day = readUint(buf, start + 8, start + 10);
  const hour = readUint(buf, start + 11, start + 13);
  const minute = readUint(buf, start + 14, start + 16);
  const second = readUint(buf, start + 17, start + 19);
  if (
    year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59
  ) return NaN;
  return daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
