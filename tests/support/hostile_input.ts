import type { Rng } from "../../producer/prng.ts";

/**
 * Hostile messages for the row parser and the agent, drawn from a seeded Rng so a failure is
 * replayed from its seed: random bytes, valid rows cut short or with bytes flipped, invalid UTF-8,
 * amounts a float parser would accept (NaN, Infinity, 1e308), ids past 2^53, dates outside the
 * era, and (for the agent only) values of about 1 MB.
 */
export type HostileKind =
  | "random_bytes"
  | "truncated"
  | "mutated"
  | "invalid_utf8"
  | "odd_amount"
  | "huge_id"
  | "out_of_era"
  | "megabyte";

export const HOSTILE_KINDS: readonly HostileKind[] = [
  "random_bytes",
  "truncated",
  "mutated",
  "invalid_utf8",
  "odd_amount",
  "huge_id",
  "out_of_era",
  "megabyte",
];

const enc = new TextEncoder();
/** Bytes that mean something to one of the two formats: a mutation to one of them is a near miss. */
const SYNTAX = ',{}":-.0123456789 eEn\r\t';
const ODD_AMOUNTS = ["NaN", "Infinity", "-Infinity", "1e308", "1E308", "-0", "0x10", "1_000", "∞"];
const HUGE_IDS = ["9007199254740993", "1234567890123456", "99999999999999999999", "1e20", "-0"];
const OUT_OF_ERA = ["0001-01-01", "1970-01-01", "1999-12-31", "2100-01-01", "9999-12-31"];
/** Byte sequences no UTF-8 decoder accepts: lone continuation, overlong, surrogate, past U+10FFFF. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]];

/** A valid CSV or JSON row (of customer `customer`), as the parser's fields would hold it. */
export function validRow(rng: Rng, id: number, customer: number, json: boolean): string {
  const seconds = rng.below(86_400 * 60);
  const date = new Date(Date.UTC(2019, 7, 22) + seconds * 1000).toISOString().slice(0, 19)
    .replace("T", " ");
  const amount = (rng.below(100_000) / 100).toFixed(2);
  const fraud = rng.below(2);
  const scenario = fraud ? 1 + rng.below(3) : 0;
  const terminal = rng.below(10_000);
  const days = Math.floor(seconds / 86_400);
  if (!json) {
    return `${id},${date},${customer},${terminal},${amount},${seconds},${days},${fraud},${scenario}`;
  }
  return `{"transaction_id":${id},"tx_datetime":"${date}","customer_id":${customer},` +
    `"terminal_id":${terminal},"tx_amount":${amount},"tx_time_seconds":${seconds},` +
    `"tx_time_days":${days},"tx_fraud":${fraud},"tx_fraud_scenario":${scenario}}`;
}

/** Replaces field `field` (0-based, CSV order) of a valid row by `value`. */
function withField(row: string, field: number, value: string, json: boolean): string {
  if (!json) {
    const parts = row.split(",");
    parts[field] = value;
    return parts.join(",");
  }
  const keys = [
    "transaction_id",
    "tx_datetime",
    "customer_id",
    "terminal_id",
    "tx_amount",
    "tx_time_seconds",
    "tx_time_days",
    "tx_fraud",
    "tx_fraud_scenario",
  ];
  return row.replace(
    new RegExp(`"${keys[field]}":("[^"]*"|[^,}]*)`),
    `"${keys[field]}":"${value}"`,
  );
}

/** One hostile message of `kind`; `id` and `customer` are used where the kind keeps a row shape. */
export function hostileMessage(
  rng: Rng,
  kind: HostileKind,
  id: number,
  customer: number,
): Uint8Array {
  const json = rng.below(2) === 1;
  const row = validRow(rng, id, customer, json);
  switch (kind) {
    case "random_bytes": {
      const bytes = new Uint8Array(rng.below(200));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.below(256);
      return bytes;
    }
    case "truncated":
      return enc.encode(row.slice(0, rng.below(row.length)));
    case "mutated": {
      const bytes = [...enc.encode(row)];
      for (let n = 1 + rng.below(4); n > 0; n--) {
        const at = rng.below(bytes.length + 1);
        const op = rng.below(3);
        if (op === 0) bytes.splice(at, 1);
        else if (op === 1) bytes.splice(at, 0, rng.below(256));
        else bytes[Math.min(at, bytes.length - 1)] = SYNTAX.charCodeAt(rng.below(SYNTAX.length));
      }
      return new Uint8Array(bytes);
    }
    case "invalid_utf8": {
      const bytes = [...enc.encode(row)];
      bytes.splice(rng.below(bytes.length + 1), 0, ...INVALID_UTF8[rng.below(INVALID_UTF8.length)]);
      return new Uint8Array(bytes);
    }
    case "odd_amount":
      return enc.encode(withField(row, 4, ODD_AMOUNTS[rng.below(ODD_AMOUNTS.length)], json));
    case "huge_id":
      return enc.encode(
        withField(row, rng.below(2) * 2, HUGE_IDS[rng.below(HUGE_IDS.length)], json),
      );
    case "out_of_era": {
      const date = OUT_OF_ERA[rng.below(OUT_OF_ERA.length)];
      return enc.encode(row.replace(/\d{4}-\d\d-\d\d/, date));
    }
    case "megabyte": {
      const bytes = new Uint8Array(1_000_000 + rng.below(40_000));
      bytes.set(enc.encode(row));
      for (let i = row.length; i < bytes.length; i++) bytes[i] = 0x30 + rng.below(10);
      return bytes;
    }
  }
}
