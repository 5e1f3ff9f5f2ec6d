import assert from "node:assert/strict";
import type { ReadMessage } from "./pipeline.ts";
import { DEFAULT_MODEL_PATH, loadOnnxModel } from "../../agent/onnx_model.ts";
import { topicNames } from "../../kafka/topics.ts";
import { groupDrained, partitionProgress } from "./agent_group.ts";
import { type AgentProcess, readTopic, waitFor } from "./pipeline.ts";
import { FeatureEngine } from "../../features/feature_engine.ts";
import { readFeatureMatrix } from "../../features/feature_matrix.ts";
import { runCli, testKafka } from "./kafka.ts";

/** A transaction is (id, customer): the dirty data reuses ids across customers. */
export type ScoreKey = string;

/**
 * The offline scores of day files: `fraudstream features` (the training export, with its label
 * delay simulator) and the shipped model, keyed like scoreKey of a prediction.
 */
export async function offlineScores(files: string[], dir: string): Promise<Map<ScoreKey, number>> {
  const path = `${dir}/matrix-${crypto.randomUUID().slice(0, 8)}.bin`;
  const exported = await runCli(["features", "--out", path, ...files]);
  if (exported.code !== 0) throw new Error(`features failed: ${exported.stderr}`);
  const { features, meta } = await readFeatureMatrix(path);
  const model = await loadOnnxModel(DEFAULT_MODEL_PATH, new FeatureEngine());
  try {
    const scores = await model.scoreBatch(features, meta.length, new Float32Array(meta.length));
    return new Map(meta.map((m, i) => [`${m.transactionId}/${m.customerId}`, scores[i]]));
  } finally {
    await model.release();
    await Deno.remove(path);
  }
}

export interface Prediction {
  transaction_id: number;
  customer_id: number;
  score: number;
  event_time: string;
  labels_complete: boolean;
}

export function parsePrediction(m: ReadMessage): Prediction {
  return JSON.parse(m.value!.toString());
}

/**
 * How the streamed predictions (duplicates of at-least-once included) compare with the offline
 * scores: the largest difference, the transactions only one side has, and the stale ones.
 */
export function compareScores(offline: Map<ScoreKey, number>, predictions: ReadMessage[]) {
  let maxDiff = 0;
  let worst = "";
  const seen = new Set<ScoreKey>();
  const onlyStreamed: ScoreKey[] = [];
  let stale = 0;
  for (const m of predictions) {
    const p = parsePrediction(m);
    const key = `${p.transaction_id}/${p.customer_id}`;
    seen.add(key);
    if (!p.labels_complete) stale++;
    const expected = offline.get(key);
    if (expected === undefined) {
      onlyStreamed.push(key);
      continue;
    }
    const diff = Math.abs(p.score - expected);
    if (diff > maxDiff) {
      maxDiff = diff;
      worst = `${key}: streamed ${p.score}, offline ${expected}`;
    }
  }
  const onlyOffline = [...offline.keys()].filter((k) => !seen.has(k));
  return { maxDiff, worst, onlyStreamed, onlyOffline, stale };
}

/** `generate` flags for the event-time join scenarios: 60 days, dirty unless --clean is added. */
export const JOIN_TEST_DATA = [
  "--customers",
  "300",
  "--terminals",
  "600",
  "--days",
  "60",
  "--seed",
  "21",
];

/**
 * Waits until the group committed `sent` messages, then checks every prediction against the
 * offline scores (<= 1e-6), none stale or missing, and no agent counted a stale score or a late
 * label.
 */
export async function assertMatchesOffline(
  prefix: string,
  group: string,
  sent: number,
  expected: Map<ScoreKey, number>,
  agents: AgentProcess[],
): Promise<void> {
  try {
    await waitFor("the group drained", () => groupDrained(prefix, group, sent), 120_000);
  } catch (err) {
    console.log(await drainReport(prefix, group, agents));
    throw err;
  }
  const predictions = await readTopic(await testKafka(), topicNames(prefix).predictions);
  const result = compareScores(expected, predictions);
  const stats = await Promise.all(agents.map((a) => a.stats()));
  const labels = stats.map((s) => s.labels as { stale_scores: number; late: number });
  assert.deepEqual(result.onlyOffline, [], "every transaction scored");
  assert.deepEqual(result.onlyStreamed, [], "no transaction scored that offline does not know");
  assert.equal(result.stale, 0, "no prediction marked labels_complete:false");
  assert.deepEqual(labels.map((l) => l.stale_scores), labels.map(() => 0));
  assert.deepEqual(labels.map((l) => l.late), labels.map(() => 0));
  if (result.maxDiff > 1e-6) {
    console.log(mismatchReport(expected, predictions, result.worst, agents));
  }
  assert.ok(result.maxDiff <= 1e-6, `max |streamed - offline| ${result.maxDiff} (${result.worst})`);
}

/**
 * For a group that did not drain, which is rare and timing-bound: each partition's committed and
 * end offsets, what each agent says it owns, waits for and lags, and its group and commit events.
 */
async function drainReport(prefix: string, group: string, agents: AgentProcess[]): Promise<string> {
  const progress = await partitionProgress(prefix, group).catch((e) => `${e}`);
  const lines = [
    `partitions (committed/end): ${
      typeof progress === "string"
        ? progress
        : [...progress].map(([p, o]) => `${p}: ${o.committed}/${o.end}`).join(", ")
    }`,
  ];
  for (const a of agents) {
    const s = await a.stats().catch(() => null);
    lines.push(
      `agent ${a.instance}: ${
        s === null ? "no stats" : JSON.stringify({
          assigned: s.assigned_partitions,
          consumed: s.consumed,
          lag: s.lag.partitions.map((p) => [p.partition, p.lag]),
          waiting: s.labels.waiting_partitions,
        })
      }`,
      ...a.log.filter((l) => DRAIN_EVENTS.test(l)).slice(-20).map((l) => `  ${l}`),
    );
  }
  return lines.join("\n");
}

/** Agent log events of a partition changing hands, being read and committed. */
const DRAIN_EVENTS =
  /"event":"(assignment|revoked|restore\w*|state_caught_up|records_skipped|labels_rewind|batch_\w+|commit\w*|consumer_crash)"|"level":"(warn|error)"/;

/** Agent log events that change what a partition's state holds. */
const STATE_EVENTS =
  /"event":"(assignment|restore|state_caught_up|records_skipped|labels_rewind|batch_rebalanced|batch_failed)"/;

/**
 * For a score mismatch, which is rare and timing-bound: every streamed score of the worst key's
 * customer against the offline one (where they part shows whether its state lost history or one
 * transaction went wrong), and the agents' state events.
 */
function mismatchReport(
  expected: Map<ScoreKey, number>,
  predictions: ReadMessage[],
  worst: string,
  agents: AgentProcess[],
): string {
  const customer = worst.split(":")[0].split("/")[1];
  const rows = predictions.map(parsePrediction).filter((p) => String(p.customer_id) === customer)
    .map((p) => {
      const offline = expected.get(`${p.transaction_id}/${p.customer_id}`);
      return `  ${p.transaction_id} ${p.event_time} streamed ${p.score.toFixed(6)} offline ${
        offline?.toFixed(6)
      } labels_complete ${p.labels_complete}`;
    });
  const events = agents.map((a, i) =>
    [`agent ${i} (${a.instance}):`, ...a.log.filter((l) => STATE_EVENTS.test(l)).slice(-40)]
      .join("\n  ")
  );
  return [`customer ${customer}, in prediction order:`, ...rows, ...events].join("\n");
}
