import type { Transaction } from "./transaction.ts";
import {
  applyFields,
  F_AMOUNT,
  F_CUSTOMER_ID,
  F_DATETIME,
  F_FRAUD,
  F_SCENARIO,
  F_TERMINAL_ID,
  F_TIME_DAYS,
  F_TIME_SECONDS,
  F_TRANSACTION_ID,
  type RowOutcome,
  type RowState,
} from "./row_fields.ts";

/** Header names as keys; both the header's "tranaction_id" (sic) and the correct spelling. */
const KEYS: readonly [string, number][] = [
  ["tranaction_id", F_TRANSACTION_ID],
  ["transaction_id", F_TRANSACTION_ID],
  ["tx_datetime", F_DATETIME],
  ["customer_id", F_CUSTOMER_ID],
  ["terminal_id", F_TERMINAL_ID],
  ["tx_amount", F_AMOUNT],
  ["tx_time_seconds", F_TIME_SECONDS],
  ["tx_time_days", F_TIME_DAYS],
  ["tx_fraud", F_FRAUD],
  ["tx_fraud_scenario", F_SCENARIO],
];
const KEY_BYTES = KEYS.map(([k]) => new TextEncoder().encode(k));
const KEY_FIELD = KEYS.map(([, f]) => f);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * Parses one flat JSON object with the retrospective fields, e.g.
 * {"transaction_id":0,"tx_datetime":"2019-08-22 06:51:03","customer_id":0,...}, from bytes
 * [start, end) into tx, with the same cleaning rules and outcomes as parseCsvRow. Values may be
 * numbers or strings holding numbers; null or an absent key counts as an empty field; unknown
 * keys are ignored. Scans bytes in place: no string decoding, no JSON.parse objects per row.
 */
export function parseJsonRow(
  buf: Uint8Array,
  start: number,
  end: number,
  tx: Transaction,
  st: RowState,
): RowOutcome {
  st.clearFields();
  let i = skipSpace(buf, start, end);
  if (i >= end || buf[i] !== OPEN) return "bad_json";
  i = skipSpace(buf, i + 1, end);
  if (i < end && buf[i] === CLOSE) {
    i++;
  } else {
    for (;;) {
      if (i >= end || buf[i] !== QUOTE) return "bad_json";
      const keyStart = i + 1;
      const keyEnd = stringEnd(buf, keyStart, end);
      if (keyEnd < 0) return "bad_json";
      i = skipSpace(buf, keyEnd + 1, end);
      if (i >= end || buf[i] !== COLON) return "bad_json";
      i = skipSpace(buf, i + 1, end);
      if (i >= end) return "bad_json";
      let valueStart: number;
      let valueEnd: number;
      const c = buf[i];
      if (c === QUOTE) {
        valueStart = i + 1;
        valueEnd = stringEnd(buf, valueStart, end);
        if (valueEnd < 0) return "bad_json";
        i = valueEnd + 1;
      } else if (c === OPEN || c === OPEN_ARRAY) {
        valueStart = i;
        i = nestedEnd(buf, i, end);
        if (i < 0) return "bad_json";
        valueEnd = i;
      } else {
        valueStart = i;
        while (i < end && buf[i] !== COMMA && buf[i] !== CLOSE && !isSpace(buf[i])) i++;
        valueEnd = i;
        if (isNull(buf, valueStart, valueEnd)) valueEnd = valueStart;
      }
      const field = matchKey(buf, keyStart, keyEnd);
      if (field >= 0) {
        st.fieldStart[field] = valueStart;
        st.fieldEnd[field] = valueEnd;
      }
      i = skipSpace(buf, i, end);
      if (i >= end) return "bad_json";
      if (buf[i] === CLOSE) {
        i++;
        break;
      }
      if (buf[i] !== COMMA) return "bad_json";
      i = skipSpace(buf, i + 1, end);
    }
  }
  if (skipSpace(buf, i, end) !== end) return "bad_json";
  return applyFields(buf, st, tx);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(buf[i])) i++;
  return i;
}

/** Index of the closing quote of a string whose content starts at i, or -1. */
function stringEnd(buf: Uint8Array, i: number, end: number): number {
  for (; i < end; i++) {
    const c = buf[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/** Index just past the object or array that opens at i, or -1. */
function nestedEnd(buf: Uint8Array, i: number, end: number): number {
  let depth = 0;
  for (; i < end; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      i = stringEnd(buf, i + 1, end);
      if (i < 0) return -1;
    } else if (c === OPEN || c === OPEN_ARRAY) {
      depth++;
    } else if (c === CLOSE || c === CLOSE_ARRAY) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

function isNull(buf: Uint8Array, start: number, end: number): boolean {
  return end - start === 4 && buf[start] === 0x6e && buf[start + 1] === 0x75 &&
    buf[start + 2] === 0x6c && buf[start + 3] === 0x6c;
}

function matchKey(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  outer: for (let k = 0; k < KEY_BYTES.length; k++) {
    const key = KEY_BYTES[k];
    if (key.length !== len) continue;
    for (let j = 0; j < len; j++) if (key[j] !== buf[start + j]) continue outer;
    return KEY_FIELD[k];
  }
  return -1;
}
