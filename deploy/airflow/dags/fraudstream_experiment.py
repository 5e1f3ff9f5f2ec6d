"""The capacity-and-quality experiment as an Airflow DAG.

create_fleet (tofu apply) -> install_release (install.sh on every VM) -> measure_capacity
(`fraudstream capacity --agents`) -> evaluate_quality (a held-out period replayed through the
fleet, scored against the same model offline) -> log_to_mlflow (one run: speed, quality, the
report, chart and card) -> destroy_fleet (tofu destroy, always: trigger rule all_done) ->
check_thresholds (fails the run when capacity or quality fell below the params' thresholds).

`target` picks the Terraform root: "vmlab" (emulated VMs on this machine) or "yandex" (Yandex
Cloud). Everything secret or site-specific comes from Airflow connections and variables (see
deploy/airflow/README.md), never from this file.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

from airflow.sdk import Connection, Param, Variable, dag, get_current_context, task

import experiment_steps as steps

MLFLOW_CONN = "fraudstream_mlflow"
YANDEX_CONN = "fraudstream_yandex"
FLEET_SSH_CONN = "fraudstream_fleet_ssh"


def _params() -> dict:
    return get_current_context()["params"]


def _work() -> Path:
    """This run's directory: tofu state, release, reports. One per DAG run."""
    ctx = get_current_context()
    base = Variable.get("fraudstream_work_dir", default=str(steps.REPO / ".cache/airflow/runs"))
    return Path(base) / re.sub(r"[^A-Za-z0-9_.-]", "_", ctx["run_id"])


def _deno() -> list[str]:
    return shlex.split(Variable.get("fraudstream_deno", default=os.environ.get("FRAUDSTREAM_DENO", "deno")))


def _root_env(target: str) -> dict[str, str]:
    """The cloud root's credentials from its connection (password: an IAM token, or extra
    service_account_key_file; extra cloud_id); the vmlab root needs none."""
    if target != "yandex":
        return {}
    conn = Connection.get(YANDEX_CONN)
    extra = conn.extra_dejson
    env = {"YC_CLOUD_ID": extra.get("cloud_id", "")}
    if conn.password:
        env["YC_TOKEN"] = conn.password
    if extra.get("service_account_key_file"):
        env["YC_SERVICE_ACCOUNT_KEY_FILE"] = extra["service_account_key_file"]
    return env


def _fleet_vars(p: dict) -> dict:
    values = {
        "vm_count": p["vm_count"],
        "vcpu": p["vcpu"],
        "memory_mb": p["memory_mb"],
        "agents_per_vm": p["agents_per_vm"],
        "kafka_brokers": p["kafka_brokers"],
        "secrets": json.loads(Variable.get("fraudstream_agent_secrets", default="{}")),
    }
    if p["target"] == "vmlab":
        values |= {"prefix": p["vmlab_prefix"], "subnet": p["vmlab_subnet"]}
    else:
        # folder_id, release_url, release_sha256, ssh_public_key, ... (yandex/main.tf)
        values |= json.loads(Variable.get("fraudstream_yandex_tfvars"))
    return values


def _release(work: Path) -> tuple[Path, Path]:
    tarball = next((work / "release").glob("fraudstream-*.tar.gz"))
    exe = next((work / "release").glob("fraudstream-*/fraudstream"))
    return tarball, exe


