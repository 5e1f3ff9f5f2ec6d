import assert from "node:assert/strict";
import { topicNames, topicSpecs } from "../../kafka/topics.ts";
import { Rng } from "../../producer/prng.ts";
import { parseRow } from "../../transactions/parse_row.ts";
import { RowState } from "../../transactions/row_fields.ts";
import { newTransaction } from "../../transactions/transaction.ts";
import { groupDrained, outputs } from "../support/agent_group.ts";
import { HOSTILE_KINDS, type HostileKind, hostileMessage } from "../support/hostile_input.ts";
import { kafkaTest, testKafka, uniquePrefix } from "../support/kafka.ts";
import {
  generateData,
  inputLines,
  produceFiles,
  type ReadMessage,
  startAgent,
  waitFor,
} from "../support/pipeline.ts";
import { processMemoryBytes } from "../support/process_memory.ts";

/**
 * Poison input: a replay of generated days through the producer, and meanwhile 10,000 random
 * byte strings and thousands of truncated and mutated rows, invalid UTF-8, NaN and 1e308 amounts,
 * ids past 2^53, dates in 1970 and 2100, and 1 MB values sent straight to the transactions topic.
 * Every input ends as exactly one prediction or one DLQ record, and the agent never stops.
 */
const SEED = 15;
const HOSTILE: Record<HostileKind, number> = {
  random_bytes: 10_000,
  truncated: 2_000,
  mutated: 2_000,
  invalid_utf8: 2_000,
  odd_amount: 1_000,
  huge_id: 1_000,
  out_of_era: 1_000,
  megabyte: 20,
};
/** Room for the 1 MB values in the input and the DLQ (the broker's default is 1 MiB). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const dataDir = await Deno.makeTempDir({ prefix: "fraudstream-poison-" });
const files = await generateData(dataDir, [
  "--customers",
  "600",
  "--terminals",
  "1200",
  "--days",
  "5",
  "--seed",
  "11",
]);
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

/** 53-bit hash of a message's bytes (cyrb53): names an input that has no transaction. */
function bytesHash(b: Uint8Array): string {
  let h1 = 0xdeadbeef ^ b.length;
  let h2 = 0x41c6ce57 ^ b.length;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i], 2654435761);
    h2 = Math.imul(h2 ^ b[i], 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${b.length}:${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}`;
}

/**
 * What an input is accounted by: a row that parses is its (transaction, customer), which a
 * prediction names too; anything else its bytes, which its DLQ record keeps.
 */
const tx = newTransaction();
const state = new RowState(Date.UTC(2018, 3, 1));
function inputKey(bytes: Uint8Array): string {
  if (bytes.length <= 4096 && parseRow(bytes, 0, bytes.length, tx, state) === null) {
    return `tx:${tx.transactionId}:${tx.customerId}`;
  }
  return `bytes:${bytesHash(bytes)}`;
}

function predictionKey(m: ReadMessage): string {
  const p = JSON.parse(m.value!.toString());
  return `tx:${p.transaction_id}:${p.customer_id}`;
}

function count(keys: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

Deno.test({
  name: "poison input mixed into a replay: each message one prediction or one DLQ record",
  ...kafkaTest,
}, async () => {
  const prefix = uniquePrefix("poison");
  const names = topicNames(prefix);
  const kafka = await testKafka();
  const admin = await kafka.admin();
  // The input and the DLQ (which holds the original bytes) accept the 1 MB hostile values.
  const bigger = [names.transactions, names.dlq];
  await admin.createTopics(
    topicSpecs(names, { partitions: 4, replicationFactor: 1 }).map((t) =>
      bigger.includes(t.topic)
        ? { ...t, config: { ...t.config, "max.message.bytes": String(MAX_MESSAGE_BYTES) } }
        : t
    ),
  );
  await admin.close();

  const rng = new Rng(SEED, 0);
  const hostile: Uint8Array[] = [];
  for (const kind of HOSTILE_KINDS) {
    // Ids and customers of their own, so no hostile row is a duplicate of a generated one.
    for (let n = 0; n < HOSTILE[kind]; n++) {
      hostile.push(hostileMessage(rng, kind, 1e12 + hostile.length, 100_000 + rng.below(1000)));
    }
  }
  for (let i = hostile.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [hostile[i], hostile[j]] = [hostile[j], hostile[i]];
  }

  const agent = await startAgent(prefix, "poison");
  const agentExit = agent.child.status.then((s) => s.code);
  try {
    const producing = produceFiles(prefix, files, ["--rate", "4000"]);
    const output = await kafka.output({ maxRequestBytes: MAX_MESSAGE_BYTES - 64 * 1024 });
    for (let i = 0; i < hostile.length; i += 250) {
      await output.send([{
        topic: names.transactions,
        records: hostile.slice(i, i + 250).map((value) => ({ key: null, value })),
      }]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await output.close();
    const replayed = await producing;
    const lastSent = performance.now();
    const sent = replayed + hostile.length;
    await waitFor("the group drained", () => groupDrained(prefix, "poison", sent), 180_000);
    const recoveryS = (performance.now() - lastSent) / 1000;

    const { predictions, dlq } = await outputs(prefix);
    const expected = count([
      ...inputLines(files).map((l) => inputKey(new TextEncoder().encode(l))),
      ...hostile.map(inputKey),
    ]);
    const got = count([
      ...predictions.map(predictionKey),
      ...dlq.map((m) => inputKey(new Uint8Array(m.value!))),
    ]);
    let lost = 0;
    let duplicates = 0;
    for (const [key, n] of expected) lost += Math.max(0, n - (got.get(key) ?? 0));
    for (const [key, n] of got) duplicates += Math.max(0, n - (expected.get(key) ?? 0));
    const reasons = count(dlq.map((m) => m.headers!["fraudstream.reason"]!.toString()));
    const figures = {
      sent,
      predictions: predictions.length,
      dlq: dlq.length,
      duplicates,
      lost,
      max_rss_mib: Math.round(processMemoryBytes(agent.child.pid, "VmHWM") / 2 ** 20),
      recovery_s: Number(recoveryS.toFixed(1)),
    };
    console.log(
      `poison_input: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(" ")} ` +
        `(recovery = last send to all committed; load ${Deno.loadavg()[0].toFixed(1)})`,
    );
    console.log(`poison_input DLQ by reason: ${JSON.stringify(Object.fromEntries(reasons))}`);
    assert.equal(lost, 0);
    assert.equal(duplicates, 0);
    assert.equal(predictions.length + dlq.length, sent);
    for (const reason of ["line_too_long", "bad_amount", "implausible_time", "bad_field_count"]) {
      assert.ok((reasons.get(reason) ?? 0) > 0, `no ${reason} among the DLQ records`);
    }
    const errors = agent.log.filter((l) => l.includes('"level":"error"'));
    assert.deepEqual(errors, []);
    assert.equal(
      await Promise.race([agentExit.then(() => "exited"), Promise.resolve("running")]),
      "running",
      "the agent never stopped",
    );
  } finally {
    assert.equal(await agent.stop(), 0, agent.log.slice(-5).join("\n"));
  }
});
