import assert from "node:assert/strict";
import { fetchRegisteredModel } from "../../agent/mlflow_model_source.ts";
import { logToMlflow } from "../../capacity/mlflow_log.ts";
import type { CapacityReport } from "../../capacity/report.ts";
import { DEFAULT_MODEL_PATH, OnnxModel } from "../../agent/onnx_model.ts";
import { FeatureEngine } from "../../features/feature_engine.ts";
import { startMlflowStack } from "../../mlflow/stack/stack.ts";
import { VENV_BIN } from "../../mlflow/stack/mlflow_server.ts";
import { MlflowClient } from "../../mlflow/tracking_client.ts";
import {
  accountedIds,
  AGENT_TEST_DATA,
  freshTopics,
  groupDrained,
  outputs,
} from "../support/agent_group.ts";
import { kafkaTest, runCli } from "../support/kafka.ts";
import { registerVersion, setAlias } from "../support/mlflow_registry.ts";
import { withOnnxMetadata } from "../support/onnx_metadata.ts";
import {
  generateData,
  inputId,
  inputLines,
  multiset,
  produceFiles,
  startAgent,
  waitFor,
} from "../support/pipeline.ts";

/**
 * MLflow as the bank runs it (mlflow/stack/): PostgreSQL backend store, S3 artifact store
 * (s3proxy), `mlflow server` proxying the artifacts, all started here and stopped at the end.
 * The shipped model is registered with MLflow's Python client (model/train/register_model.py)
 * and fetched back by version, latest and alias through the server; the trainer logs a run that
 * the streamed evaluation completes and promotes to `champion`; a capacity report is logged to a
 * new run and into a given one; then an agent started on `models:/fraud@champion` follows the
 * alias while the producer sends: it swaps to a good new version between batches, refuses three
 * bad ones, and every message is scored exactly once by the version serving at the time, while
 * agent and producer log their throughput series into one run (--mlflow-run).
 */
const root = new URL("../..", import.meta.url).pathname;
const NAME = "fraud";
/** As model/train/test_train.py: the smallest data the trainer's periods fit in. */
const TRAIN_DATA = ["--days", "28", "--customers", "600", "--terminals", "1200", "--seed", "3"];

