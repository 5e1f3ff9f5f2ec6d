/**
 * The MLflow tracking server the DAG test logs to: `mlflow server` from the trainer's venv
 * (model/train/setup_venv.sh with mlflow), a SQLite store and local artifacts in a temp dir, on
 * a free loopback port. One function, so that a test can switch to another MLflow stack here.
 */

const ROOT = new URL("../..", import.meta.url).pathname;

export interface MlflowServer {
  /** The tracking URI, http://127.0.0.1:PORT. */
  uri: string;
  stop(): Promise<void>;
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

export async function startMlflowServer(): Promise<MlflowServer> {
  await run("bash", [`${ROOT}model/train/setup_venv.sh`], { FRAUDSTREAM_WITH_MLFLOW: "1" });
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-mlflow-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const uri = `http://127.0.0.1:${port}`;
  // setsid: the server and the web workers it forks form one process group, stopped together.
  const server = new Deno.Command("setsid", {
    args: [
      `${ROOT}model/train/.venv/bin/mlflow`,
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
      "--backend-store-uri",
      `sqlite:///${dir}/db.sqlite`,
      "--artifacts-destination",
      `${dir}/artifacts`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    await new Deno.Command("kill", { args: ["-TERM", "--", `-${server.pid}`] }).output();
    await server.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  // Its first start on a busy machine takes minutes (it migrates the new SQLite store).
  const deadline = Date.now() + 300_000;
  for (;;) {
    const ok = await fetch(`${uri}/api/2.0/mlflow/experiments/search?max_results=1`)
      .then(async (r) => (await r.body?.cancel(), r.ok), () => false);
    if (ok) return { uri, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mlflow server did not answer on ${uri} within 300 s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
