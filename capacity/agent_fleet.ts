import { UserFacingError } from "../cli/usage_error.ts";
import { normalizeAgentUrl, readAgentStats } from "../fleet/agent_poll.ts";
import { errorText } from "../kafka/connection.ts";
import { selfCommand } from "./self_command.ts";

/** The agents a measurement drives, wherever they run. */
export interface Fleet {
  /** Stats endpoints, one per agent. */
  readonly urls: string[];
  readonly group: string;
  /** Ends the agents the planner started; a remote fleet is left running. */
  stop(): Promise<void>;
}

/** Agents started here, as child processes. */
export interface LocalFleet extends Fleet {
  /** Their process ids, in the order of `urls`. */
  readonly pids: number[];
}

export interface LocalFleetOptions {
  count: number;
  group: string;
  topicPrefix: string;
  /** Connection flags for `fraudstream agent` (--brokers ..., security). */
  connectionArgs: string[];
  /** Extra agent flags passed through, e.g. --max-batch 50. */
  agentArgs: string[];
  /** Name stem of the agents' instance ids. */
  instancePrefix: string;
  /** Each agent's stderr (JSON logs) goes to DIR/<instance>.log when given. */
  logDir?: string;
  readyTimeoutMs: number;
  /**
   * The argv prefix that runs fraudstream (default: this program, see self_command.ts); the demo
   * and the bench pass a compiled executable to drive it from a checkout.
   */
  command?: string[];
}

interface Child {
  instance: string;
  process: Deno.ChildProcess;
  url: Promise<string>;
  lastLines: string[];
  logWritten: Promise<void>;
}

/**
 * Starts `count` scoring agents as child processes of this program (the same binary or
 * checkout), each with its stats endpoint on a free port, and waits until every one is ready:
 * broker connected, labels caught up, partitions assigned, state restored.
 */