type LoggedRun = {
  run: {
    data: { params: { key: string; value: string }[]; metrics: { key: string; value: number }[] };
  };
};

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${text.decode(out.stderr)}`);
  }
  return { stdout: out.stdout, text: text.decode(out.stdout) + text.decode(out.stderr) };
}

Deno.test({
  name: "MLflow on PostgreSQL + S3: the agent loads models:/ through the server and hot-swaps",
  ...kafkaTest,
}, async (t) => {
  const stack = await startMlflowStack();
  console.log(`mlflow stack started in ${stack.startMs} ms (${Deno.loadavg().join(" ")} load)`);
  const tracking = stack.trackingUri;
  const env = (name: string) => (name === "MLFLOW_TRACKING_URI" ? tracking : undefined);
  const shipped = await Deno.readFile(DEFAULT_MODEL_PATH);
  try {
    await t.step(
      "the Python client registers the shipped model; its files land in S3",
      async () => {
        const out = await run(`${VENV_BIN}/python`, [
          `${root}model/train/register_model.py`,
          DEFAULT_MODEL_PATH,
          "--name",
          NAME,
        ], { MLFLOW_TRACKING_URI: tracking });
        assert.match(out.text, new RegExp(`registered ${NAME} version 1`));
        await setAlias(tracking, NAME, "champion", "1");
        const stored = await run("find", [`${stack.dir}/s3`, "-name", "model.onnx"]);
        assert.equal(stored.text.trim().split("\n").length, 1, stored.text);
        assert.deepEqual(await Deno.readFile(stored.text.trim()), shipped);
      },
    );

    for (const uri of [`models:/${NAME}/1`, `models:/${NAME}/latest`, `models:/${NAME}@champion`]) {
      await t.step(`${uri} through the server's artifact proxy`, async () => {
        const { bytes, version } = await fetchRegisteredModel(uri, env);
        assert.equal(version, "1");
        assert.deepEqual(bytes, shipped);
        const model = await OnnxModel.fromBytes(bytes, uri, new FeatureEngine());
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
        ["agent", "--brokers", "127.0.0.1:9", "--model", `models:/${NAME}/1`],
        { MLFLOW_TRACKING_URI: "" },
      );
      assert.equal(out.code, 2);
      assert.match(out.stderr, /needs MLFLOW_TRACKING_URI/);
    });

    await t.step("the trainer logs its run; the streamed evaluation moves champion", async () => {
      const work = await Deno.makeTempDir({ prefix: "fraudstream-train-mlflow-" });
      const name = "fraudstream-train-test";
      const trackingEnv = { MLFLOW_TRACKING_URI: tracking };
      try {
        const files = await generateData(`${work}/data`, TRAIN_DATA);
        const exported = await runCli(["features", "--out", `${work}/matrix.bin`, `${work}/data`]);
        assert.equal(exported.code, 0, exported.stderr);
        const py = `${VENV_BIN}/python`;
        await run(py, [
          `${root}model/train/train.py`,
          ...["--matrix", `${work}/matrix.bin`, "--out-dir", `${work}/model`],
          ...["--burn-in-days", "3", "--validation-days", "5", "--test-days", "5"],
          ...["--model-name", name, "--mlflow-run-file", `${work}/run.json`],
          ...["--mlflow-experiment", "fraudstream-train-test"],
        ], trackingEnv);
        const registered = JSON.parse(await Deno.readTextFile(`${work}/run.json`));
        const model = `${work}/model/fraud-model.onnx`;
        await run(Deno.execPath(), [
          ...["run", "-A", `${root}model/evaluate/replay_through_agent.ts`],
          ...["--model", model, "--out", `${work}/streamed.csv`, ...files],
        ]);
        await run(py, [
          `${root}model/train/evaluate.py`,
          ...["--matrix", `${work}/matrix.bin`, "--streamed", `${work}/streamed.csv`],
          ...["--model", model, "--card", `${work}/model/model-card.json`],
          ...["--burn-in-days", "7", "--mlflow-run-file", `${work}/run.json`],
        ], trackingEnv);

        const api = new MlflowClient(tracking, () => undefined);
        const { run: logged } = await api.call<LoggedRun>(
          "GET",
          `runs/get?run_id=${registered.run_id}`,
        );
        const params = new Map(logged.data.params.map((p) => [p.key, p.value]));
        const metrics = new Map(logged.data.metrics.map((m) => [m.key, m.value]));
        assert.equal(params.get("feature_list_version"), new FeatureEngine().version);
        for (const key of ["test_roc_auc", "streamed_roc_auc", "offline_roc_auc"]) {
          assert.ok(metrics.get(key)! > 0.5, `${key} ${metrics.get(key)}`);
        }
        const agreement = metrics.get("streamed_roc_auc")! - metrics.get("offline_roc_auc")!;
        assert.ok(Math.abs(agreement) <= 1e-4, `streamed vs offline ROC AUC ${agreement}`);
        const { files: artifacts } = await api.call<{ files: { path: string }[] }>(
          "GET",
          `artifacts/list?run_id=${registered.run_id}`,
        );
        const paths = artifacts.map((f) => f.path);
        for (const file of ["model-card.json", "model-card.md", "fraud-model.onnx"]) {
          assert.ok(paths.includes(file), `${file} in ${paths}`);
        }
        const champion = await fetchRegisteredModel(`models:/${name}@champion`, env);
        assert.equal(champion.version, registered.registry_version);
        assert.deepEqual(champion.bytes, await Deno.readFile(model));
      } finally {
        await Deno.remove(work, { recursive: true }).catch(() => {});
      }
    });

    await t.step("a capacity report goes to a new run, or into the run given", async () => {
      const dir = await Deno.makeTempDir({ prefix: "fraudstream-capacity-mlflow-" });
      const files = {
        dir,
        json: `${dir}/report.json`,
        markdown: `${dir}/report.md`,
        chart: `${dir}/chart.svg`,
      };
      await Deno.writeTextFile(files.json, "{}");
      await Deno.writeTextFile(files.markdown, "# report");
      await Deno.writeTextFile(files.chart, "<svg/>");
      const report = {
        started_at: new Date().toISOString(),
        answer: "Lag starts to grow at 400 tx/s per agent.",
        parameters: { targets: [50, 400] },
        per_agent: { knee: 400, upper: 460 },
        measurements: [],
        fleet_sizes: [{ target: 400, agents: 3 }],
        samples: Array.from({ length: 30 }, (_, t) => ({ t, lag: t, inputRate: 1, throughput: 1 })),
      } as unknown as CapacityReport;
      const api = new MlflowClient(tracking, () => undefined);
      try {
        const fresh = await logToMlflow(tracking, report, files, () => undefined);
        const { run: opened } = await api.call<{ run: { info: { run_id: string } } }>(
          "POST",
          "runs/create",
          { experiment_id: await api.experimentId("fraudstream-dag-test"), start_time: Date.now() },
        );
        const given = await logToMlflow(
          tracking,
          report,
          files,
          () => undefined,
          opened.info.run_id,
        );
        assert.equal(given.runId, opened.info.run_id);
        for (const [runId, status] of [[fresh.runId, "FINISHED"], [given.runId, "RUNNING"]]) {
          const { run: logged } = await api.call<LoggedRun & { run: { info: { status: string } } }>(
            "GET",
            `runs/get?run_id=${runId}`,
          );
          assert.equal(logged.info.status, status, "a run given is left to its owner to end");
          assert.ok(
            logged.data.metrics.some((m) => m.key === "knee_per_agent_tx_s" && m.value === 400),
          );
          const { metrics: lag } = await api.call<{ metrics: unknown[] }>(
            "GET",
            `metrics/get-history?run_id=${runId}&metric_key=lag`,
          );
          assert.equal(lag.length, 30);
          const { files: artifacts } = await api.call<{ files: { path: string }[] }>(
            "GET",
            `artifacts/list?run_id=${runId}`,
          );
          assert.deepEqual(artifacts.map((f) => f.path).sort(), [
            "chart.svg",
            "report.json",
            "report.md",
          ]);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step(
      "hot swap while producing: a good version is taken, bad ones refused",
      async () => {
        const v1 = await OnnxModel.fromBytes(shipped, "shipped", new FeatureEngine());
        const v1Label = `${v1.name}@${v1.version}`;
        await v1.release();
        const retrained = `${v1.version}-retrained`;
        const good = withOnnxMetadata(shipped, { "fraudstream.model_version": retrained });
        const wrongFeatures = withOnnxMetadata(shipped, {
          "fraudstream.features": JSON.stringify(["amount", "hour"]),
        });
        const unloadable = crypto.getRandomValues(new Uint8Array(4096));
        const wide = (await run(`${VENV_BIN}/python`, [
          `${root}tests/faults/mlflow_wide_model.py`,
          DEFAULT_MODEL_PATH,
        ])).stdout;

        const dataDir = await Deno.makeTempDir({ prefix: "fraudstream-hot-swap-" });
        const files = await generateData(dataDir, AGENT_TEST_DATA);
        const prefix = await freshTopics("hotswap", 4);
        const group = "g-hotswap";
        // The agent process inherits the tracking server from this process's environment.
        Deno.env.set("MLFLOW_TRACKING_URI", tracking);
        const api = new MlflowClient(tracking, () => undefined);
        const { run: experiment } = await api.call<{ run: { info: { run_id: string } } }>(
          "POST",
          "runs/create",
          { experiment_id: await api.experimentId("fraudstream-hot-swap"), start_time: Date.now() },
        );
        const runId = experiment.info.run_id;
        const agent = await startAgent(prefix, group, [
          "--model",
          `models:/${NAME}@champion`,
          "--model-poll",
          "300ms",
          "--max-batch",
          "100",
          "--mlflow-run",
          runId,
        ]);
        const model = async () => (await agent.stats()).model;
        const producing = produceFiles(prefix, files, ["--rate", "500", "--mlflow-run", runId]);
        try {
          await waitFor("scoring under way", async () => (await agent.stats()).scored > 300);
          const v2 = await registerVersion(tracking, NAME, good);
          await setAlias(tracking, NAME, "champion", v2);
          await waitFor("the swap to the retrained version", async () => {
            const m = await model();
            return m.registry?.version === v2 && m.version === retrained;
          });
          const bad = [
            { bytes: wrongFeatures, why: /feature names differ/ },
            { bytes: unloadable, why: /not an ONNX model|cannot load/ },
            { bytes: wide, why: /expected input "features" \[N, \d+\]/ },
          ];
          for (const { bytes, why } of bad) {
            const version = await registerVersion(tracking, NAME, bytes);
            await setAlias(tracking, NAME, "champion", version);
            await waitFor(`version ${version} refused`, async () => {
              const refusal = (await model()).registry!.refused.find((r) => r.version === version);
              if (refusal) assert.match(refusal.reason, why);
              return refusal !== undefined;
            });
            assert.equal((await model()).registry?.version, v2, "the good version keeps serving");
          }
          const sent = await producing;
          await waitFor("the group drained", () => groupDrained(prefix, group, sent), 90_000);
          const final = (await model()).registry!;
          assert.equal(final.swaps, 1);
          assert.equal(final.refused.length, 3);
          assert.equal(await agent.stop(), 0);
          // Both processes logged their throughput into the run as series.
          for (const key of [`agent.${agent.instance}.scored_tx_s`, "produce."]) {
            const { run: logged } = await api.call<LoggedRun>("GET", `runs/get?run_id=${runId}`);
            const found = logged.data.metrics.find((m) => m.key.startsWith(key));
            assert.ok(found, `${key} in ${logged.data.metrics.map((m) => m.key)}`);
            const { metrics: history } = await api.call<{ metrics: unknown[] }>(
              "GET",
              `metrics/get-history?run_id=${runId}&metric_key=${encodeURIComponent(found.key)}`,
            );
            assert.ok(history.length >= 2, `${found.key}: ${history.length} points`);
          }

          const { predictions, dlq } = await outputs(prefix);
          const expected = multiset(inputLines(files).map(inputId));
          assert.deepEqual(accountedIds(predictions, dlq), expected, "each message exactly once");
          // Which model scored each prediction, in partition order: the old one, then the new one.
          const v2Label = `${v1.name}@${retrained}`;
          const byPartition = new Map<number, string[]>();
          for (const m of predictions) {
            const label = JSON.parse(m.value!.toString()).model as string;
            byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), label]);
          }
          let after = 0;
          for (const [partition, labels] of byPartition) {
            const first = labels.indexOf(v2Label);
            assert.ok(first > 0, `partition ${partition} was scored by v1, then v2`);
            assert.ok(labels.slice(0, first).every((l) => l === v1Label));
            assert.ok(labels.slice(first).every((l) => l === v2Label), `partition ${partition}`);
            after += labels.length - first;
          }
          // Figures for docs/measurements.md: the swap's load time off the hot path, and the
          // latency of the predictions made around it next to all of them.
          const swapAt = Date.parse(final.last_swap!.at);
          const latency = (m: { value: { toString(): string } | null }) =>
            JSON.parse(m.value!.toString()).latency_ms as number;
          const around = predictions.filter((m) => Math.abs(m.timestampMs - swapAt) <= 1_000)
            .map(latency);
          const all = predictions.map(latency);
          console.log(
            `hot swap: load ${final.last_swap!.load_ms} ms; ${predictions.length} predictions ` +
              `(${predictions.length - after} v1, ${after} v2), ${dlq.length} DLQ, lost 0, ` +
              `duplicated 0; latency max ${Math.max(...around)} ms within 1 s of the swap, ` +
              `p99 ${percentile(all, 0.99)} ms / max ${Math.max(...all)} ms overall ` +
              `(load ${Deno.loadavg().join(" ")})`,
          );
        } finally {
          await producing.catch(() => {});
          await agent.kill().catch(() => {});
          Deno.env.delete("MLFLOW_TRACKING_URI");
          await Deno.remove(dataDir, { recursive: true }).catch(() => {});
        }
      },
    );
  } finally {
    await stack.stop();
  }
  await t.step("stopping the stack leaves nothing behind", async () => {
    await assert.rejects(fetch(`${tracking}/health`));
    await assert.rejects(Deno.stat(stack.dir));
    const left = await new Deno.Command("pgrep", { args: ["-f", stack.dir] }).output();
    assert.equal(new TextDecoder().decode(left.stdout), "", "no process of the stack is left");
  });
});

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
