import type { Transaction } from "./transaction.ts";
import { parseCsvRow } from "./csv_row.ts";
import { parseJsonRow } from "./json_row.ts";
import type { RowOutcome, RowState } from "./row_fields.ts";

const OPEN = 0x7b;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Parses one message or line in either wire format the `transactions` topic accepts: a JSON
 * object when it starts with '{', else the retrospective CSV line. Same contract as
 * parseCsvRow: null for a good row in tx, HEADER, or a reject reason; never throws.
 */
export function parseRow(
  buf: Uint8Array,
  start: number,
  end: number,
  tx: Transaction,
  st: RowState,
): RowOutcome {
  let i = start;
  while (i < end && (buf[i] === SPACE || buf[i] === TAB)) i++;
  if (i < end && buf[i] === OPEN) return parseJsonRow(buf, i, end, tx, st);
  return parseCsvRow(buf, start, end, tx, st);
}
