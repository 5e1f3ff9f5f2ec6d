import assert from "node:assert/strict";
import { AgentStats } from "../agent/agent_stats.ts";
import { OnlineQuality } from "../agent/online_quality.ts";
import { LATENCY_BUCKETS_S } from "../metrics/latency_buckets.ts";
import { FileReader } from "../producer/file_reader.ts";
import { ProducerStats } from "../producer/producer_stats.ts";
import { createPacer } from "../producer/rate_pacer.ts";
import {
  checkExposition,
  type ParsedFamily,
} from "../tests/support/prometheus_check/prometheus_check.ts";
import { statsApp } from "./stats_server.ts";

/**
 * The /metrics bodies of the agent and the producer, read by prometheus_client's parser (the
 * venv is built once under .cache/), and what a fleet's histogram_quantile makes of them.
 */

const ENGINE = { outOfOrder: 2, tooOld: 1, saturated: 0 };
const JOIN = { lagMs: 1500, late: 0, staleScores: 3, maxStaleGapMs: 250, rewinds: 0 };

function agentStats(instance: string): AgentStats {
  const quality = new OnlineQuality(0.5, 100);
  [[1, 0.9, 1], [2, 0.7, 0], [3, 0.2, 1], [4, 0.1, 0]].forEach(([id, score, fraud]) => {
    quality.scored(id, score);
    quality.labelled(id, fraud);
  });
  const stats = new AgentStats(instance, "fraudstream-agents", "transactions", {
    name: "fraudstream-fraud",
    version: "1",
    threshold: 0.5,
    registry: null,
  }, quality);
  stats.scored.add(10);
  stats.recordDlq("bad_json");
  stats.lag.set(0, 7);
  return stats;
}

async function agentMetrics(stats: AgentStats): Promise<string> {
  const app = statsApp({
    healthy: () => true,
    readiness: () => ({}),
    stats: () => ({ version: 1, role: "agent", instance: stats.instance, uptime_s: 0 }),
    metrics: () => stats.toPrometheus([0], ENGINE, JOIN),
  });
  return await (await app.request("/metrics")).text();
}

/** A bucket's upper bound as a number ("+Inf" included). */
function le(sample: { labels: Record<string, string> }): number {
  return sample.labels.le === "+Inf" ? Infinity : Number(sample.labels.le);
}

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const f = families.find((f) => f.name === name);
  assert.ok(f, `${name} is exposed (${families.map((f) => f.name).join(", ")})`);
  return f;
}

Deno.test("the agent's /metrics parses cleanly, with histograms, quality and process metrics", async () => {
  const stats = agentStats("agent-1");
  stats.batchLatencyMs.observe(4);
  stats.e2eLatencyMs.observeAll(Float64Array.of(0.2, 30, 20_000));
  const { problems, families } = await checkExposition(await agentMetrics(stats));
  assert.deepEqual(problems, []);
  const e2e = family(families, "fraudstream_agent_end_to_end_latency_seconds");
  assert.equal(e2e.type, "histogram");
  const buckets = e2e.samples.filter((s) => s.name.endsWith("_bucket"));
  assert.deepEqual(buckets.map(le), [...LATENCY_BUCKETS_S, Infinity]);
  const upTo = (bound: number) => buckets.find((s) => le(s) === bound)?.value;
  assert.deepEqual([0.0005, 0.025, 0.05, 10, Infinity].map(upTo), [1, 1, 2, 2, 3]);
  assert.equal(e2e.samples.find((s) => s.name.endsWith("_sum"))?.value, 20.0302);
  assert.equal(family(families, "fraudstream_agent_batch_duration_seconds").type, "histogram");
  // Two of the four labelled scores are flagged, one of them a fraud; one fraud was missed.
  assert.equal(family(families, "fraudstream_agent_online_precision_ratio").samples[0].value, 0.5);
  assert.equal(family(families, "fraudstream_agent_online_recall_ratio").samples[0].value, 0.5);
  assert.equal(family(families, "fraudstream_agent_online_roc_auc_ratio").samples[0].value, 0.75);
  assert.equal(family(families, "process_cpu_seconds").type, "counter");
  assert.equal(family(families, "process_resident_memory_bytes").type, "gauge");
  assert.equal(family(families, "process_start_time_seconds").type, "gauge");
  assert.equal(family(families, "nodejs_heap_size_used_bytes").type, "gauge");
});

Deno.test("the producer's /metrics parses cleanly", async () => {
  const stats = new ProducerStats(
    "producer-1",
    "transactions",
    new FileReader([]).stats,
    createPacer({ kind: "constant", rate: 50 }),
    undefined,
  );
  stats.noteSend(10, performance.now());
  stats.sendLatencyMs.observe(3);
  const app = statsApp(stats);
  const { problems, families } = await checkExposition(
    await (await app.request("/metrics")).text(),
  );
  assert.deepEqual(problems, []);
  assert.equal(family(families, "fraudstream_producer_send_duration_seconds").type, "histogram");
});

Deno.test("the checker refuses what Prometheus would misread", async () => {
  const { problems } = await checkExposition(
    "# HELP c C.\n# TYPE c counter\nc 1\nloose 1\n# HELP h H.\n# TYPE h histogram\n" +
      'h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
  );
  assert.deepEqual(problems, [
    "c: a counter's name must end in _total",
    "loose: no TYPE line before its samples",
    "loose: no HELP text",
    "h(): bucket counts must be cumulative",
  ]);
});

/** PromQL's histogram_quantile over cumulative buckets: linear within the bucket it lands in. */
function histogramQuantile(q: number, buckets: [number, number][]): number {
  const total = buckets[buckets.length - 1][1];
  const rank = q * total;
  let i = buckets.findIndex(([, n]) => n >= rank);
  if (buckets[i][0] === Infinity) i--;
  const [lower, below] = i === 0 ? [0, 0] : buckets[i - 1];
  const [upper, upto] = buckets[i];
  return lower + (upper - lower) * (rank - below) / (upto - below);
}

Deno.test("summing two agents' buckets by le gives the fleet's p99, which neither agent shows", async () => {
  // Agent a: 1000 fast messages (2 ms). Agent b: 970 fast, 30 slow (400 ms). Of the fleet's 2000,
  // the 1980th is the 10th of the 30 slow ones: a third into the (0.25 s, 0.5 s] bucket.
  const a = agentStats("agent-a");
  const b = agentStats("agent-b");
  a.e2eLatencyMs.observeAll(new Float64Array(1000).fill(2));
  b.e2eLatencyMs.observeAll(new Float64Array(970).fill(2));
  b.e2eLatencyMs.observeAll(new Float64Array(30).fill(400));
  const sum = new Map<number, number>();
  for (const stats of [a, b]) {
    const { families } = await checkExposition(await agentMetrics(stats));
    for (const s of family(families, "fraudstream_agent_end_to_end_latency_seconds").samples) {
      if (!s.name.endsWith("_bucket")) continue;
      sum.set(le(s), (sum.get(le(s)) ?? 0) + s.value);
    }
  }
  const fleet = [...sum].sort(([x], [y]) => x - y);
  assert.equal(histogramQuantile(0.99, fleet), 0.25 + 0.25 / 3);
  assert.ok(Math.abs(histogramQuantile(0.5, fleet) - 0.002) < 0.0005);
});
