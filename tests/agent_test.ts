import assert from "node:assert/strict";
import type { KafkaMessage } from "kafkajs";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { kafkaTest, testKafka, uniquePrefix } from "./support/kafka.ts";
import {
  type AgentProcess,
  generateData,
  inputId,
  inputLines,
  multiset,
  produceFiles,
  readTopic,
  startAgent,
  waitFor,
} from "./support/pipeline.ts";

/**
 * The agent against a real broker, as separate processes: every input message ends as exactly
 * one prediction or one DLQ record, with one agent, three, a crash, and exactly-once.
 */
const dataDir = await Deno.makeTempDir({ prefix: "fraudstream-agent-test-" });
// Dirty on purpose (the generator's default dirt rates): garbage lines, duplicated ids, repairs.
const files = await generateData(dataDir, [
  "--customers",
  "600",
  "--terminals",
  "1200",
  "--days",
  "10",
  "--seed",
  "11",
]);
const lines = inputLines(files);

async function freshTopics(name: string, partitions = 4) {
  const prefix = uniquePrefix(name);
  const admin = (await testKafka()).admin();
  await admin.connect();
  await ensureTopics(admin, topicNames(prefix), { partitions, replicationFactor: 1 });
  await admin.disconnect();
  return prefix;
}

async function outputs(prefix: string) {
  const kafka = await testKafka();
  const names = topicNames(prefix);
  return {
    predictions: await readTopic(kafka, names.predictions),
    dlq: await readTopic(kafka, names.dlq),
  };
}

/** Input ids as a multiset vs. prediction keys plus the ids in DLQ'd original bytes. */
function accountedIds(predictions: KafkaMessage[], dlq: KafkaMessage[]) {
  return multiset([
    ...predictions.map((m) => m.key!.toString()),
    ...dlq.map((m) => inputId(m.value!.toString())),
  ]);
}

