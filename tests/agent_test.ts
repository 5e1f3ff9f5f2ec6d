import assert from "node:assert/strict";
import { topicNames } from "../kafka/topics.ts";
import {
  accountedIds,
  AGENT_TEST_DATA,
  freshTopics,
  groupDrained,
  groupOffsets,
  outputs,
} from "./support/agent_group.ts";
import { kafkaTest, testClientKind, testKafka } from "./support/kafka.ts";
import { checkExposition } from "./support/prometheus_check/prometheus_check.ts";
import {
  type AgentProcess,
  generateData,
  inputId,
  inputLines,
  multiset,
  produceFiles,
  startAgent,
  waitFor,
} from "./support/pipeline.ts";

/**
 * The agent against a real broker, as separate processes: every input message ends as exactly
 * one prediction or one DLQ record, with one agent and with three; a restart computes the same
 * features. The kill -9 scenarios are in tests/faults/agent_kill_test.ts.
 */
const dataDir = await Deno.makeTempDir({ prefix: "fraudstream-agent-test-" });
const files = await generateData(dataDir, AGENT_TEST_DATA);
const lines = inputLines(files);

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

Deno.test({
  name: "one agent: every message is one prediction or one DLQ record, and /stats agrees",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("one");
  assert.equal(await produceFiles(prefix, files), lines.length);
  // The feed delivering one transaction twice: recorded as a duplicate, not scored twice.
  const again = lines[4];
  const output = await (await testKafka()).output();
  await output.send([{
    topic: topicNames(prefix).transactions,
    records: [{ key: again.split(",")[2], value: again }],
  }]);
  await output.close();
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
    // The predictions went out through the client under test (with kafkajs, its fixed produce
    // path), and the broker took them.
    const client = testClientKind() === "kafkajs"
      ? '"kafkajs_patches":true'
      : '"client":"platformatic"';
    assert.ok(agent.log.some((line) => line.includes(client)), `agent not on ${client}`);
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
    assert.equal(stats.labels.stale_scores, 0);
    assert.equal(String(p.transaction_id), predictions[0].key!.toString());
    const metrics = await fetch(`${agent.url}/metrics`).then((r) => r.text());
    assert.match(
      metrics,
      new RegExp(`fraudstream_agent_scored_total\\{[^}]*\\} ${predictions.length}\\n`),
    );
    assert.deepEqual((await checkExposition(metrics)).problems, [], "a scraper reads it all");
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
  // Without snapshots, so the replay of the partitions' history is what rebuilds the state (the
  // snapshot path: tests/snapshot_restore_test.ts).
  const second = await startAgent(restarted, "gr", ["--snapshot-interval", "0"]);
  try {
    await waitFor("reference drained", () => groupDrained(reference, "gr-reference", sent));
    await waitFor("restarted drained", () => groupDrained(restarted, "gr", sent));
    assert.equal(
      (await second.stats()).restore?.messages,
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
