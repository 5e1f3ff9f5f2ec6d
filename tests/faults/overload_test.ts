import assert from "node:assert/strict";
import {
  accountedIds,
  freshTopics,
  lostIds,
  outputs,
  partitionProgress,
} from "../support/agent_group.ts";
import { kafkaTest } from "../support/kafka.ts";
import {
  type AgentProcess,
  generateData,
  inputId,
  inputLines,
  multiset,
  produceFiles,
  startAgent,
  waitFor,
} from "../support/pipeline.ts";
import { processMemoryBytes } from "../support/process_memory.ts";

/**
 * Overload: one agent confined to 2% of a core (a cgroup v1 CPU quota, as a small VM would be)
 * gets ten times its drain rate for five minutes. Its memory stays under RSS_BOUND while the
 * backlog grows; when the quota is lifted the same process drains the backlog, and at a calm rate
 * afterwards its end-to-end p99 is back under P99_BOUND_MS. Nothing is lost (at-least-once: an
 * agent starved this hard may miss a heartbeat, lose its partitions and score chunks again).
 */
const CPU_QUOTA = 0.02;
const OVERLOAD_FACTOR = 10;
const OVERLOAD_SECONDS = 300;
const RSS_BOUND = 768 * 2 ** 20;
/** Minutes while overloaded; back to well under a second once the backlog is gone. */
const P99_BOUND_MS = 1000;
const CALM_RATE = 200;
/** Longer than two periods of the agent's recent-latency window (60 s), so p99 is the calm one. */
const CALM_SECONDS = 130;
const CPU_CGROUPS = "/sys/fs/cgroup/cpu";

const canLimit = Deno.uid() === 0 && exists(`${CPU_CGROUPS}/cgroup.procs`);
if (!canLimit) console.log(`overload test: skipped, it needs root and cgroup v1 ${CPU_CGROUPS}`);

