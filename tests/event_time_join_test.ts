import assert from "node:assert/strict";
import type { Message } from "kafkajs";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { FileReader } from "../producer/file_reader.ts";
import { LabelFeedback } from "../producer/label_feedback.ts";
import { kafkaTest, testKafka, uniquePrefix } from "./support/kafka.ts";
import { compareScores, offlineScores } from "./support/offline_scores.ts";
import {
  type AgentProcess,
  generateData,
  produceFiles,
  readTopic,
  startAgent,
  waitFor,
} from "./support/pipeline.ts";

/**
 * A score never depends on timing: whatever the order in which transactions and labels reach the
 * agent (a flat-out replay, a backlog, a slow label feed, a crash, a rebalance, exactly-once),
 * every streamed score equals the offline score of `fraudstream features` + the same model.
 */
const DELAY_MS = 7 * 86_400_000;
const dir = await Deno.makeTempDir({ prefix: "fraudstream-join-test-" });
const population = ["--customers", "300", "--terminals", "600", "--days", "60", "--seed", "21"];
const dirty = await generateData(`${dir}/dirty`, population);
const clean = await generateData(`${dir}/clean`, [...population, "--clean"]);
const offline = {
  dirty: await offlineScores(dirty, dir),
  clean: await offlineScores(clean, dir),
};

async function freshTopics(name: string, partitions = 6): Promise<string> {
  const prefix = uniquePrefix(name);
  const admin = (await testKafka()).admin();
  await admin.connect();
  await ensureTopics(admin, topicNames(prefix), { partitions, replicationFactor: 1 });
  await admin.disconnect();
  return prefix;
}