export async function startLocalFleet(opts: LocalFleetOptions): Promise<LocalFleet> {
  const children: Child[] = [];
  const stop = () => Promise.all(children.map(stopChild)).then(() => {});
  try {
    for (let i = 1; i <= opts.count; i++) {
      children.push(await spawnAgent(opts, `${opts.instancePrefix}-${i}`));
    }
    const urls = await Promise.all(children.map((c) => c.url));
    await waitReady(children, urls, opts.readyTimeoutMs);
    return { urls, group: opts.group, stop, pids: children.map((c) => c.process.pid) };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function spawnAgent(opts: LocalFleetOptions, instance: string): Promise<Child> {
  const [cmd, ...prefix] = opts.command ?? selfCommand();
  const process = new Deno.Command(cmd, {
    args: [
      ...prefix,
      "agent",
      ...opts.connectionArgs,
      "--group",
      opts.group,
      "--topic-prefix",
      opts.topicPrefix,
      "--instance-id",
      instance,
      ...opts.agentArgs,
      // Last, so that no pass-through flag can move the endpoint the planner reads.
      "--http",
      "127.0.0.1:0",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lastLines: string[] = [];
  let resolveUrl!: (url: string) => void;
  const announced = new Promise<string>((r) => (resolveUrl = r));
  const log = opts.logDir
    ? await Deno.open(`${opts.logDir}/${instance}.log`, {
      write: true,
      create: true,
      truncate: true,
    })
    : undefined;
  const encoder = new TextEncoder();
  const logWritten = (async () => {
    let rest = "";
    try {
      for await (const chunk of process.stderr.pipeThrough(new TextDecoderStream())) {
        await log?.write(encoder.encode(chunk));
        rest += chunk;
        const lines = rest.split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          lastLines.push(line);
          if (lastLines.length > 20) lastLines.shift();
          const http = startUrl(line);
          if (http) resolveUrl(http);
        }
      }
    } finally {
      log?.close();
    }
  })();
  const exited = process.status.then((s) => {
    throw new UserFacingError(
      `agent ${instance} exited with code ${s.code} before starting: ${lastError(lastLines)}`,
    );
  });
  const url = Promise.race([announced, exited]);
  url.catch(() => {});
  return { instance, process, url, lastLines, logWritten };
}

/** The stats URL from the agent's JSON "start" log line, if this is that line. */
export function startUrl(line: string): string | null {
  if (!line.includes('"start"')) return null;
  try {
    const doc = JSON.parse(line);
    return doc?.event === "start" && typeof doc.http === "string" ? doc.http : null;
  } catch {
    return null;
  }
}

/** The most telling line of a failed agent's output: its last error, else its last line. */
function lastError(lines: string[]): string {
  return lastErrorLine(lines) ?? lines.at(-1) ?? "no output";
}

function lastErrorLine(lines: string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line.startsWith("fraudstream:")) return line.replace(/^fraudstream:\s*/, "");
    try {
      const doc = JSON.parse(line);
      if (doc.level === "error") return `${doc.event}: ${doc.error ?? JSON.stringify(doc)}`;
    } catch { /* not JSON: plain output */ }
  }
  return null;
}

async function waitReady(children: Child[], urls: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(urls.keys());
  let checks: Record<number, unknown> = {};
  while (pending.size > 0) {
    for (const i of pending) {
      const status = await Promise.race([
        children[i].process.status.then((s) => s.code),
        Promise.resolve(null),
      ]);
      if (status !== null) {
        throw new UserFacingError(
          `agent ${children[i].instance} exited with code ${status}: ${
            lastError(children[i].lastLines)
          }`,
        );
      }
      try {
        const res = await fetch(`${urls[i]}/readyz`, { signal: AbortSignal.timeout(2000) });
        const body = await res.json();
        if (res.ok) pending.delete(i);
        else checks = { ...checks, [i]: body.checks };
      } catch (err) {
        checks = { ...checks, [i]: errorText(err) };
      }
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const i = [...pending][0];
      const failing = typeof checks[i] === "object"
        ? Object.entries(checks[i] as Record<string, boolean>).filter(([, ok]) => !ok).map(([c]) =>
          c
        )
          .join(", ")
        : String(checks[i]);
      const error = lastErrorLine(children[i].lastLines);
      throw new UserFacingError(
        `agent ${children[i].instance} not ready after ${timeoutMs / 1000}s (${failing})${
          error ? `; its last error: ${error}` : ""
        }`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** SIGTERM (finish the batch, commit, leave the group), SIGKILL if that takes over 30 s. */
async function stopChild(child: Child): Promise<void> {
  try {
    child.process.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  const timer = setTimeout(() => {
    try {
      child.process.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, 30_000);
  await child.process.status;
  clearTimeout(timer);
  await child.logWritten.catch(() => {});
}

export interface RemoteFleet extends Fleet {
  /** Agents that did not answer, with why. */
  unreachable: { url: string; error: string }[];
  /** The transactions topic the agents consume. */
  topic: string;
}

/**
 * Existing agents (e.g. on VMs) given by their stats URLs. The ones that answer are measured;
 * the others are reported. Their consumer group comes from their /stats and must be one group.
 */
export async function connectRemoteFleet(
  rawUrls: string[],
  timeoutMs: number,
): Promise<RemoteFleet> {
  const urls = rawUrls.map(normalizeAgentUrl);
  const reads = await Promise.all(urls.map((u) => readAgentStats(u, timeoutMs)));
  const unreachable = urls.flatMap((url, i) => {
    const error = reads[i].error;
    return error === undefined ? [] : [{ url, error }];
  });
  const up = urls.filter((_, i) => reads[i].doc);
  const docs = reads.flatMap((r) => r.doc ? [r.doc] : []);
  if (docs.length === 0) {
    throw new UserFacingError(
      `none of the agents answered: ${unreachable.map((u) => `${u.url} (${u.error})`).join(", ")}`,
    );
  }
  const groups = [...new Set(docs.map((d) => d.group))];
  if (groups.length !== 1) {
    throw new UserFacingError(
      `the agents belong to different consumer groups (${
        groups.join(", ")
      }): measure one group at a time`,
    );
  }
  return {
    urls: up,
    group: groups[0],
    unreachable,
    topic: docs[0].topics.transactions,
    stop: () => Promise.resolve(),
  };
}
