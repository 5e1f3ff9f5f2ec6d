import { benchFlags } from "./bench_flags.ts";
import { createKafkaClient, type KafkaAdmin } from "../kafka/boundary.ts";
import { type LocalFleet, startLocalFleet } from "../capacity/agent_fleet.ts";
import { selfCommand } from "../capacity/self_command.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";

/**
 * `deno task bench kill-gap`: the scoring gap of one kill -9. Three agents score a topic fed at
 * --rate tx/s; one is killed with SIGKILL and started again under the same instance id after
 * --restart-after (as systemd restarts it). The gap is the longest time after the kill that the
 * committed offsets stood still: of the partitions the killed agent owned, and of the whole group. Variants:
 * kafkajs, @platformatic/kafka, and @platformatic/kafka with --static-membership (KIP-345: the
 * restarted member takes its partitions back without a rebalance; without it they wait for the
 * dead member's session timeout, 30 s). Committed offsets are sampled every 100 ms.
 */
const values = benchFlags({
  rate: { type: "string", default: "2000" },
  "restart-after": { type: "string", default: "1.5" },
  partitions: { type: "string", default: "6" },
  data: { type: "string" },
});

const VARIANTS = [
  { label: "kafkajs", args: ["--kafka-client", "kafkajs"] },
  { label: "platformatic", args: ["--kafka-client", "platformatic"] },
  {
    label: "platformatic, static membership",
    args: ["--kafka-client", "platformatic", "--static-membership"],
  },
];

const external = Deno.env.get("FRAUDSTREAM_BROKERS");
const local = external ? undefined : await startLocalKafka();
const brokers = external ?? local!.brokers.join(",");
const kafka = await createKafkaClient({
  brokers: brokers.split(","),
  clientId: "bench-kill-gap",
  securityProtocol: "plaintext",
  connectTimeoutMs: 10_000,
});
const run = crypto.randomUUID().slice(0, 8);
const work = await Deno.makeTempDir({ prefix: "fraudstream-bench-kill-gap-" });
const [cmd, ...prefixArgs] = selfCommand();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fraudstream(args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(cmd, {
    args: [...prefixArgs, ...args],
    env: { FRAUDSTREAM_BROKERS: brokers },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

async function committedByPartition(admin: KafkaAdmin, group: string, topic: string) {
  return await admin.committedOffsets(group, topic);
}

async function killGap(variant: (typeof VARIANTS)[number], index: number, data: string) {
  const prefix = `bench.${run}.kill${index}.`;
  const group = `bench-kill-${index}-${run}`;
  const admin = await kafka.admin();
  await ensureTopics(admin, topicNames(prefix), {
    partitions: Number(values.partitions),
    replicationFactor: 1,
  });
  const topic = topicNames(prefix).transactions;
  const rate = Number(values.rate);
  const start = (i: number) =>
    startLocalFleet({
      count: 1,
      group,
      topicPrefix: prefix,
      connectionArgs: ["--brokers", brokers],
      agentArgs: ["--max-batch", "200", ...variant.args],
      instancePrefix: `a${i}`,
      readyTimeoutMs: 120_000,
    });
  const agents: LocalFleet[] = [];
  for (let i = 0; i < 3; i++) agents.push(await start(i));
  const producing = fraudstream([
    "produce",
    "--topic-prefix",
    prefix,
    "--http",
    "off",
    "--rate",
    String(rate),
    "--limit",
    String(rate * 120),
    data,
  ]);
  const samples: { atMs: number; committed: Map<number, bigint> }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({
        atMs: Date.now(),
        committed: await committedByPartition(admin, group, topic),
      });
      await sleep(100);
    }
  })();
  try {
    await sleep(20_000);
    const victim = agents[0];
    const owned = (await fetch(`${victim.urls[0]}/stats`).then((r) => r.json()))
      .assigned_partitions as number[];
    const killedAt = Date.now();
    Deno.kill(victim.pids[0], "SIGKILL");
    await victim.stop().catch(() => {});
    await sleep(Number(values["restart-after"]) * 1000);
    agents[0] = await start(0);
    await sleep(45_000);
    sampling = false;
    await sampler;
    /** The longest stretch after the kill in which the partitions' committed total stood still. */
    const standstill = (partitions: number[] | null) => {
      const total = (s: (typeof samples)[number]) => {
        let sum = 0n;
        for (const [p, o] of s.committed) if (!partitions || partitions.includes(p)) sum += o;
        return sum;
      };
      const after = samples.filter((x) => x.atMs >= killedAt);
      let longest = 0;
      let since = killedAt;
      let last = after.length ? total(after[0]) : 0n;
      for (const s of after) {
        const t = total(s);
        if (t !== last) {
          since = s.atMs;
          last = t;
        } else longest = Math.max(longest, s.atMs - since);
      }
      return longest;
    };
    const victimGap = standstill(owned);
    const groupGap = standstill(null);
    return { owned, victimGap, groupGap };
  } finally {
    sampling = false;
    await sampler;
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    await producing;
    await admin.close();
  }
}

try {
  const data = values.data ?? `${work}/data`;
  if (!values.data) {
    const out = await fraudstream([
      "generate",
      "--out",
      data,
      "--customers",
      "2000",
      "--days",
      "30",
    ]);
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  }
  const load = () => Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(
    `kill -9 gap: 3 agents, input at ${values.rate} tx/s, restart after ${
      values["restart-after"]
    } s; load ${load()}`,
  );
  for (const [i, variant] of VARIANTS.entries()) {
    const { owned, victimGap, groupGap } = await killGap(variant, i, data);
    console.log(
      `  ${variant.label}: the killed agent's partitions [${owned}] stood still at most ${
        (victimGap / 1000).toFixed(1)
      } s; the group's committed offsets stood still at most ${
        (groupGap / 1000).toFixed(1)
      } s; load ${load()}`,
    );
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await local?.stop();
}
Deno.exit(0);
