import assert from "node:assert/strict";
import { startMlflowServer } from "./mlflow_server.ts";

/**
 * `deno task test:dag` (as root): the Airflow DAG for real. First the DagBag test (pytest in the
 * DAG's venv: no import errors, the task graph, the trigger rules), then `airflow dags test`
 * runs the whole experiment on this machine: tofu apply of the vmlab root (2 emulated VMs and a
 * broker VM, lab fsaf on 10.78.0 beside any fsvm lab) -> install.sh -> capacity -> a held-out
 * period replayed through the fleet and evaluated -> one MLflow run -> tofu destroy -> the
 * thresholds. MLflow, the work directory and deno come in as Airflow connection and variables.
 */

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;
const PREFIX = "fsaf";

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function airflowVenv(): Promise<string> {
  const setup = await run("bash", [`${HERE}setup_venv.sh`]);
  assert.equal(setup.code, 0, setup.stderr);
  return setup.stdout.trim();
}

Deno.test("the DAG imports cleanly and has the experiment's task graph (DagBag)", async () => {
  const venv = await airflowVenv();
  const home = await Deno.makeTempDir({ prefix: "fraudstream-airflow-" });
  try {
    const out = await run(`${venv}/bin/python`, [
      "-m",
      "pytest",
      "-q",
      "-p",
      "no:cacheprovider",
      `${HERE}tests`,
    ], { AIRFLOW_HOME: home, AIRFLOW__CORE__LOAD_EXAMPLES: "False" });
    assert.equal(out.code, 0, out.stdout + out.stderr);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/** The JSON an `airflow ... -o json` command printed: its one line that is a JSON array (its
 * log lines, e.g. a warning about graphviz, go to stdout too). */
function jsonLine(stdout: string) {
  const line = stdout.split("\n").find((l) => l.startsWith("["));
  if (line === undefined) throw new Error(`no JSON in: ${stdout}`);
  return JSON.parse(line);
}

/** An Airflow home with the DAGs folder, SQLite, and the connection and variables the DAG reads. */
async function airflowHome(venv: string, settings: Record<string, string>) {
  const home = await Deno.makeTempDir({ prefix: "fraudstream-airflow-" });
  const env = {
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: `${HERE}dags`,
    AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${home}/airflow.db`,
    AIRFLOW_VAR_FRAUDSTREAM_WORK_DIR: `${home}/runs`,
    AIRFLOW_VAR_FRAUDSTREAM_DENO: Deno.execPath(),
    ...settings,
  };
  const migrate = await run(`${venv}/bin/airflow`, ["db", "migrate"], env);
  assert.equal(migrate.code, 0, migrate.stderr);
  return { home, env };
}

/** `airflow dags test` of the DAG with this conf; the run's state and each task's, and the log. */
async function dagsTest(venv: string, env: Record<string, string>, conf: object) {
  const test = await run(`${venv}/bin/airflow`, [
    "dags",
    "test",
    "fraudstream_experiment",
    "--conf",
    JSON.stringify(conf),
  ], env);
  const log = test.stdout + test.stderr;
  const airflow = async (args: string[]) =>
    jsonLine((await run(`${venv}/bin/airflow`, [...args, "-o", "json"], env)).stdout);
  const runs = await airflow(["dags", "list-runs", "fraudstream_experiment"]);
  assert.equal(runs.length, 1, log.slice(-4000));
  const states = await airflow([
    "tasks",
    "states-for-dag-run",
    "fraudstream_experiment",
    runs[0].run_id,
  ]);
  const tasks: Record<string, string> = Object.fromEntries(
    states.map((s: { task_id: string; state: string }) => [s.task_id, s.state]),
  );
  return { state: runs[0].state as string, tasks, log };
}

Deno.test({
  name: "a failed step still destroys the fleet, and the run fails",
  ignore: Deno.uid() !== 0, // tofu destroy runs vmlab.sh down, which needs root
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const venv = await airflowVenv();
  // No MLflow: the run never gets that far. vmlab.sh refuses the subnet, so apply fails.
  const { home, env } = await airflowHome(venv, {});
  try {
    const result = await dagsTest(venv, env, { vmlab_prefix: PREFIX, vmlab_subnet: "10.78" });
    assert.deepEqual(result.tasks, {
      create_fleet: "failed",
      install_release: "upstream_failed",
      measure_capacity: "upstream_failed",
      evaluate_quality: "upstream_failed",
      log_to_mlflow: "upstream_failed",
      destroy_fleet: "success",
      check_thresholds: "upstream_failed",
    }, result.log.slice(-4000));
    assert.equal(result.state, "failed");
    assert.match(result.log, /vmlab: --subnet 10\.78: expected/);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});

interface MlflowRun {
  info: { run_id: string; status: string };
  data: { metrics?: { key: string; value: number }[] };
}

Deno.test({
  name: "airflow dags test runs the whole experiment on emulated VMs and logs one MLflow run",
  ignore: Deno.uid() !== 0, // the lab needs root
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const venv = await airflowVenv();
  const mlflow = await startMlflowServer();
  const { home, env } = await airflowHome(venv, {
    AIRFLOW_CONN_FRAUDSTREAM_MLFLOW: mlflow.uri,
    AIRFLOW_VAR_FRAUDSTREAM_MLFLOW_EXPERIMENT: "dag-test",
  }).catch(async (e) => {
    await mlflow.stop();
    throw e;
  });
  try {
    const conf = {
      vmlab_prefix: PREFIX,
      vmlab_subnet: "10.78.0",
      vm_count: 2,
      vcpu: 0.5,
      agents_per_vm: 1,
      partitions: 4,
      capacity_flags: "--step-seconds 5 --settle-seconds 1 --drain-seconds 2 --steps 0.5,1",
      evaluation_data:
        "--customers 300 --terminals 600 --days 12 --start-date 2018-07-01 --seed 1042",
      burn_in_days: 6,
      min_capacity_tx_s: 1,
      min_roc_auc: 0.5,
      min_average_precision: 0.01,
    };
    const started = performance.now();
    const result = await dagsTest(venv, env, conf);
    console.error(`airflow dags test: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await Deno.writeTextFile(`${ROOT}.cache/airflow/last-dag-test.log`, result.log).catch(() => {});
    assert.deepEqual(result.tasks, {
      create_fleet: "success",
      install_release: "success",
      measure_capacity: "success",
      evaluate_quality: "success",
      log_to_mlflow: "success",
      destroy_fleet: "success",
      check_thresholds: "success",
    }, result.log.slice(-4000));
    assert.equal(result.state, "success");

    // The fleet is gone, and MLflow holds one finished run with both sides and the files.
    await assert.rejects(Deno.stat(`/run/fraudstream-vmlab-${PREFIX}`));
    const api = `${mlflow.uri}/api/2.0/mlflow`;
    const experiment = await (await fetch(
      `${api}/experiments/get-by-name?experiment_name=dag-test`,
    )).json();
    const search = await (await fetch(`${api}/runs/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ experiment_ids: [experiment.experiment.experiment_id] }),
    })).json();
    const found: MlflowRun[] = search.runs;
    assert.equal(found.length, 1);
    assert.equal(found[0].info.status, "FINISHED");
    const metrics = Object.fromEntries(
      (found[0].data.metrics ?? []).map((m) => [m.key, m.value]),
    );
    assert.ok(metrics.capacity_knee_tx_s > 0, JSON.stringify(metrics));
    assert.ok(metrics.quality_roc_auc > 0.5, JSON.stringify(metrics));
    console.error(
      `dag test: knee ${metrics.capacity_knee_tx_s} tx/s, streamed ROC AUC ${
        metrics.quality_roc_auc.toFixed(4)
      }, AP ${metrics.quality_average_precision.toFixed(4)}`,
    );
    const files: string[] = [];
    for (const dir of ["capacity", "quality"]) {
      const listed = await (await fetch(
        `${api}/artifacts/list?run_id=${found[0].info.run_id}&path=${dir}`,
      )).json();
      files.push(...(listed.files ?? []).map((f: { path: string }) => f.path));
    }
    assert.deepEqual(files.sort(), [
      "capacity/chart.svg",
      "capacity/report.json",
      "capacity/report.md",
      "quality/model-card.json",
    ]);
  } finally {
    await run("bash", [`${ROOT}deploy/vmlab/vmlab.sh`, "--prefix", PREFIX, "down"]);
    await mlflow.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
