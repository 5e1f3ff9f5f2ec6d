"""Evaluates the shipped model as the agent serves it, next to the same model offline.

Inputs: the feature matrix `fraudstream features` exported from an evaluation data set (offline
side), and the CSV of every prediction the real agent made from the same files replayed through
Kafka (streamed side, from model/evaluate/replay_through_agent.ts). Both are scored on the later
period of that data set (after a burn-in that fills the 30-day windows) with the trainer's own
metrics; they must agree to 1e-4, and the result goes into the model card.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from sklearn.metrics import roc_auc_score

from matrix import read_matrix
from train import CARD_PRECISION_K, card_markdown, import_mlflow, iso_day, metrics, onnx_scores

AGREEMENT = 1e-4
COMPARED = ("roc_auc", "average_precision", f"card_precision_at_{CARD_PRECISION_K}_per_day")


def streamed_scores(path: Path, transaction_id: np.ndarray, customer_id: np.ndarray):
    """The agent's score per matrix row (NaN where it made none) and its stale predictions."""
    by_key: dict[tuple[int, int], float] = {}
    stale = 0
    with path.open() as f:
        for row in csv.DictReader(f):
            by_key[(int(float(row["transaction_id"])), int(float(row["customer_id"])))] = float(row["score"])
            stale += row["labels_complete"] != "1"
    scores = np.array(
        [by_key.get((int(t), int(c)), np.nan) for t, c in zip(transaction_id, customer_id)],
        dtype=np.float64,
    )
    return scores, stale, len(by_key)


def scenario_auc(y: np.ndarray, scenario: np.ndarray, scores: np.ndarray, which: int) -> float | None:
    """ROC AUC of one fraud scenario against the legitimate transactions."""
    sel = (y == 0) | (scenario == which)
    positives = int((scenario[sel] == which).sum())
    return float(roc_auc_score(y[sel], scores[sel])) if 0 < positives < int(sel.sum()) else None


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--matrix", required=True)
    p.add_argument("--streamed", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--card", required=True, help="model-card.json to add the evaluation to")
    p.add_argument("--burn-in-days", type=int, default=30)
    p.add_argument("--data-description", default="unknown")
    p.add_argument(
        "--mlflow-run-file",
        help="train.py's record of its MLflow run: the streamed quality is logged to that run",
    )
    p.add_argument("--mlflow-alias", default="champion", help="moved to the version once it passes")
    args = p.parse_args(argv)

    m = read_matrix(args.matrix)
    card_path = Path(args.card)
    card = json.loads(card_path.read_text())
    offline = onnx_scores(onnx.load(args.model), m.X).astype(np.float64)
    streamed, stale, predictions = streamed_scores(Path(args.streamed), m.transaction_id, m.customer_id)
    missing = int(np.isnan(streamed).sum())
    if missing:
        print(f"evaluate.py: {missing} transactions have no streamed prediction", file=sys.stderr)
        return 1
    day = m.day
    first = int(day.min()) + args.burn_in_days
    mask = day >= first
    threshold = card["threshold"]["value"]
    sides = {
        "offline": metrics(m, mask, offline[mask], threshold),
        "streamed": metrics(m, mask, streamed[mask], threshold),
    }
    for side, scores in (("offline", offline), ("streamed", streamed)):
        sides[side]["scenario_roc_auc"] = {
            str(s): scenario_auc(m.y[mask], m.scenario[mask], scores[mask], s) for s in (1, 2, 3)
        }
    diffs = {k: abs(sides["streamed"][k] - sides["offline"][k]) for k in COMPARED}
    max_score_diff = float(np.max(np.abs(streamed - offline)))
    evaluation = {
        "data": {
            "generated_with": args.data_description,
            "rows": int(len(m.y)),
            "from": iso_day(int(day.min())),
            "to": iso_day(int(day.max())),
        },
        "period": {"from": iso_day(first), "to": iso_day(int(day.max())), "rows": int(mask.sum())},
        "replay": "produce flat out, one agent, 6 partitions, label delay 7 days",
        "predictions": predictions,
        "stale_predictions": stale,
        "max_abs_score_diff": max_score_diff,
        "metric_diffs": diffs,
        "offline": sides["offline"],
        "streamed": sides["streamed"],
    }
    card["streamed_evaluation"] = evaluation
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    card_path.with_suffix(".md").write_text(card_markdown(card))
    s, o = sides["streamed"], sides["offline"]
    print(
        f"evaluate.py: streamed ROC AUC {s['roc_auc']:.4f} (offline {o['roc_auc']:.4f}), "
        f"AP {s['average_precision']:.4f} ({o['average_precision']:.4f}), CP@{CARD_PRECISION_K} "
        f"{s[COMPARED[2]]:.4f} ({o[COMPARED[2]]:.4f}); max score diff {max_score_diff:.2e}; "
        f"stale {stale}",
        file=sys.stderr,
    )
    worst = max(diffs.values())
    passed = worst <= AGREEMENT and not stale
    if os.environ.get("MLFLOW_TRACKING_URI") and args.mlflow_run_file:
        log_to_mlflow(Path(args.mlflow_run_file), card, card_path, evaluation, passed, args.mlflow_alias)
    if not passed:
        print(f"evaluate.py: streamed and offline disagree by {worst:.2e} (> {AGREEMENT})", file=sys.stderr)
        return 1
    return 0


def log_to_mlflow(run_file: Path, card: dict, card_path: Path, evaluation: dict, passed: bool, alias: str) -> None:
    """Adds the streamed quality and the completed card to the run train.py logged for this model,
    and moves the alias to its registered version when the evaluation passed."""
    if not run_file.exists():
        print(f"evaluate.py: no {run_file} (train.py's MLflow run): nothing logged", file=sys.stderr)
        return
    registered = json.loads(run_file.read_text())
    if registered["model_version"] != card["version"]:
        print(
            f"evaluate.py: {run_file} is the run of model {registered['model_version']}, not of "
            f"{card['version']}: nothing logged",
            file=sys.stderr,
        )
        return
    mlflow = import_mlflow()
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    now = int(time.time() * 1000)
    values = {f"{side}_{key}": evaluation[side][key] for side in ("streamed", "offline") for key in COMPARED}
    values["streamed_max_abs_score_diff"] = evaluation["max_abs_score_diff"]
    values["streamed_stale_predictions"] = evaluation["stale_predictions"]
    values["streamed_predictions"] = evaluation["predictions"]
    client.log_batch(
        registered["run_id"],
        metrics=[Metric(key, float(value), now, 0) for key, value in values.items() if value is not None],
    )
    client.log_artifact(registered["run_id"], str(card_path))
    client.log_artifact(registered["run_id"], str(card_path.with_suffix(".md")))
    client.set_tag(registered["run_id"], "streamed_evaluation", "passed" if passed else "failed")
    if passed:
        client.set_registered_model_alias(registered["registered_model"], alias, registered["registry_version"])
        print(
            f"evaluate.py: {registered['registered_model']}@{alias} -> version {registered['registry_version']}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
