import assert from "node:assert/strict";
import { Rng } from "../producer/prng.ts";
import { HOSTILE_KINDS, hostileMessage, validRow } from "../tests/support/hostile_input.ts";
import { parseRow } from "./parse_row.ts";
import { HEADER, REJECT_REASONS, RowState } from "./row_fields.ts";
import { plausibleTime } from "./time_plausibility.ts";
import { newTransaction, type Transaction } from "./transaction.ts";

/**
 * Property-based, seeded: whatever bytes arrive, parseRow returns a typed outcome and never
 * throws; a row it accepts satisfies the Transaction's invariants and reads back the same from
 * its canonical CSV; a row it rejects leaves the caller's transaction untouched; and only the
 * bytes [start, end) count. FRAUDSTREAM_FUZZ_SEED=N reruns one seed; a failure names its seed
 * and case so it can be replayed.
 */
const SEEDS = Deno.env.get("FRAUDSTREAM_FUZZ_SEED")
  ? [Number(Deno.env.get("FRAUDSTREAM_FUZZ_SEED"))]
  : [1, 2, 3];
const CASES_PER_SEED = 10_000;
const OUTCOMES = new Set<unknown>([null, HEADER, ...REJECT_REASONS]);
/** One case in ten is a valid row, so the invariants of accepted rows get exercised too. */
const VALID_SHARE = 0.1;
/** The fuzz stream of the Rng (the generator uses streams 0..3). */
const FUZZ_STREAM = 99;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function checkAccepted(tx: Transaction): void {
  assert.ok(Number.isSafeInteger(tx.transactionId) && tx.transactionId >= 0, "transaction id");
  assert.ok(Number.isSafeInteger(tx.customerId) && tx.customerId >= 0, "customer id");
  assert.ok(Number.isSafeInteger(tx.terminalId) && tx.terminalId >= 0, "terminal id");
  assert.ok(Number.isFinite(tx.amount) && tx.amount >= 0, "amount");
  assert.ok(Number.isSafeInteger(tx.timeSeconds) && tx.timeSeconds >= 0, "tx_time_seconds");
  assert.equal(tx.timeDays, Math.floor(tx.timeSeconds / 86_400), "tx_time_days");
  assert.ok(Number.isSafeInteger(tx.eventTimeMs) && tx.eventTimeMs % 1000 === 0, "event time");
  assert.ok(plausibleTime(tx.eventTimeMs, tx.timeSeconds), "event time in the era");
  assert.ok(tx.fraud === 0 || tx.fraud === 1, "fraud");
  assert.ok([0, 1, 2, 3].includes(tx.scenario), "scenario");
}

/** The canonical CSV line of an accepted transaction: parsing it must give it back. */
function canonical(tx: Transaction): Uint8Array {
  const date = new Date(tx.eventTimeMs).toISOString().slice(0, 19).replace("T", " ");
  return new TextEncoder().encode(
    `${tx.transactionId},${date},${tx.customerId},${tx.terminalId},${tx.amount},` +
      `${tx.timeSeconds},${tx.timeDays},${tx.fraud},${tx.scenario}`,
  );
}

Deno.test("fuzz: the row parser never throws and returns a valid record or a reason", () => {
  const counts = new Map<string, number>();
  for (const seed of SEEDS) {
    const rng = new Rng(seed, FUZZ_STREAM);
    // One state per seed, as one reader has: what it learns from a row carries to the next.
    const st = new RowState();
    for (let c = 0; c < CASES_PER_SEED; c++) {
      const kind = rng.uniform() < VALID_SHARE
        ? "valid"
        : HOSTILE_KINDS[rng.below(HOSTILE_KINDS.length - 1)]; // 1 MB values: the fault test's
      const bytes = kind === "valid"
        ? new TextEncoder().encode(validRow(rng, c, rng.below(1000), rng.below(2) === 1))
        : hostileMessage(rng, kind, c, rng.below(1000));
      // Framed by random bytes the parser must not look at.
      const pad = 1 + rng.below(8);
      const buf = new Uint8Array(bytes.length + 2 * pad);
      for (let i = 0; i < buf.length; i++) buf[i] = rng.below(256);
      buf.set(bytes, pad);
      const where = `seed ${seed} case ${c} (${kind}): ${hex(bytes)}`;
      const tx = newTransaction();
      tx.transactionId = -7;
      let outcome;
      try {
        outcome = parseRow(buf, pad, pad + bytes.length, tx, st);
      } catch (err) {
        throw new Error(`parseRow threw at ${where}: ${err}`);
      }
      assert.ok(OUTCOMES.has(outcome), `untyped outcome ${outcome} at ${where}`);
      const key = `${kind}:${outcome ?? "accepted"}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (kind === "valid") assert.equal(outcome, null, where);
      if (outcome !== null) {
        assert.equal(tx.transactionId, -7, `a ${outcome} row wrote the transaction at ${where}`);
        continue;
      }
      try {
        checkAccepted(tx);
      } catch (err) {
        throw new Error(`accepted row breaks an invariant at ${where}: ${(err as Error).message}`);
      }
      // Amounts such as 1e-7 have no plain decimal spelling of up to 15 digits to read back.
      if (String(tx.amount).includes("e")) continue;
      const again = newTransaction();
      const line = canonical(tx);
      assert.equal(parseRow(line, 0, line.length, again, new RowState()), null, where);
      assert.deepEqual(again, tx, where);
    }
  }
  if (Deno.env.get("FRAUDSTREAM_FUZZ_SEED")) console.log(Object.fromEntries(counts));
  // The hostile kinds reach the reasons they are meant for, not only bad_field_count.
  for (
    const key of [
      "odd_amount:bad_amount",
      "huge_id:bad_transaction_id",
      "out_of_era:implausible_time",
    ]
  ) {
    assert.ok((counts.get(key) ?? 0) > 0, `${key} never happened: ${JSON.stringify([...counts])}`);
  }
});
