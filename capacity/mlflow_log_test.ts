import assert from "node:assert/strict";
import { logToMlflow } from "./mlflow_log.ts";
import type { CapacityReport } from "./report.ts";

/** A stand-in tracking server that records the REST calls MLflow's own server would answer. */
function fakeMlflow(artifactUri: string) {
  const calls: { method: string; path: string; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.text();
    calls.push({ method: req.method, path: url.pathname + url.search, body });
    if (url.pathname === "/api/2.0/mlflow/experiments/get-by-name") {
      return Response.json(
        { error_code: "RESOURCE_DOES_NOT_EXIST", message: "no such experiment" },
        { status: 404 },
      );
    }
    if (url.pathname === "/api/2.0/mlflow/experiments/create") {
      return Response.json({ experiment_id: "7" });
    }
    if (url.pathname === "/api/2.0/mlflow/runs/create") {
      return Response.json({ run: { info: { run_id: "r1", artifact_uri: artifactUri } } });
    }
    return Response.json({});
  });
  return { calls, server, uri: `http://127.0.0.1:${server.addr.port}` };
}

const report = {
  started_at: "2026-01-01T00:00:00.000Z",
  answer: "Lag starts to grow at 400 tx/s per agent.",
  parameters: { targets: [50, 400], utilisation: 0.7, data: "x".repeat(2000) },
  per_agent: { knee: 400, upper: 460 },
  measurements: [{
    agents: 1,
    knee: { rate: 400, upper: 460, saturatedThroughput: 430 },
    drain: { rate: 440 },
  }],
  fleet_sizes: [{ target: 50, agents: 2 }, { target: 400, agents: 3 }],
  samples: Array.from({ length: 400 }, (_, t) => ({ t, lag: t, inputRate: 1, throughput: 1 })),
} as unknown as CapacityReport;

async function reportFiles() {
  const dir = await Deno.makeTempDir();
  const files = {
    dir,
    json: `${dir}/report.json`,
    markdown: `${dir}/report.md`,
    chart: `${dir}/chart.svg`,
  };
  await Deno.writeTextFile(files.json, "{}");
  await Deno.writeTextFile(files.markdown, "# r");
  await Deno.writeTextFile(files.chart, "<svg/>");
  return files;
}

Deno.test("a report becomes an MLflow run: params, metrics, series and artifacts", async () => {
  const mlflow = fakeMlflow("mlflow-artifacts:/7/r1/artifacts");
  const files = await reportFiles();
  try {
    const run = await logToMlflow(mlflow.uri, report, files, () => undefined);
    assert.equal(run.runId, "r1");
    assert.equal(run.url, `${mlflow.uri}/#/experiments/7/runs/r1`);
    const paths = mlflow.calls.map((c) => `${c.method} ${c.path}`);
    assert.deepEqual(paths.slice(0, 3), [
      "GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=fraudstream-capacity",
      "POST /api/2.0/mlflow/experiments/create",
      "POST /api/2.0/mlflow/runs/create",
    ]);
    const batches = mlflow.calls.filter((c) => c.path.endsWith("runs/log-batch")).map((c) =>
      JSON.parse(c.body)
    );
    // 1200 series points + 9 summary metrics: two calls under MLflow's 1000-metric limit.
    assert.equal(batches.length, 2);
    assert.ok(batches.every((b) => b.metrics.length <= 1000 && b.run_id === "r1"));
    const metrics = batches.flatMap((b) => b.metrics);
    const value = (key: string) => metrics.find((m: { key: string }) => m.key === key)?.value;
    assert.equal(value("knee_per_agent_tx_s"), 400);
    assert.equal(value("fleet_size_400_tx_s"), 3);
    assert.equal(value("drain_rate_1_agents_tx_s"), 440);
    assert.equal(metrics.filter((m: { key: string }) => m.key === "lag").length, 400);
    const params = batches[0].params as { key: string; value: string }[];
    assert.equal(params.find((p) => p.key === "targets")?.value, "[50,400]");
    assert.equal(params.find((p) => p.key === "data")?.value.length, 500);
    assert.deepEqual(
      mlflow.calls.filter((c) => c.method === "PUT").map((c) => c.path),
      ["report.json", "report.md", "chart.svg"].map((f) =>
        `/api/2.0/mlflow-artifacts/artifacts/7/r1/artifacts/${f}`
      ),
    );
    const update = mlflow.calls.at(-1)!;
    assert.equal(update.path, "/api/2.0/mlflow/runs/update");
    assert.equal(JSON.parse(update.body).status, "FINISHED");
  } finally {
    await mlflow.server.shutdown();
    await Deno.remove(files.dir, { recursive: true });
  }
});

Deno.test("a server without the artifact proxy fails the run with a clear message", async () => {
  const mlflow = fakeMlflow("s3://bucket/7/r1/artifacts");
  const files = await reportFiles();
  try {
    await assert.rejects(
      () => logToMlflow(mlflow.uri, report, files, () => undefined),
      /artifact store is s3:\/\/bucket\/7\/r1\/artifacts, not the server's proxy: start the tracking server with --serve-artifacts/,
    );
    assert.equal(JSON.parse(mlflow.calls.at(-1)!.body).status, "FAILED");
  } finally {
    await mlflow.server.shutdown();
    await Deno.remove(files.dir, { recursive: true });
  }
});