@dag(
    dag_id="fraudstream_experiment",
    schedule=None,
    catchup=False,
    tags=["fraudstream"],
    doc_md=__doc__,
    params={
        "target": Param("vmlab", enum=["vmlab", "yandex"], description="Terraform root: emulated VMs here or Yandex Cloud"),
        "vm_count": Param(2, type="integer", minimum=1),
        "vcpu": Param(0.5, type="number", description="cores per VM (a CPU quota in the vmlab)"),
        "memory_mb": Param(1024, type="integer"),
        "agents_per_vm": Param(1, type="integer", minimum=1),
        "kafka_brokers": Param("", type="string", description="existing Kafka; empty: the root creates one"),
        "partitions": Param(6, type="integer", minimum=1),
        "vmlab_prefix": Param("fsvm", type="string"),
        "vmlab_subnet": Param("10.77.0", type="string"),
        "capacity_flags": Param(
            "--step-seconds 20 --settle-seconds 4 --drain-seconds 10",
            type="string",
            description="extra flags for fraudstream capacity",
        ),
        "evaluation_data": Param(
            "--customers 2000 --terminals 4000 --days 40 --start-date 2018-07-01 --seed 1042",
            type="string",
            description="fraudstream generate flags of the held-out period",
        ),
        "burn_in_days": Param(30, type="integer", minimum=0, description="days left out while the windows fill"),
        "min_capacity_tx_s": Param(50.0, type="number", description="the fleet's knee must reach this"),
        "min_roc_auc": Param(0.8, type="number"),
        "min_average_precision": Param(0.3, type="number"),
    },
)
def fraudstream_experiment():
    @task
    def create_fleet() -> dict:
        p, work = _params(), _work()
        steps.write_fleet_vars(work, _fleet_vars(p))
        ssh_key = None
        if p["target"] == "yandex":
            ssh_key = Connection.get(FLEET_SSH_CONN).extra_dejson.get("private_key")
        return steps.create_fleet(p["target"], work, _root_env(p["target"]), ssh_key).to_json()

    @task
    def install_release(fleet: dict) -> str:
        p, work = _params(), _work()
        f = steps.Fleet.from_json(fleet)
        tarball, exe = steps.pack_release(work, _deno())
        steps.create_topics(exe, f.kafka_brokers, p["partitions"])
        steps.install_on_fleet(f, tarball)
        steps.wait_ready(f.stats_urls)
        return str(tarball)

    @task
    def measure_capacity(fleet: dict, _installed: str) -> dict:
        p, work = _params(), _work()
        _, exe = _release(work)
        flags = shlex.split(p["capacity_flags"])
        return steps.measure_capacity(exe, steps.Fleet.from_json(fleet), work / "capacity", flags)

    @task
    def evaluate_quality(fleet: dict, _speed: dict) -> dict:
        p, work = _params(), _work()
        tarball, exe = _release(work)
        return steps.evaluate_quality(
            exe,
            steps.Fleet.from_json(fleet),
            tarball,
            work / "evaluation",
            _deno(),
            shlex.split(p["evaluation_data"]),
            p["partitions"],
            p["burn_in_days"],
            topic_prefix="evaluation.",
        )

    @task
    def log_to_mlflow(speed: dict, quality: dict) -> str:
        p, ctx = _params(), get_current_context()
        conn = Connection.get(MLFLOW_CONN)
        scheme = "https" if conn.conn_type == "https" else "http"
        uri = f"{scheme}://{conn.host}:{conn.port}" + (f"/{conn.schema}" if conn.schema else "")
        if conn.login:
            os.environ["MLFLOW_TRACKING_USERNAME"] = conn.login
            os.environ["MLFLOW_TRACKING_PASSWORD"] = conn.password or ""
        experiment = Variable.get("fraudstream_mlflow_experiment", default="fraudstream-experiment")
        return steps.log_to_mlflow(uri, experiment, f"experiment {ctx['run_id']}", dict(p), speed, quality)

    @task(trigger_rule="all_done")
    def destroy_fleet() -> None:
        p = _params()
        steps.destroy_fleet(p["target"], _work(), _root_env(p["target"]))

    @task
    def check_thresholds(speed: dict, quality: dict) -> None:
        p = _params()
        names = ("min_capacity_tx_s", "min_roc_auc", "min_average_precision")
        failures = steps.threshold_failures(speed, quality, {n: p[n] for n in names})
        if failures:
            raise ValueError("below threshold: " + "; ".join(failures))

    fleet = create_fleet()
    installed = install_release(fleet)
    speed = measure_capacity(fleet, installed)
    quality = evaluate_quality(fleet, speed)
    logged = log_to_mlflow(speed, quality)
    destroyed = destroy_fleet()
    logged >> destroyed
    destroyed >> check_thresholds(speed, quality)


fraudstream_experiment()
