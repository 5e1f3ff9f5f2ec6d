import assert from "node:assert/strict";
import { fetchRegisteredModel } from "../../agent/mlflow_model_source.ts";
import { DEFAULT_MODEL_PATH, OnnxModel } from "../../agent/onnx_model.ts";
import { FeatureEngine } from "../../features/feature_engine.ts";
import { runCli } from "../support/kafka.ts";
import { waitFor } from "../support/pipeline.ts";

/**
 * The agent's model from a real MLflow tracking server's registry: the trainer's venv with
 * mlflow (model/train/setup_venv.sh), `mlflow server` on a free port, the shipped model
 * registered with model/train/register_model.py, then fetched by version, latest and alias.
 */
const root = new URL("../..", import.meta.url).pathname;
const venv = `${root}model/train/.venv/bin`;

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

Deno.test({
  name: "the agent loads its model from the MLflow registry",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  await run("bash", [`${root}model/train/setup_venv.sh`], { FRAUDSTREAM_WITH_MLFLOW: "1" });
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-mlflow-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const tracking = `http://127.0.0.1:${port}`;
  const server = new Deno.Command(`${venv}/mlflow`, {
    args: [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--backend-store-uri",
      `sqlite:///${dir}/db.sqlite`,
      "--artifacts-destination",
      `${dir}/artifacts`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor("the MLflow server", async () => {
      try {
        const res = await fetch(`${tracking}/api/2.0/mlflow/experiments/search?max_results=1`);
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    }, 120_000);
    const registered = await run(`${venv}/python`, [
      `${root}model/train/register_model.py`,
      DEFAULT_MODEL_PATH,
      "--name",
      "fraud",
    ], {
      MLFLOW_TRACKING_URI: tracking,
    });
    assert.match(registered, /registered fraud version 1/);
    await fetch(`${tracking}/api/2.0/mlflow/registered-models/alias`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "fraud", alias: "champion", version: "1" }),
    }).then((r) => r.body?.cancel());
    const env = (name: string) => (name === "MLFLOW_TRACKING_URI" ? tracking : undefined);
    const shipped = await Deno.readFile(DEFAULT_MODEL_PATH);
    for (const uri of ["models:/fraud/1", "models:/fraud/latest", "models:/fraud@champion"]) {
      await t.step(uri, async () => {
        const bytes = await fetchRegisteredModel(uri, env);
        assert.deepEqual(bytes, shipped);
        const model = await OnnxModel.fromBytes(bytes, uri, new FeatureEngine());
        assert.equal(
          model.version,
          (await OnnxModel.fromBytes(shipped, "file", new FeatureEngine())).version,
        );
        await model.release();
      });
    }
    await t.step("an unknown model is one line naming the server", async () => {
      const out = await runCli(["agent", "--brokers", "127.0.0.1:9", "--model", "models:/nope/1"], {
        MLFLOW_TRACKING_URI: tracking,
      });
      assert.equal(out.code, 1);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
      assert.match(
        out.stderr,
        new RegExp(`cannot load models:/nope/1 from MLflow at ${tracking}: HTTP 404`),
      );
    });
    await t.step("without MLFLOW_TRACKING_URI the user is told what to set", async () => {
      const out = await runCli(
        ["agent", "--brokers", "127.0.0.1:9", "--model", "models:/fraud/1"],
        { MLFLOW_TRACKING_URI: "" },
      );
      assert.equal(out.code, 2);
      assert.match(out.stderr, /needs MLFLOW_TRACKING_URI/);
    });
  } finally {
    // mlflow server runs its web workers as children: end the whole tree listening on the port.
    await new Deno.Command("pkill", { args: ["-f", `--port ${port}`] }).output();
    server.kill("SIGTERM");
    await server.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
