"""The steps of the capacity-and-quality experiment, as plain functions of their inputs.

The DAG (fraudstream_experiment.py) wires them together and hands them what Airflow holds
(params, connections, variables); nothing here reads Airflow, so each step is the same commands
an operator would type: OpenTofu (deploy/terraform/tofu.sh), deploy/install.sh over ssh, the
release's `fraudstream` executable, the fleet replay and the trainer's evaluate.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[3]
TOFU = REPO / "deploy/terraform/tofu.sh"
INSTALL = REPO / "deploy/install.sh"


class StepError(RuntimeError):
    """A command of a step failed; the message is its last line of output."""


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO) -> str:
    """Runs a command, logs its output, returns its stdout; raises StepError when it fails."""
    log.info("$ %s", " ".join(cmd))
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    for line in proc.stderr.splitlines():
        log.info("  %s", line)
    if proc.returncode != 0:
        # The last line that says something (tofu frames its errors in box-drawing lines).
        lines = [line.strip("│╵╷ ") for line in (proc.stderr.strip() or proc.stdout).splitlines()]
        last = next((line for line in reversed(lines) if line), "no output")
        raise StepError(f"{Path(cmd[0]).name} {cmd[1] if len(cmd) > 1 else ''} exited {proc.returncode}: {last}")
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# The fleet: OpenTofu roots in deploy/terraform/, state kept in the run's work directory.


@dataclass(frozen=True)
class Fleet:
    """What a root's outputs say about the fleet, the same for every root."""

    vms: dict[str, str]
    ssh_config: str
    stats_urls: list[str]
    kafka_brokers: str
    agents_per_vm: int
    agent_env: dict[str, str]

    def to_json(self) -> dict:
        return self.__dict__.copy()

    @staticmethod
    def from_json(d: dict) -> Fleet:
        return Fleet(**d)


def tofu(root: str, work: Path, args: list[str], env: dict[str, str]) -> str:
    # The root's directory stays read-only to a run: plugins/modules go to TF_DATA_DIR and the
    # state to the run's own file, so runs never share or leave state in the checkout.
    return run(
        [str(TOFU), f"-chdir={REPO / 'deploy/terraform' / root}", *args],
        env={"TF_DATA_DIR": str(work / "tf-data"), "TF_IN_AUTOMATION": "1", **env},
    )


def write_fleet_vars(work: Path, values: dict) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "fleet.tfvars.json"
    path.write_text(json.dumps(values, indent=2) + "\n")
    return path


def create_fleet(root: str, work: Path, env: dict[str, str], ssh_key: str | None) -> Fleet:
    """`tofu apply` of the root; the fleet from its outputs (an ssh config written for the cloud)."""
    state = work / "terraform.tfstate"
    tofu(root, work, ["init", "-input=false", "-no-color"], env)
    tofu(
        root,
        work,
        ["apply", "-input=false", "-no-color", "-auto-approve", f"-state={state}", f"-var-file={work / 'fleet.tfvars.json'}"],
        env,
    )
    out = json.loads(tofu(root, work, ["output", "-no-color", "-json", f"-state={state}"], env))
    value = {k: v["value"] for k, v in out.items()}
    ssh_config = value.get("ssh_config") or write_ssh_config(work, value["vms"], ssh_key)
    return Fleet(
        vms=value["vms"],
        ssh_config=ssh_config,
        stats_urls=value["stats_urls"],
        kafka_brokers=value["kafka_brokers"],
        agents_per_vm=int(value["agents_per_vm"]),
        agent_env=value.get("agent_env") or {},
    )


