/**
 * What the three servers of the MLflow stack share: a free loopback port, a child in a process
 * group of its own (mlflow server forks workers, runuser forks postgres) whose output goes to a
 * log file, and a stop that ends the whole group.
 */

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export interface LocalProcess {
  readonly name: string;
  readonly log: string;
  readonly exited: Promise<Deno.CommandStatus>;
  /** Sends `signal` to the process group, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<void>;
}

export async function spawnLogged(
  name: string,
  cmd: string,
  args: string[],
  log: string,
  env: Record<string, string> = {},
): Promise<LocalProcess> {
  const file = await Deno.open(log, { write: true, create: true, append: true });
  const child = new Deno.Command("setsid", {
    args: [cmd, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const sink = file.writable.getWriter();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await sink.write(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]).finally(() =>
    sink.close().catch(() => {})
  );
  const exited = child.status.then(async (s) => {
    await drained;
    return s;
  });
  let done = false;
  exited.then(() => (done = true));
  return {
    name,
    log,
    exited,
    async stop(signal: Deno.Signal = "SIGTERM", graceMs = 20_000) {
      if (done) return;
      const group = (sig: Deno.Signal) => {
        try {
          Deno.kill(-child.pid, sig);
        } catch { /* the group is gone */ }
      };
      group(signal);
      const timer = setTimeout(() => group("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // Workers that outlived their parent still belong to the group.
      group("SIGKILL");
    },
  };
}

/**
 * Polls `ready` until it holds; fails with the log's last lines if the process exits first or
 * the time is up.
 */
export async function waitReady(
  proc: LocalProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const state: { exited?: Deno.CommandStatus } = {};
  proc.exited.then((s) => (state.exited = s));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (state.exited) {
      throw new Error(
        `${proc.name} exited (code ${state.exited.code}): ${await lastLines(proc.log)}`,
      );
    }
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `${proc.name} was not ready within ${timeoutMs / 1000} s: ${await lastLines(proc.log)}`,
  );
}

/** True when anything answers HTTP at `url` (any status). */
export async function answersHttp(url: string, ok = (_status: number) => true): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return ok(res.status);
}

async function lastLines(log: string): Promise<string> {
  const text = await Deno.readTextFile(log).catch(() => "");
  return text.trim().split("\n").slice(-3).join(" | ") || `no output (log ${log})`;
}

/** URL-safe random text, for passwords and S3 keys made fresh each start. */
export function randomSecret(bytes = 18): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
