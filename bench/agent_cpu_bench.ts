import { benchFlags } from "./bench_flags.ts";
import { createKafkaClient } from "../kafka/boundary.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";

/**
 * `deno task bench agent-cpu --other DIR`: the agent of this checkout against the agent of
 * another checkout (DIR, e.g. `git worktree add DIR COMMIT`, then `deno install` in it), alternated
 * on one preloaded topic with labels, each in a fresh consumer group. Prints the CPU time of the
 * agent process (user + system, /proc) per committed message, from process start and from its
 * first commit, and the wall rate. CPU per message is what to compare on a shared machine: a busy
 * neighbour halves a rate, not the CPU a message takes.
 */
const values = benchFlags({
  other: { type: "string" },
  rounds: { type: "string", default: "2" },
  customers: { type: "string", default: "5000" },
  terminals: { type: "string", default: "10000" },
  days: { type: "string", default: "30" },
  partitions: { type: "string", default: "6" },
});
if (!values.other) {
  console.error("bench: --other DIR is required (a checkout of the code to compare with)");
  Deno.exit(2);
}
const here = new URL("..", import.meta.url).pathname;
const checkouts = [["other", values.other], ["this", here]] as const;
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function fraudstream(dir: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${dir}/main.ts`, ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`fraudstream ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const local = await startLocalKafka();
const work = await Deno.makeTempDir({ prefix: "fraudstream-bench-agent-cpu-" });
try {
  const env = { FRAUDSTREAM_BROKERS: local.brokers.join(",") };
  const kafka = await createKafkaClient({
    brokers: local.brokers,
    clientId: "bench-agent-cpu",
    securityProtocol: "plaintext",
    connectTimeoutMs: 10_000,
  });
  const admin = await kafka.admin();
  const prefix = "agent-cpu.";
  await ensureTopics(admin, topicNames(prefix), {
    partitions: Number(values.partitions),
    replicationFactor: 1,
  });
  await fraudstream(here, [
    "generate",
    "--out",
    `${work}/data`,
    "--customers",
    values.customers!,
    "--terminals",
    values.terminals!,
    "--days",
    values.days!,
  ], env);
  await fraudstream(
    here,
    ["produce", "--topic-prefix", prefix, "--http", "off", `${work}/data`],
    env,
  );
  console.log(`agent CPU per message: this checkout vs ${values.other}, ${values.days} days`);
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, dir] of checkouts) {
      const group = `agent-cpu-${name}-${round}`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${dir}/main.ts`,
          "agent",
          "--topic-prefix",
          prefix,
          "--group",
          group,
          "--http",
          "off",
        ],
        env,
        stdout: "null",
        stderr: "null",
      }).spawn();
      let first: { committed: number; cpu: number; at: number } | null = null;
      let last = { committed: 0, cpu: 0, at: 0 };
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        // The group's coordinator may not answer yet while the agent joins: ask again.
        const lag = await admin.groupLag(group, topicNames(prefix).transactions).catch(() => null);
        if (lag === null) continue;
        const end = lag.partitions.reduce((sum, p) => sum + p.end, 0);
        const now = {
          committed: end - lag.total,
          cpu: cpuSeconds(child.pid),
          at: performance.now(),
        };
        if (now.committed > 0 && first === null) first = now;
        last = now;
        if (lag.partitions.length > 0 && lag.total === 0 && now.committed > 0) break;
      }
      child.kill("SIGTERM");
      await child.status;
      const n = last.committed - first!.committed;
      // A topic scored between two samples has no "after the first commit": too small to say.
      const after = n > 0
        ? `${(1e6 * (last.cpu - first!.cpu) / n).toFixed(2)} after the first commit, ${
          Math.round(n / ((last.at - first!.at) / 1000))
        } msg/s`
        : "done within one sample (use more --days)";
      console.log(
        `  round ${round} ${name.padEnd(5)}: ${
          (1e6 * last.cpu / last.committed).toFixed(2)
        } CPU µs/msg from start, ${after}`,
      );
    }
  }
  await admin.close();
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await local.stop();
}