def write_ssh_config(work: Path, vms: dict[str, str], private_key: str | None) -> str:
    """An ssh config naming every VM, for a root that does not write one (the cloud)."""
    if not private_key:
        raise StepError("the fleet's ssh connection has no private key (extra private_key)")
    key = work / "ssh_key"
    key.write_text(private_key.strip() + "\n")
    key.chmod(0o600)
    lines = []
    for name, address in vms.items():
        lines += [f"Host {name}", f"  HostName {address}"]
    lines += [
        "Host *",
        "  User root",
        f"  IdentityFile {key}",
        "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {work / 'known_hosts'}",
        "  StrictHostKeyChecking accept-new",
        "  BatchMode yes",
        "  ConnectTimeout 20",
    ]
    path = work / "ssh_config"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def destroy_fleet(root: str, work: Path, env: dict[str, str]) -> None:
    """`tofu destroy` of what this run's state holds; nothing to do when apply never started."""
    state = work / "terraform.tfstate"
    if not (work / "fleet.tfvars.json").exists():
        log.info("no fleet was requested in %s: nothing to destroy", work)
        return
    tofu(root, work, ["init", "-input=false", "-no-color"], env)
    tofu(
        root,
        work,
        ["destroy", "-input=false", "-no-color", "-auto-approve", f"-state={state}", f"-var-file={work / 'fleet.tfvars.json'}"],
        env,
    )


# ---------------------------------------------------------------------------------------------
# The release: packed from this checkout, unpacked beside the run for the host's own commands.


def pack_release(work: Path, deno: list[str]) -> tuple[Path, Path]:
    """The release tarball (this checkout's compiled executable) and its unpacked executable."""
    out = work / "release"
    out.mkdir(parents=True, exist_ok=True)
    tarball = Path(run([*deno, "run", "-A", str(REPO / "deploy/vmlab/release_for_vms.ts"), str(out)]).strip())
    with tarfile.open(tarball) as tar:
        top = tar.getnames()[0].split("/")[0]
        tar.extractall(out, filter="tar")
    return tarball, out / top / "fraudstream"


def install_on_fleet(fleet: Fleet, tarball: Path, extra_env: dict[str, str] | None = None) -> None:
    """install.sh over ssh on every VM at once: agents 1..N under systemd, started."""
    env_flags = []
    for name, value in {**fleet.agent_env, **(extra_env or {})}.items():
        env_flags += ["--env", f"{name}={value}"]

    def one(vm: str) -> None:
        run([
            "bash", str(INSTALL), vm, str(fleet.agents_per_vm), "--tarball", str(tarball),
            "--brokers", fleet.kafka_brokers, "--ssh-config", fleet.ssh_config, *env_flags,
        ])

    with ThreadPoolExecutor(max_workers=len(fleet.vms)) as pool:
        for result in [pool.submit(one, vm) for vm in fleet.vms]:
            result.result()


