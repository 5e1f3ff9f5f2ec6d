import assert from "node:assert/strict";
import { topicNames } from "../kafka/topics.ts";
import { FileReader } from "../producer/file_reader.ts";
import { LabelFeedback } from "../producer/label_feedback.ts";
import { freshTopics, groupDrained, partitionProgress } from "./support/agent_group.ts";
import { kafkaTest, testKafka } from "./support/kafka.ts";
import {
  assertMatchesOffline,
  compareScores,
  JOIN_TEST_DATA,
  offlineScores,
} from "./support/offline_scores.ts";
import { generateData, produceFiles, readTopic, startAgent, waitFor } from "./support/pipeline.ts";

/**
 * A score never depends on timing: whatever the order in which transactions and labels reach the
 * agent (a flat-out replay, a backlog, a slow label feed), every streamed score equals the offline
 * score of `fraudstream features` + the same model. Crashes, restarts and rebalances are in
 * tests/faults/event_time_join_kill_test.ts.
 */
const DELAY_MS = 7 * 86_400_000;
const dir = await Deno.makeTempDir({ prefix: "fraudstream-join-test-" });
const dirty = await generateData(`${dir}/dirty`, JOIN_TEST_DATA);
const clean = await generateData(`${dir}/clean`, [...JOIN_TEST_DATA, "--clean"]);
const offline = {
  dirty: await offlineScores(dirty, dir),
  clean: await offlineScores(clean, dir),
};

for (const [kind, files] of [["clean", clean], ["dirty", dirty]] as const) {
  Deno.test({
    name: `flat-out replay of 60 ${kind} days, agent started first: streamed == offline`,
    ...kafkaTest,
  }, async () => {
    const prefix = await freshTopics(`flat-${kind}`, 6);
    const agent = await startAgent(prefix, "join-flat");
    try {
      const sent = await produceFiles(prefix, files);
      await assertMatchesOffline(prefix, "join-flat", sent, offline[kind], [agent]);
    } finally {
      await agent.stop();
    }
  });
}

Deno.test({
  name: "a backlog: the agent starts after the whole topic and its labels were written",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("backlog", 6);
  const sent = await produceFiles(prefix, dirty);
  // Labels of all 60 days are there before the first transaction is scored: far more than the
  // terminal ring holds ahead, so the join must hold them back until their days are needed.
  const agent = await startAgent(prefix, "join-backlog");
  try {
    await assertMatchesOffline(prefix, "join-backlog", sent, offline.dirty, [agent]);
    assert.ok((await agent.stats()).labels.applied > 0);
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
  const output = await kafka.output();
  const topic = topicNames(prefix).labels;
  const feedback = new LabelFeedback(
    DELAY_MS,
    (records) => output.send([{ topic, records }]),
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
  await output.close();
  return feedback.published;
}

Deno.test({
  name: "labels from a separate, slower process: the agent waits for them, then scores exactly",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("slow-labels", 6);
  const agent = await startAgent(prefix, "join-slow", ["--label-wait", "60s"]);
  try {
    const sent = await produceFiles(prefix, dirty, ["--no-labels"]);
    const before = await agent.stats();
    const waiting = before.labels.waiting_partitions;
    // Not even the first days are scored: without a watermark the agent cannot know that no
    // label of theirs exists.
    assert.ok(before.scored < sent * 0.5, `${before.scored} of ${sent} scored without labels`);
    assert.ok(waiting.length > 0, "partitions wait for the label watermark");
    const labelsSent = await publishLabelsLate(prefix, dirty, 2000);
    assert.ok(labelsSent > 0);
    await assertMatchesOffline(prefix, "join-slow", sent, offline.dirty, [agent]);
  } finally {
    await agent.stop();
  }
});

Deno.test({
  name: "labels withheld: the join waits --label-wait, then scores stale, counted and marked",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("withheld", 6);
  const agent = await startAgent(prefix, "join-withheld", ["--label-wait", "2s"]);
  try {
    const started = performance.now();
    const sent = await produceFiles(prefix, clean, ["--no-labels"]);
    await waitFor("a partition waiting", async () => {
      const r = await fetch(`${agent.url}/readyz`).then((r) => r.json());
      // Without any watermark, the label lag in event time is unbounded (null).
      return r.checks.labels_caught_up === false && "label_lag_ms" in r &&
        r.label_watermark === null;
    });
    await waitFor("the group drained", () => groupDrained(prefix, "join-withheld", sent));
    assert.ok(performance.now() - started >= 2000, "scoring waited for the labels first");
    const predictions = await readTopic(await testKafka(), topicNames(prefix).predictions);
    const result = compareScores(offline.clean, predictions);
    const labels = (await agent.stats()).labels;
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

Deno.test({
  name: "a partition handed over far behind the days released: the labels are read again, exactly",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("handover", 2);
  const group = "join-handover";
  const sent = await produceFiles(prefix, dirty);
  // The slow member takes both partitions first; the fast one joins, takes one of them, scores it
  // to the end and releases the label days behind it, while the slow one is still near day 1.
  const slow = await startAgent(prefix, group, [
    "--max-batch",
    "50",
    "--test-batch-cost-ms",
    "500",
  ]);
  const fast = await startAgent(prefix, group);
  try {
    await waitFor("the fast member drained its partition", async () => {
      const { assigned_partitions: mine } = await fast.stats();
      const progress = await partitionProgress(prefix, group);
      return mine.length === 1 && progress.get(mine[0])!.committed >= progress.get(mine[0])!.end;
    });
    const held = (await fast.stats()).labels.terminal_days_held;
    await slow.stop();
    await assertMatchesOffline(prefix, group, sent, offline.dirty, [fast]);
    const labels = (await fast.stats()).labels;
    assert.ok(held < 60, `${held} label days held once the partition was through`);
    assert.ok(labels.rewinds >= 1, "the labels were read again for the partition handed over");
  } finally {
    await Promise.all([slow.stop(), fast.stop()]);
  }
});