/** Sum of the group's committed offsets on the transactions topic: messages fully handled. */
async function groupOffsets(prefix: string, group: string): Promise<number> {
  const admin = (await testKafka()).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({
      groupId: group,
      topics: [topicNames(prefix).transactions],
    });
    return t.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every agent has partitions (the group settled) and restored its state. */
async function allReady(agents: AgentProcess[]): Promise<void> {
  await waitFor("every agent ready", async () => {
    const codes = await Promise.all(
      agents.map((a) =>
        fetch(`${a.url}/readyz`).then((r) => r.body?.cancel().then(() => r.status))
      ),
    );
    return codes.every((c) => c === 200);
  });
}

async function groupDrained(prefix: string, group: string, total: number): Promise<boolean> {
  return await groupOffsets(prefix, group) >= total;
}

Deno.test({
  name: "one agent: every message is one prediction or one DLQ record, and /stats agrees",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("one");
  assert.equal(await produceFiles(prefix, files), lines.length);
  // The feed delivering one transaction twice: recorded as a duplicate, not scored twice.
  const again = lines[4];
  const producer = (await testKafka()).producer();
  await producer.connect();
  await producer.send({
    topic: topicNames(prefix).transactions,
    messages: [{ key: again.split(",")[2], value: again }],
  });
  await producer.disconnect();
  const sent = lines.length + 1;
  const agent = await startAgent(prefix, "g1");
  try {
    await waitFor("all messages consumed", async () => (await agent.stats()).consumed >= sent);
    const { predictions, dlq } = await outputs(prefix);
    assert.equal(predictions.length + dlq.length, sent);
    assert.deepEqual(accountedIds(predictions, dlq), multiset([...lines, again].map(inputId)));
    const stats = await agent.stats();
    assert.equal(stats.consumed, sent);
    assert.equal(stats.scored, predictions.length);
    // The predictions went out through the fixed kafkajs produce path, and the broker took them.
    assert.ok(agent.log.some((line) => line.includes('"kafkajs_speedups":true')), "speedups off");
    assert.equal(stats.dlq, dlq.length);
    const reasons = multiset(dlq.map((m) => m.headers!["fraudstream.reason"]!.toString()));
    assert.ok(
      (reasons.get("duplicate_transaction_id") ?? 0) > 0,
      "the dirty data has duplicated ids",
    );
    assert.ok((reasons.get("bad_field_count") ?? 0) > 0, "the dirty data has garbage lines");
    for (const m of dlq) {
      const [topic, partition, offset] = m.headers!["fraudstream.source"]!.toString().split("/");
      assert.equal(topic, topicNames(prefix).transactions);
      assert.ok(Number(partition) >= 0 && Number(offset) >= 0);
    }
    const p = JSON.parse(predictions[0].value!.toString());
    assert.deepEqual(Object.keys(p), [
      "transaction_id",
      "customer_id",
      "score",
      "fraud",
      "threshold",
      "model",
      "event_time",
      "labels_complete",
      "latency_ms",
    ]);
    assert.equal(p.labels_complete, true);
    assert.equal((stats.labels as { stale_scores: number }).stale_scores, 0);
    assert.equal(String(p.transaction_id), predictions[0].key!.toString());
    const metrics = await fetch(`${agent.url}/metrics`).then((r) => r.text());
    assert.match(
      metrics,
      new RegExp(`fraudstream_agent_scored_total\\{[^}]*\\} ${predictions.length}\\n`),
    );
    assert.equal((await fetch(`${agent.url}/readyz`)).status, 200);
  } finally {
    assert.equal(await agent.stop(), 0, "SIGTERM ends the agent cleanly");
  }
  assert.ok(agent.log.some((l) => l.includes('"event":"stop"') && l.includes('"clean":true')));
});

Deno.test({
  name: "three agents in one group split the partitions and still account for every message",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("three", 6);
  const agents = await Promise.all([0, 1, 2].map(() => startAgent(prefix, "g3")));
  try {
    await allReady(agents);
    const sent = await produceFiles(prefix, files);
    await waitFor("the group drained", () => groupDrained(prefix, "g3", sent));
    const { predictions, dlq } = await outputs(prefix);
    assert.equal(predictions.length + dlq.length, sent);
    assert.deepEqual(accountedIds(predictions, dlq), multiset(lines.map(inputId)));
    const stats = await Promise.all(agents.map((a) => a.stats()));
    assert.equal(stats.reduce((s, x) => s + x.consumed, 0), sent);
    const owned = stats.map((s) => (s.assigned_partitions as number[]).length);
    assert.deepEqual(owned, [2, 2, 2]);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }
});

for (const exactlyOnce of [false, true]) {
  const mode = exactlyOnce
    ? "exactly-once: zero duplicates for a read_committed reader"
    : "at-least-once: duplicates bounded by one batch per partition";
  Deno.test(
    { name: `kill -9 one of three agents mid-stream: nothing lost; ${mode}`, ...kafkaTest },
    async () => {
      const prefix = await freshTopics(exactlyOnce ? "eos" : "alo", 6);
      const group = exactlyOnce ? "gk-eos" : "gk-alo";
      const maxBatch = 200;
      const args = ["--max-batch", String(maxBatch), ...(exactlyOnce ? ["--exactly-once"] : [])];
      const agents = await Promise.all([0, 1, 2].map(() => startAgent(prefix, group, args)));
      const producing = produceFiles(prefix, files, ["--rate", "3000"]);
      try {
        const consumed = async () =>
          (await Promise.all(agents.map((a) => a.stats()))).map((s) => s.consumed);
        await waitFor("scoring under way", async () => (await consumed()).every((n) => n > 300));
        const victim = agents[0];
        const owned = ((await victim.stats()).assigned_partitions as number[]).length;
        await victim.kill();
        const sent = await producing;
        await waitFor("the group drained", () => groupDrained(prefix, group, sent), 90_000);
        let { predictions, dlq } = await outputs(prefix);
        if (exactlyOnce) {
          // The killed agent's open transaction holds read_committed readers back until the
          // broker aborts it (transaction timeout); only then is the rest readable.
          await waitFor("the killed agent's transaction aborted", async () => {
            ({ predictions, dlq } = await outputs(prefix));
            return predictions.length + dlq.length >= sent;
          }, 60_000);
        }
        const expected = multiset(lines.map(inputId));
        const got = accountedIds(predictions, dlq);
        const lost = [...expected].filter(([id, n]) => (got.get(id) ?? 0) < n).map(([id]) => id);
        assert.deepEqual(
          lost,
          [],
          `${lost.length} lost of ${sent}: ${predictions.length} predictions, ${dlq.length} DLQ\n` +
            agents.flatMap((a) => a.log.filter((l) => !l.includes('"info"'))).join("\n"),
        );
        const duplicates = predictions.length + dlq.length - sent;
        if (exactlyOnce) {
          assert.equal(duplicates, 0);
          assert.deepEqual(got, expected);
        } else {
          assert.ok(
            duplicates >= 0 && duplicates <= owned * maxBatch * 2,
            `${duplicates} duplicates for ${owned} partitions`,
          );
        }
      } finally {
        await producing.catch(() => {});
        await Promise.all(
          agents.slice(1).map((a) => a.stop()),
        );
      }
    },
  );
}

Deno.test({
  name: "a restarted agent computes the same features as one that never stopped",
  ...kafkaTest,
}, async () => {
  const reference = await freshTopics("ref");
  const restarted = await freshTopics("restart");
  const sent = await produceFiles(reference, files);
  await produceFiles(restarted, files);

  const ref = await startAgent(reference, "gr-reference");
  // Slowed so that it is stopped midway; the cost flag changes timing, never features.
  const first = await startAgent(restarted, "gr", [
    "--max-batch",
    "100",
    "--test-batch-cost-ms",
    "40",
  ]);
  await waitFor("a third scored", async () => (await first.stats()).consumed >= sent / 3);
  assert.equal(await first.stop(), 0);
  const scoredBefore = await groupOffsets(restarted, "gr");
  assert.ok(scoredBefore < sent, "stopped before the end");
  const second = await startAgent(restarted, "gr");
  try {
    await waitFor("reference drained", () => groupDrained(reference, "gr-reference", sent));
    await waitFor("restarted drained", () => groupDrained(restarted, "gr", sent));
    const restore = (await second.stats()).restore as { messages: number };
    assert.equal(
      restore.messages,
      scoredBefore,
      "the second agent replayed the history scored before",
    );
    // Ids reused by another customer exist in the data: a transaction is (id, customer).
    const scores = async (prefix: string) =>
      new Map(
        (await outputs(prefix)).predictions.map((m) => {
          const p = JSON.parse(m.value!.toString());
          return [`${p.transaction_id}/${p.customer_id}`, p.score];
        }),
      );
    const a = await scores(reference);
    const b = await scores(restarted);
    assert.equal(a.size, sent - (await outputs(reference)).dlq.length);
    assert.equal(b.size, a.size);
    for (const [id, score] of a) assert.equal(b.get(id), score, `transaction ${id}`);
  } finally {
    await Promise.all([ref.stop(), second.stop()]);
  }
});