def wait_ready(urls: list[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    for url in urls:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StepError(f"agent {url} not ready after {timeout_s:.0f} s")
            time.sleep(1)


def create_topics(fraudstream: Path, brokers: str, partitions: int, prefix: str = "") -> None:
    run([str(fraudstream), "topics", "--brokers", brokers, "--partitions", str(partitions), "--topic-prefix", prefix])


# ---------------------------------------------------------------------------------------------
# Speed: `fraudstream capacity --agents` against the fleet.


def measure_capacity(fraudstream: Path, fleet: Fleet, out: Path, flags: list[str]) -> dict:
    """The capacity report of the running fleet; returns the figures the run is judged by."""
    run([
        str(fraudstream), "capacity", "--brokers", fleet.kafka_brokers,
        "--agents", ",".join(fleet.stats_urls), "--out", str(out), *flags,
    ], env={"MLFLOW_TRACKING_URI": ""})
    report = json.loads((out / "report.json").read_text())
    fleet_m = report["measurements"][-1]
    return {
        "report_dir": str(out),
        "agents": fleet_m["agents"],
        "knee_tx_s": fleet_m["knee"]["rate"],
        "knee_status": fleet_m["knee"]["status"],
        "knee_upper_tx_s": fleet_m["knee"]["upper"],
        "drain_rate_tx_s": (fleet_m.get("drain") or {}).get("rate"),
        "knee_per_agent_tx_s": (report.get("per_agent") or {}).get("knee"),
        "fleet_sizes": {str(f["target"]): f["agents"] for f in report["fleet_sizes"]},
        "answer": report["answer"],
    }


# ---------------------------------------------------------------------------------------------
# Quality: a held-out period replayed through the fleet, scored against the same model offline.


def evaluate_quality(
    fraudstream: Path,
    fleet: Fleet,
    tarball: Path,
    out: Path,
    deno: list[str],
    generate: list[str],
    partitions: int,
    burn_in_days: int,
    topic_prefix: str,
) -> dict:
    """Fresh topics, the fleet re-pointed at them (fresh agents, no state from the capacity
    run), the held-out files replayed through it, then model/train/evaluate.py."""
    data = out / "data"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    run([str(fraudstream), "generate", *generate, "--out", str(data)])
    run([str(fraudstream), "features", "--out", str(out / "matrix.bin"), str(data)])
    create_topics(fraudstream, fleet.kafka_brokers, partitions, topic_prefix)
    install_on_fleet(fleet, tarball, {"FRAUDSTREAM_TOPIC_PREFIX": topic_prefix})
    wait_ready(fleet.stats_urls)
    run([
        *deno, "run", "-A", str(REPO / "model/evaluate/replay_through_agent.ts"),
        "--brokers", fleet.kafka_brokers, "--topic-prefix", topic_prefix,
        "--partitions", str(partitions), "--out", str(out / "streamed.csv"), str(data),
    ])
    run(["bash", str(REPO / "model/train/setup_venv.sh")])
    card = out / "model-card.json"
    shutil.copyfile(REPO / "model/model-card.json", card)
    run([
        str(REPO / "model/train/.venv/bin/python"), str(REPO / "model/train/evaluate.py"),
        "--matrix", str(out / "matrix.bin"), "--streamed", str(out / "streamed.csv"),
        "--model", str(REPO / "model/fraud-model.onnx"), "--card", str(card),
        "--burn-in-days", str(burn_in_days),
        "--data-description", f"fraudstream generate {' '.join(generate)}; replayed through {len(fleet.stats_urls)} agents",
    ])
    evaluation = json.loads(card.read_text())["streamed_evaluation"]
    streamed = evaluation["streamed"]
    return {
        "card": str(card),
        "rows": evaluation["period"]["rows"],
        "predictions": evaluation["predictions"],
        "stale_predictions": evaluation["stale_predictions"],
        "max_abs_score_diff": evaluation["max_abs_score_diff"],
        **{k: v for k, v in streamed.items() if isinstance(v, (int, float))},
    }


# ---------------------------------------------------------------------------------------------
# MLflow: one run with both sides and the files behind them.


def log_to_mlflow(tracking_uri: str, experiment: str, run_name: str, params: dict, speed: dict, quality: dict) -> str:
    import mlflow  # the client is only needed by this step

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as active:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        metrics = {f"capacity_{k}": v for k, v in speed.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        metrics |= {f"capacity_fleet_size_{t.replace('.', '_')}_tx_s": n for t, n in speed["fleet_sizes"].items()}
        metrics |= {f"quality_{k}": v for k, v in quality.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        mlflow.log_metrics(metrics)
        mlflow.set_tag("capacity_answer", speed["answer"][:5000])
        report = Path(speed["report_dir"])
        for name in ("report.md", "report.json", "chart.svg"):
            mlflow.log_artifact(str(report / name), artifact_path="capacity")
        mlflow.log_artifact(quality["card"], artifact_path="quality")
        return active.info.run_id


def threshold_failures(speed: dict, quality: dict, thresholds: dict[str, float]) -> list[str]:
    """One line per threshold the run fell below (an unmeasured figure counts as below)."""
    observed = {
        "min_capacity_tx_s": speed.get("knee_tx_s"),
        "min_roc_auc": quality.get("roc_auc"),
        "min_average_precision": quality.get("average_precision"),
    }
    failures = []
    for name, minimum in thresholds.items():
        value = observed[name]
        if value is None or value < minimum:
            failures.append(f"{name.removeprefix('min_')}: {value} < {minimum}")
    return failures