Deno.test({
  name: `${OVERLOAD_FACTOR}x a CPU-limited agent's drain rate for ${OVERLOAD_SECONDS} s: ` +
    "memory bounded, the backlog drains, p99 recovers, nothing lost",
  ignore: !canLimit,
  ...kafkaTest,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-overload-" });
  const cgroup = `${CPU_CGROUPS}/fraudstream-overload-${crypto.randomUUID().slice(0, 8)}`;
  let agent: AgentProcess | undefined;
  let exited: Deno.CommandStatus | null = null;
  try {
    const prefix = await freshTopics("overload", 6);
    const group = "overload";
    const day = (n: number) => new Date(Date.UTC(2018, 3, 1 + n)).toISOString().slice(0, 10);
    const generate = (name: string, startDay: number, days: number) =>
      generateData(`${dir}/${name}`, [
        "--customers",
        "20000",
        "--terminals",
        "20000",
        "--start-date",
        day(startDay),
        "--days",
        String(days),
        "--seed",
        "31",
      ]);
    agent = await startAgent(prefix, group, ["--instance-id", "overloaded", "--label-wait", "0"]);
    agent.child.status.then((status) => (exited = status));
    await waitFor(
      "partitions assigned",
      async () => ((await agent!.stats()).assigned_partitions as number[]).length === 6,
    );
    Deno.mkdirSync(cgroup);
    Deno.writeTextFileSync(`${cgroup}/cpu.cfs_period_us`, "100000");
    Deno.writeTextFileSync(`${cgroup}/cpu.cfs_quota_us`, String(CPU_QUOTA * 100_000));
    Deno.writeTextFileSync(`${cgroup}/cgroup.procs`, String(agent.child.pid));

    // The drain rate under the quota: a backlog of one day, written flat out.
    const warmupFiles = await generate("warmup", 0, 1);
    let sent = await produceFiles(prefix, warmupFiles, ["--no-labels"]);
    const drainFrom = await scoredAt(agent);
    await waitFor(
      "the warm-up backlog half drained",
      async () => (await scoredAt(agent!)).scored >= sent / 2,
      300_000,
    );
    const drainTo = await scoredAt(agent);
    const drainRate = (drainTo.scored - drainFrom.scored) / ((drainTo.t - drainFrom.t) / 1000);
    await waitFor(
      "the warm-up drained",
      async () => (await scoredAt(agent!)).scored + (await agent!.stats()).dlq >= sent,
      300_000,
    );

    const rate = Math.round(OVERLOAD_FACTOR * drainRate);
    const rows = rate * OVERLOAD_SECONDS;
    const overloadFiles = await generate("overload", 1, Math.ceil(rows / 40_000) + 1);
    let peakRss = 0;
    let peakLag = 0;
    // The agent's own view of its memory at the sample where RSS peaked: JavaScript heap in use,
    // and memory outside it that V8 accounts for (buffers).
    let atPeak = { heapUsed: 0, heapTotal: 0, external: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling && !exited) {
        const rss = processMemoryBytes(agent!.child.pid, "VmRSS");
        if (rss > peakRss) {
          peakRss = rss;
          atPeak = await memoryMetrics(agent!).catch(() => atPeak);
        }
        const progress = await partitionProgress(prefix, group);
        peakLag = Math.max(
          peakLag,
          [...progress.values()].reduce((s, p) => s + p.end - p.committed, 0),
        );
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    sent += await produceFiles(prefix, overloadFiles, [
      "--no-labels",
      "--rate",
      String(rate),
      "--limit",
      String(rows),
    ]);
    const agentLog = () =>
      agent!.log.filter((l) => !l.includes('"level":"info"')).slice(-10).join("\n");
    assert.equal(exited, null, `the overloaded agent exited:\n${agentLog()}`);
    const liftedAt = performance.now();
    Deno.writeTextFileSync(`${cgroup}/cpu.cfs_quota_us`, "-1");
    await waitFor("the backlog drained", async () => {
      const progress = await partitionProgress(prefix, group);
      return [...progress.values()].every((p) => p.committed >= p.end);
    }, 600_000);
    const drainedS = (performance.now() - liftedAt) / 1000;
    sampling = false;
    await sampler;

    const calmFiles = await generate("calm", 1 + Math.ceil(rows / 40_000) + 1, 1);
    sent += await produceFiles(
      prefix,
      calmFiles,
      [
        "--no-labels",
        "--rate",
        String(CALM_RATE),
        "--limit",
        String(CALM_RATE * CALM_SECONDS),
      ],
    );
    await waitFor("the calm input scored", async () => {
      const s = await agent!.stats();
      return s.scored + s.dlq >= sent;
    }, 60_000);
    const stats = await agent.stats();
    const p99 = (stats.e2e_latency_ms as { p99: number }).p99;
    const { predictions, dlq } = await outputs(prefix);
    // --limit sends the first lines of the files: what was sent, line by line.
    const expected = multiset([
      ...inputLines(warmupFiles),
      ...inputLines(overloadFiles).slice(0, rows),
      ...inputLines(calmFiles).slice(0, CALM_RATE * CALM_SECONDS),
    ].map(inputId));
    const got = accountedIds(predictions, dlq);
    const lost = lostIds(expected, got).length;
    const duplicates = predictions.length + dlq.length - sent;
    const assignments = agent.log.filter((l) => l.includes('"event":"assignment"')).length;
    console.log(
      `overload: drain rate at ${CPU_QUOTA} CPU ${drainRate.toFixed(0)} tx/s, input ${rate} tx/s ` +
        `for ${OVERLOAD_SECONDS} s, sent ${sent}, predictions ${predictions.length}, DLQ ${dlq.length}, ` +
        `duplicates ${duplicates}, lost ${lost}, assignments ${assignments}, peak lag ${peakLag}, ` +
        `max RSS ${mib(peakRss)} MiB (heap used ${mib(atPeak.heapUsed)} of ` +
        `${mib(atPeak.heapTotal)} MiB, external ` +
        `${mib(atPeak.external)} MiB), backlog drained ` +
        `${drainedS.toFixed(0)} s after the quota was lifted, calm p99 ${p99} ms`,
    );
    assert.ok(peakRss < RSS_BOUND, `max RSS ${peakRss} bytes`);
    assert.ok(peakLag > rows / 2, `the agent was overloaded (peak lag ${peakLag})`);
    assert.equal([...expected.values()].reduce((a, b) => a + b, 0), sent, "the lines sent");
    assert.equal(lost, 0, `${lost} transaction ids lost`);
    assert.ok(duplicates >= 0, `${duplicates} duplicates`);
    assert.ok(p99 <= P99_BOUND_MS, `calm p99 ${p99} ms`);
  } finally {
    if (agent) {
      // Back to the root group, unless it exited (nothing to move), then stopped.
      if (exists(cgroup) && exited === null) {
        Deno.writeTextFileSync(`${CPU_CGROUPS}/cgroup.procs`, String(agent.child.pid));
      }
      await agent.stop().catch(() => {});
    }
    if (exists(cgroup)) Deno.removeSync(cgroup);
    await Deno.remove(dir, { recursive: true });
  }
});

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

async function memoryMetrics(agent: AgentProcess) {
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
  return {
    heapUsed: value("nodejs_heap_size_used_bytes"),
    heapTotal: value("nodejs_heap_size_total_bytes"),
    external: value("nodejs_external_memory_bytes"),
  };
}

async function scoredAt(agent: AgentProcess): Promise<{ scored: number; t: number }> {
  return { scored: (await agent.stats()).scored, t: performance.now() };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
