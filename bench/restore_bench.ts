import { benchFlags } from "./bench_flags.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";

/**
 * `deno task bench restore`: how long a restarted agent takes to be ready, against the length of
 * the history its partitions hold. Per history length (--days-list, default 1,7,30 days of
 * --customers customers, about 33,000 transactions a day by default: the holiday rate of ~1M in 30
 * days), a fresh topic set gets that history (with its labels), one agent scores it all and stops
 * (SIGTERM, leaving state snapshots), then a second agent of the same group is started and timed
 * from spawn to /readyz 200, twice: replaying the whole history (--snapshot-interval 0), then from
 * the snapshots. Its terminal state is read from the labels topic either way. Only the CLI is
 * used, as an operator would.
 */
const values = benchFlags({
  "days-list": { type: "string", default: "1,7,30" },
  customers: { type: "string", default: "16700" },
  terminals: { type: "string", default: "10000" },
  partitions: { type: "string", default: "6" },
  "agent-args": { type: "string", default: "" },
});
const daysList = values["days-list"]!.split(",").map(Number);
if (daysList.some((d) => !(Number.isInteger(d) && d > 0))) {
  console.error(`bench: --days-list wants whole days above zero, got ${values["days-list"]}`);
  Deno.exit(2);
}
const agentArgs = values["agent-args"]!.split(" ").filter((a) => a !== "");
const MAIN = new URL("../main.ts", import.meta.url).pathname;

const local = await startLocalKafka();
const env = { FRAUDSTREAM_BROKERS: local.brokers.join(",") };
const work = await Deno.makeTempDir({ prefix: "fraudstream-bench-restore-" });

async function cli(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`fraudstream ${args[0]}: ${stderr.trim()}`);
  return stderr;
}

interface Agent {
  child: Deno.ChildProcess;
  url: Promise<string>;
  /** The agent's log so far (JSON lines on stderr). */
  log: string[];
  /** Set once the process has exited. */
  exited: Deno.CommandStatus | null;
}

function spawnAgent(prefix: string, extraArgs: string[] = []): Agent {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "agent",
      "--topic-prefix",
      prefix,
      "--group",
      `${prefix}agents`,
      "--http",
      "127.0.0.1:0",
      ...agentArgs,
      ...extraArgs,
    ],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const agent: Agent = { child, url: Promise.resolve(""), log: [], exited: null };
  const start = Promise.withResolvers<string>();
  agent.url = start.promise;
  child.status.then((s) => {
    agent.exited = s;
    start.reject(
      new Error(
        `the agent exited (${s.code}) before it started: ${agent.log.slice(-5).join("\n")}`,
      ),
    );
  });
  (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        agent.log.push(line);
        if (line.includes('"event":"start"')) start.resolve(JSON.parse(line).http);
      }
    }
  })();
  return agent;
}

async function until(
  agent: Agent,
  what: string,
  done: () => Promise<boolean>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done().catch(() => false))) {
    if (agent.exited || Date.now() > deadline) {
      throw new Error(
        `${
          agent.exited ? `the agent exited (${agent.exited.code})` : "timed out"
        } waiting for ${what}: ` +
          agent.log.slice(-5).join("\n"),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stats = async (url: string) => await (await fetch(`${url}/stats`)).json();

try {
  const all = [...daysList].sort((a, b) => a - b);
  await cli([
    "generate",
    "--out",
    `${work}/data`,
    "--customers",
    values.customers!,
    "--terminals",
    values.terminals!,
    "--days",
    String(all.at(-1)),
  ]);
  const files = [...Deno.readDirSync(`${work}/data`)].map((e) => `${work}/data/${e.name}`).sort();
  const rows: string[] = [];
  console.log(`uptime: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
  for (const days of daysList) {
    const prefix = `restore-${days}d.`;
    await cli(["topics", "--topic-prefix", prefix, "--partitions", values.partitions!]);
    const produced = await cli([
      "produce",
      "--topic-prefix",
      prefix,
      "--http",
      "off",
      ...files.slice(0, days),
    ]);
    const sent = produced.split("\n").filter((l) => l.includes('"event":"done"'))
      .map((l) => JSON.parse(l).sent as number)[0];
    const first = spawnAgent(prefix);
    const firstUrl = await first.url;
    await until(first, "the history scored", async () => {
      const s = await stats(firstUrl);
      return s.scored + s.dlq + s.duplicates >= sent && s.lag.total === 0;
    }, 900_000);
    first.child.kill("SIGTERM");
    await first.child.status;

    // The same restart twice: replaying the whole history, then from the snapshots the first
    // agent left (every 30 s and at its stop).
    for (const snapshots of [false, true]) {
      const spawned = performance.now();
      const second = spawnAgent(prefix, snapshots ? [] : ["--snapshot-interval", "0"]);
      const url = await second.url;
      const startedS = (performance.now() - spawned) / 1000;
      await until(
        second,
        "ready",
        async () => (await fetch(`${url}/readyz`)).status === 200,
        900_000,
      );
      const readyS = (performance.now() - spawned) / 1000;
      const restore = (await stats(url)).restore as { messages: number; ms: number };
      second.child.kill("SIGTERM");
      await second.child.status;
      rows.push(
        `| ${days} | ${snapshots ? "yes" : "no"} | ${sent} | ${restore.messages} | ` +
          `${(restore.ms / 1000).toFixed(2)} | ${startedS.toFixed(2)} | ${readyS.toFixed(2)} |`,
      );
      console.log(rows.at(-1));
    }
  }
  console.log(
    [
      `uptime: ${Deno.readTextFileSync("/proc/loadavg").trim()}`,
      "| history, days | snapshots | messages | replayed | restore s | process up s | ready s |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"),
  );
} finally {
  await local.stop();
  await Deno.remove(work, { recursive: true });
}
