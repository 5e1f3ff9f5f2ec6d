import { FIELD_COUNT, type RejectReason } from "../transactions/row_fields.ts";
import { RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { PLAUSIBLE_FROM_MS, PLAUSIBLE_UNTIL_MS } from "../transactions/time_plausibility.ts";

/**
 * What is wrong with the reader's input, worded for the person who has to fix the file: the
 * reject reasons stay short codes for metrics and the DLQ, these messages say which column held
 * what. Only the first few rejected lines are described, so the cost per line does not matter.
 */

/** Column names as the day files' header spells them (sic: "tranaction_id"). */
export const COLUMNS: readonly string[] = headerColumns(RETROSPECTIVE_HEADER);

const FIELD_OF: Partial<Record<RejectReason, [field: number, expected: string]>> = {
  bad_transaction_id: [0, "a non-negative integer"],
  bad_datetime: [1, "a date and time as YYYY-MM-DD HH:MM:SS"],
  bad_customer_id: [2, "an integer"],
  bad_terminal_id: [3, "a non-negative integer or empty"],
  bad_amount: [4, "a non-negative decimal number"],
  bad_time_seconds: [5, "a non-negative integer"],
  bad_time_days: [6, "an integer"],
  bad_fraud: [7, "0 or 1"],
  bad_scenario: [8, "0, 1, 2 or 3"],
};

/** One line saying why the reader rejected `line` (its text without the newline). */
export function describeRejected(line: string, reason: RejectReason): string {
  const json = line.trimStart().startsWith("{");
  switch (reason) {
    case "empty_line":
      return "empty line";
    case "line_too_long":
      return "line longer than the read buffer (no newline within 1 MiB)";
    case "bad_json":
      return "not a flat JSON object with the transaction's fields";
    case "bad_field_count": {
      const n = line.replace(/\r$/, "").split(",").length;
      return `${n} column${n === 1 ? "" : "s"}, expected ${FIELD_COUNT}`;
    }
    case "implausible_time":
      return `tx_datetime, or the data set start its tx_time_seconds implies, is not within ${
        isoDate(PLAUSIBLE_FROM_MS)
      } .. ${isoDate(PLAUSIBLE_UNTIL_MS - 1)}`;
    case "missing_datetime":
      return "tx_datetime is empty and the data set's start is not known yet to derive it " +
        "(no complete row before it; --dataset-start gives it)";
  }
  const [field, expected] = FIELD_OF[reason]!;
  if (json) return `${COLUMNS[field]} is missing or not ${expected}`;
  const value = line.replace(/\r$/, "").split(",")[field];
  return `${COLUMNS[field]} ${quote(value)} is not ${expected}`;
}

/**
 * Column names of a header line: '#' and surrounding blanks dropped, split on '|' or ','.
 * The correct spelling "transaction_id" counts as the files' "tranaction_id".
 */
export function headerColumns(line: string): string[] {
  return line.replace(/^\s*#/, "").split(/[|,]/).map((c) =>
    c.trim().toLowerCase().replace(/^transaction_id$/, "tranaction_id")
  );
}

/** Whether a header line names the retrospective columns, in their order. */
export function isRetrospectiveHeader(line: string): boolean {
  const got = headerColumns(line.replace(/\r$/, ""));
  return got.length === COLUMNS.length && got.every((c, i) => c === COLUMNS[i]);
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A value as it appears in a message: quoted, cut to a readable length. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}
