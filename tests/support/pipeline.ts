import { Buffer } from "node:buffer";
import type { KafkaClient } from "../../kafka/boundary.ts";
import { runCli, testBrokers } from "./kafka.ts";
import { selfCommand } from "../../capacity/self_command.ts";
import { type AgentStatsDocument, parseAgentStats } from "../../agent/stats_document.ts";

/** The end-to-end pieces tests combine: data files, the producer, agent processes, topic reads. */

export async function generateData(dir: string, args: string[]): Promise<string[]> {
  const out = await runCli(["generate", "--out", dir, ...args]);
  if (out.code !== 0) throw new Error(`generate failed: ${out.stderr}`);
  return [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).filter((f) => f.endsWith(".txt"))
    .sort();
}

/** Runs `fraudstream produce` to the end of the files; returns how many messages it sent. */
export async function produceFiles(
  prefix: string,
  files: string[],
  args: string[] = [],
  brokers?: string[],
): Promise<number> {
  const out = await runCli([
    "produce",
    "--topic-prefix",
    prefix,
    "--http",
    "off",
    ...args,
    ...files,
  ], {
    FRAUDSTREAM_BROKERS: (brokers ?? await testBrokers()).join(","),
  });
  if (out.code !== 0) throw new Error(`produce failed: ${out.stderr}`);
  const done =
    out.stderr.split("\n").filter((l) => l.includes('"event":"done"')).map((l) => JSON.parse(l))[0];
  return done.sent;
}

export interface AgentProcess {
  url: string;
  instance: string;
  child: Deno.ChildProcess;
  log: string[];
  stats(): Promise<AgentStatsDocument>;
  /** SIGTERM and wait: the agent's clean stop. */
  stop(): Promise<number>;
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>;
}

/** Starts `fraudstream agent` as its own process (as on a VM) and waits for its stats URL. */
export async function startAgent(
  prefix: string,
  group: string,
  args: string[] = [],
  brokers?: string[],
  env: Record<string, string> = {},
): Promise<AgentProcess> {
  const [exec, ...self] = selfCommand();
  const child = new Deno.Command(exec, {
    args: [
      ...self,
      "agent",
      "--topic-prefix",
      prefix,
      "--group",
      group,
      "--http",
      "127.0.0.1:0",
      ...args,
    ],
    env: { FRAUDSTREAM_BROKERS: (brokers ?? await testBrokers()).join(","), ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  let resolveStart!: (line: { http: string; instance: string }) => void;
  const started = new Promise<{ http: string; instance: string }>((r) => (resolveStart = r));
  (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        log.push(line);
        if (line.includes('"event":"start"')) resolveStart(JSON.parse(line));
      }
    }
  })();
  let exited = false;
  const early = child.status.then((s) => {
    exited = true;
    throw new Error(`agent exited with ${s.code} before starting: ${log.join("\n")}`);
  });
  const start = await Promise.race([started, early]);
  early.catch(() => {});
  return {
    url: start.http,
    instance: start.instance,
    child,
    log,
    stats: () => fetch(`${start.http}/stats`).then((r) => r.json()).then(parseAgentStats),
    // An agent that already exited is not an error here: the test asserts on that itself, and a
    // throw from its clean-up would hide what it found.
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      return (await child.status).code;
    },
    kill: async () => {
      if (!exited) child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** Polls until `done()` holds, failing with `what` after the timeout. */
export async function waitFor(
  what: string,
  done: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A record read back, with the partition it was read from; bytes as Buffers for tests. */
export interface ReadMessage {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
  timestampMs: number;
}

const asBuffer = (b: Uint8Array | null | undefined) =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : null;

/** Every record of a topic up to its end offsets at call time (read_committed). */
export async function readTopic(client: KafkaClient, topic: string): Promise<ReadMessage[]> {
  const admin = await client.admin();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await admin.partitionOffsets(topic)) ends.set(p.partition, p.latest);
  } finally {
    await admin.close();
  }
  const messages: ReadMessage[] = [];
  await client.readHistory(topic, ends, (batch) => {
    for (let i = 0; i < batch.length; i++) {
      const headers: Record<string, Buffer | undefined> = {};
      for (const [name, value] of Object.entries(batch.headers(i))) {
        headers[name] = asBuffer(value)!;
      }
      messages.push({
        partition: batch.partition,
        offset: batch.offset(i),
        key: asBuffer(batch.key(i)),
        value: asBuffer(batch.value(i)),
        headers,
        timestampMs: batch.timestampMs(i),
      });
    }
  });
  return messages;
}

/** Transaction id of a raw input line (its first field), or the whole line when it has none. */
export function inputId(line: string): string {
  const first = line.split(",")[0];
  return /^\d+$/.test(first) ? first : `raw:${line}`;
}

/** Raw lines the producer sends for these files (header lines are not sent). */
export function inputLines(files: string[]): string[] {
  return files.flatMap((f) =>
    Deno.readTextFileSync(f).split("\n").filter((l) => l !== "" && !l.startsWith("#"))
  );
}

export function multiset(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}