async function committed(prefix: string, group: string): Promise<number> {
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

/** Waits until the group committed `sent` messages, then compares with the offline scores. */
async function assertOffline(
  prefix: string,
  group: string,
  sent: number,
  expected: Map<string, number>,
  agents: AgentProcess[],
) {
  await waitFor("the group drained", async () => await committed(prefix, group) >= sent, 120_000);
  const predictions = await readTopic(await testKafka(), topicNames(prefix).predictions);
  const result = compareScores(expected, predictions);
  const stats = await Promise.all(agents.map((a) => a.stats()));
  const labels = stats.map((s) => s.labels as { stale_scores: number; late: number });
  assert.deepEqual(result.onlyOffline, [], "every transaction scored");
  assert.deepEqual(result.onlyStreamed, [], "no transaction scored that offline does not know");
  assert.equal(result.stale, 0, "no prediction marked labels_complete:false");
  assert.deepEqual(labels.map((l) => l.stale_scores), labels.map(() => 0));
  assert.deepEqual(labels.map((l) => l.late), labels.map(() => 0));
  assert.ok(result.maxDiff <= 1e-6, `max |streamed - offline| ${result.maxDiff} (${result.worst})`);
  return { predictions: predictions.length, maxDiff: result.maxDiff };
}

for (const [kind, files] of [["clean", clean], ["dirty", dirty]] as const) {
  Deno.test({
    name: `flat-out replay of 60 ${kind} days, agent started first: streamed == offline`,
    ...kafkaTest,
  }, async () => {
    const prefix = await freshTopics(`flat-${kind}`);
    const agent = await startAgent(prefix, "join-flat");
    try {
      const sent = await produceFiles(prefix, files);
      await assertOffline(prefix, "join-flat", sent, offline[kind], [agent]);
    } finally {
      await agent.stop();
    }
  });
}

Deno.test({
  name: "a backlog: the agent starts after the whole topic and its labels were written",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("backlog");
  const sent = await produceFiles(prefix, dirty);
  // Labels of all 60 days are there before the first transaction is scored: far more than the
  // terminal ring holds ahead, so the join must hold them back until their days are needed.
  const agent = await startAgent(prefix, "join-backlog");
  try {
    await assertOffline(prefix, "join-backlog", sent, offline.dirty, [agent]);
    const labels = (await agent.stats()).labels as { pending: number; applied: number };
    assert.ok(labels.applied > 0);
  } finally {
    await agent.stop();
  }
});

/**
 * The bank's label feed as a process of its own: the same label feedback as `produce`, reading
 * the same files, `behindMs` behind the transactions and pausing between batches.
 */
async function publishLabelsLate(prefix: string, files: string[], behindMs: number) {
  await new Promise((r) => setTimeout(r, behindMs));
  const kafka = await testKafka("label-feed");
  const producer = kafka.producer();
  await producer.connect();
  const topic = topicNames(prefix).labels;
  const feedback = new LabelFeedback(
    DELAY_MS,
    (messages: Message[]) => producer.send({ topic, acks: -1, messages }).then(() => {}),
    { partitions: 6 },
  );
  let clock = -Infinity;
  for await (const batch of new FileReader(files, { batchRows: 4000 }).batches()) {
    for (let i = 0; i < batch.count; i++) {
      if (batch.reason[i] === null && batch.eventTimeMs[i] > clock) clock = batch.eventTimeMs[i];
    }
    feedback.enqueue(batch, 0, batch.count);
    await feedback.publishDue(clock);
    await new Promise((r) => setTimeout(r, 50));
  }
  await producer.disconnect();
  return feedback.published;
}

Deno.test({
  name: "labels from a separate, slower process: the agent waits for them, then scores exactly",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("slow-labels");
  const agent = await startAgent(prefix, "join-slow", ["--label-wait", "60s"]);
  try {
    const sent = await produceFiles(prefix, dirty, ["--no-labels"]);
    const before = await agent.stats();
    const waiting = (before.labels as { waiting_partitions: number[] }).waiting_partitions;
    // Not even the first days are scored: without a watermark the agent cannot know that no
    // label of theirs exists.
    assert.ok(before.scored < sent * 0.5, `${before.scored} of ${sent} scored without labels`);
    assert.ok(waiting.length > 0, "partitions wait for the label watermark");
    const labelsSent = await publishLabelsLate(prefix, dirty, 2000);
    assert.ok(labelsSent > 0);
    await assertOffline(prefix, "join-slow", sent, offline.dirty, [agent]);
  } finally {
    await agent.stop();
  }
});

Deno.test({
  name: "labels withheld: the join waits --label-wait, then scores stale, counted and marked",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("withheld");
  const agent = await startAgent(prefix, "join-withheld", ["--label-wait", "2s"]);
  try {
    const started = performance.now();
    const sent = await produceFiles(prefix, clean, ["--no-labels"]);
    await waitFor("a partition waiting", async () => {
      const r = await fetch(`${agent.url}/readyz`).then((r) => r.json());
      return r.checks.labels_caught_up === false;
    });
    await waitFor(
      "the group drained",
      async () => await committed(prefix, "join-withheld") >= sent,
    );
    assert.ok(performance.now() - started >= 2000, "scoring waited for the labels first");
    const predictions = await readTopic(await testKafka(), topicNames(prefix).predictions);
    const result = compareScores(offline.clean, predictions);
    const labels = (await agent.stats()).labels as { stale_scores: number; watermark: null };
    assert.ok(result.stale > 0, "predictions say labels_complete:false");
    assert.equal(labels.stale_scores, result.stale);
    assert.equal(labels.watermark, null, "no label watermark ever arrived");
    assert.ok(result.maxDiff > 1e-3, "without labels, the terminal features differ");
    const metrics = await fetch(`${agent.url}/metrics`).then((r) => r.text());
    assert.match(
      metrics,
      new RegExp(`fraudstream_agent_stale_label_scores_total\\{[^}]*\\} ${result.stale}\\n`),
    );
  } finally {
    await agent.stop();
  }
});

for (const exactlyOnce of [false, true]) {
  Deno.test({
    name: `kill -9 of one of three agents and its restart, rebalances while scoring${
      exactlyOnce ? ", exactly-once" : ""
    }: streamed == offline`,
    ...kafkaTest,
  }, async () => {
    const prefix = await freshTopics(exactlyOnce ? "kill-eos" : "kill");
    const group = exactlyOnce ? "join-kill-eos" : "join-kill";
    const args = ["--max-batch", "200", ...(exactlyOnce ? ["--exactly-once"] : [])];
    const start = (i: number) => startAgent(prefix, group, [...args, "--instance-id", `a${i}`]);
    const agents = await Promise.all([0, 1, 2].map(start));
    const producing = produceFiles(prefix, dirty, ["--rate", "4000"]);
    try {
      await waitFor("scoring under way", async () => {
        const s = await Promise.all(agents.map((a) => a.stats()));
        return s.every((x) => x.consumed > 500);
      });
      await agents[0].kill();
      await new Promise((r) => setTimeout(r, 1500));
      // The same instance id, as systemd restarts it: with exactly-once its new producer fences
      // the killed one's open transaction.
      agents[0] = await start(0);
      const sent = await producing;
      await assertOffline(prefix, group, sent, offline.dirty, agents);
    } finally {
      await producing.catch(() => {});
      await Promise.all(agents.map((a) => a.stop()));
    }
  });
}
