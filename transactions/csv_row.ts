import type { Transaction } from "./transaction.ts";
import { applyFields, FIELD_COUNT, HEADER, type RowOutcome, type RowState } from "./row_fields.ts";

const COMMA = 0x2c;
const CR = 0x0d;
const HASH = 0x23;

/**
 * Parses one line of the retrospective format, bytes [start, end) of buf without its '\n'
 * (a trailing '\r' is tolerated), into the caller's tx. Returns null for a good row (repairs in
 * st.flags), HEADER for a '#' line, else the reject reason. Never throws, never allocates.
 */
export function parseCsvRow(
  buf: Uint8Array,
  start: number,
  end: number,
  tx: Transaction,
  st: RowState,
): RowOutcome {
  if (end > start && buf[end - 1] === CR) end--;
  if (start === end) return "empty_line";
  if (buf[start] === HASH) return HEADER;
  const fs = st.fieldStart;
  const fe = st.fieldEnd;
  let field = 0;
  fs[0] = start;
  for (let i = start; i < end; i++) {
    if (buf[i] === COMMA) {
      if (field === FIELD_COUNT - 1) return "bad_field_count";
      fe[field++] = i;
      fs[field] = i + 1;
    }
  }
  if (field !== FIELD_COUNT - 1) return "bad_field_count";
  fe[field] = end;
  return applyFields(buf, st, tx);
}
