"""Trains the fraud model on the matrix exported by `fraudstream features` and ships it as ONNX.

Time split (whole UTC days of event time, never shuffled, so that the metrics describe what the
agent will see on later data):

    | burn-in | train | gap = label delay | validation | test |

- burn-in: the first days, whose 30-day windows are still filling up, are left out;
- train: fits both candidates (logistic regression, gradient-boosted trees);
- gap: in production a model trained at time T only has labels up to T - delay;
- validation: picks the candidate (average precision) and the decision threshold (max F1);
- test: the later period whose metrics go in the model card, untouched by any choice.

Outputs in --out-dir: fraud-model.onnx (input "features" float32 [N, F], output
"fraud_probability" float32 [N]; feature-list version and names in its metadata), model-card.json
and model-card.md. With MLFLOW_TRACKING_URI set, the run is also logged and the model registered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from matrix import DAY_MS, Matrix, read_matrix

REPO = Path(__file__).resolve().parents[2]
INPUT_NAME = "features"
OUTPUT_NAME = "fraud_probability"
TOLERANCE = 1e-5
CARD_PRECISION_K = 100


@dataclass
class Periods:
    train: tuple[int, int]  # [first day, last day] inclusive, epoch days
    validation: tuple[int, int]
    test: tuple[int, int]

    def mask(self, day: np.ndarray, name: str) -> np.ndarray:
        lo, hi = getattr(self, name)
        return (day >= lo) & (day <= hi)

    def describe(self, name: str) -> dict:
        lo, hi = getattr(self, name)
        return {"from": iso_day(lo), "to": iso_day(hi), "days": hi - lo + 1}


def iso_day(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


def split_periods(day: np.ndarray, delay_days: int, burn_in: int, validation: int, test: int) -> Periods:
    first, last = int(day.min()), int(day.max())
    test_from = last - test + 1
    val_from = test_from - validation
    train_to = val_from - delay_days - 1
    train_from = first + burn_in
    if train_to < train_from:
        total = last - first + 1
        need = burn_in + 1 + delay_days + validation + test
        raise SystemExit(
            f"train.py: the data covers {total} days; burn-in {burn_in} + train >= 1 + gap "
            f"{delay_days} + validation {validation} + test {test} needs at least {need}"
        )
    return Periods((train_from, train_to), (val_from, test_from - 1), (test_from, last))


def card_precision_at_k(m: Matrix, mask: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Mean over days of the share of compromised cards among the k cards scored highest that day.

    A card's score for a day is its highest transaction score that day, and a card counts as
    compromised that day if any of its transactions that day is fraud (the Handbook's daily
    card precision, without removing cards already flagged on earlier days).
    """
    days = m.day[mask]
    cust = m.customer_id[mask]
    y = m.y[mask]
    s = scores
    per_day = []
    for d in np.unique(days):
        sel = days == d
        c, inverse = np.unique(cust[sel], return_inverse=True)
        best = np.full(len(c), -np.inf)
        np.maximum.at(best, inverse, s[sel])
        fraud = np.zeros(len(c), dtype=bool)
        np.logical_or.at(fraud, inverse, y[sel] == 1)
        top = np.argsort(-best, kind="stable")[:k]
        per_day.append(float(fraud[top].sum()) / k)
    return float(np.mean(per_day)) if per_day else float("nan")


def metrics(m: Matrix, mask: np.ndarray, scores: np.ndarray, threshold: float | None) -> dict:
    y = m.y[mask]
    out = {
        "rows": int(mask.sum()),
        "frauds": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, scores)) if 0 < y.sum() < len(y) else None,
        "average_precision": float(average_precision_score(y, scores)) if y.sum() > 0 else None,
        f"card_precision_at_{CARD_PRECISION_K}_per_day": card_precision_at_k(
            m, mask, scores, CARD_PRECISION_K
        ),
    }
    if threshold is not None:
        flagged = scores >= threshold
        tp = int((flagged & (y == 1)).sum())
        days = len(np.unique(m.day[mask]))
        out["at_threshold"] = {
            "precision": tp / max(int(flagged.sum()), 1),
            "recall": tp / max(int(y.sum()), 1),
            "alerts_per_day": float(flagged.sum()) / max(days, 1),
        }
    return out


def max_f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(y, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def candidates(seed: int) -> dict:
    return {
        "logistic_regression": Pipeline(
            [("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=2000, C=1.0))]
        ),
        # Sized for the agent's hot path as much as for accuracy: ORT walks every tree for every
        # row, and 300 trees of 31 leaves scored 263k rows/s on one core where these 120 of 15
        # score 826k, for 0.005 less validation AP (docs/decisions.md).
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=120,
            learning_rate=0.12,
            max_leaf_nodes=15,
            min_samples_leaf=50,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        ),
    }


def to_onnx(model, n_features: int, metadata: dict[str, str]) -> onnx.ModelProto:
    """Converts and reshapes the output to one float per row: P(fraud)."""
    proto = convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    graph = proto.graph
    probabilities = next(o.name for o in graph.output if o.name != "label")
    index = helper.make_tensor("fraud_class_index", onnx.TensorProto.INT64, [], [1])
    graph.initializer.append(index)
    graph.node.append(
        helper.make_node("Gather", [probabilities, "fraud_class_index"], [OUTPUT_NAME], axis=1)
    )
    while len(graph.output):
        graph.output.pop()
    graph.output.append(
        helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT, [None])
    )
    # Drop the nodes only the class-label output needed, so the agent runs nothing it ignores.
    needed = {OUTPUT_NAME}
    kept = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    # skl2onnx names the graph with a random uuid; a fixed name makes the file, and so the
    # content-derived model version, reproducible from the same data.
    graph.name = "fraudstream_fraud_model"
    proto.producer_name = "fraudstream-train"
    proto.doc_string = "fraudstream fraud model: P(fraud) per row of the feature engine's vector"
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    return proto


def onnx_scores(proto: onnx.ModelProto, X: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: X})[0]


@dataclass
class TrainResult:
    card: dict
    model: object
    proto: onnx.ModelProto
    matrix: Matrix


def train(args: argparse.Namespace) -> TrainResult:
    started = time.time()
    feature_list = json.loads(Path(args.feature_list).read_text())
    m = read_matrix(args.matrix)
    if m.header["featureListVersion"] != feature_list["version"] or m.feature_names != [
        f["name"] for f in feature_list["features"]
    ]:
        raise SystemExit(
            f"train.py: {args.matrix} has features {m.header['featureListVersion']}, "
            f"{args.feature_list} declares {feature_list['version']}: re-export the matrix"
        )
    delay_days = int(np.ceil(m.header["labelDelayMs"] / DAY_MS))
    periods = split_periods(m.day, delay_days, args.burn_in_days, args.validation_days, args.test_days)
    masks = {name: periods.mask(m.day, name) for name in ("train", "validation", "test")}
    for name, mask in masks.items():
        if m.y[mask].sum() == 0:
            raise SystemExit(f"train.py: no fraud in the {name} period; generate more days")

    X_train, y_train = m.X[masks["train"]], m.y[masks["train"]]
    results = {}
    fitted = {}
    for name, model in candidates(args.seed).items():
        t = time.time()
        model.fit(X_train, y_train)
        fit_seconds = time.time() - t
        val_scores = model.predict_proba(m.X[masks["validation"]])[:, 1]
        threshold = max_f1_threshold(m.y[masks["validation"]], val_scores)
        test_scores = model.predict_proba(m.X[masks["test"]])[:, 1]
        results[name] = {
            "fit_seconds": round(fit_seconds, 2),
            "threshold": threshold,
            "validation": metrics(m, masks["validation"], val_scores, threshold),
            "test": metrics(m, masks["test"], test_scores, threshold),
        }
        fitted[name] = model
        print(
            f"{name}: validation AP {results[name]['validation']['average_precision']:.4f}, "
            f"test AP {results[name]['test']['average_precision']:.4f}, "
            f"test AUC {results[name]['test']['roc_auc']:.4f} ({fit_seconds:.1f}s fit)",
            file=sys.stderr,
        )
    chosen = max(results, key=lambda n: results[n]["validation"]["average_precision"])
    model = fitted[chosen]
    threshold = results[chosen]["threshold"]

    metadata = {
        "fraudstream.feature_list_version": feature_list["version"],
        "fraudstream.features": json.dumps([f["name"] for f in feature_list["features"]]),
        "fraudstream.model_name": args.model_name,
        "fraudstream.algorithm": chosen,
        "fraudstream.threshold": repr(threshold),
        "fraudstream.label_delay_ms": str(m.header["labelDelayMs"]),
    }
    proto = to_onnx(model, m.X.shape[1], metadata)
    version = hashlib.sha256(proto.SerializeToString()).hexdigest()[:12]
    entry = proto.metadata_props.add()
    entry.key, entry.value = "fraudstream.model_version", version
    proto.model_version = int(version[:8], 16)

    X_test = m.X[masks["test"]]
    library = model.predict_proba(X_test)[:, 1]
    runtime = onnx_scores(proto, X_test)
    max_diff = float(np.max(np.abs(library - runtime))) if len(library) else 0.0
    if not max_diff <= TOLERANCE:
        raise SystemExit(
            f"train.py: onnxruntime differs from {chosen} by {max_diff:.3g} (> {TOLERANCE}) on the "
            "test period; the conversion is not faithful"
        )

    # Fixed rows with the library's probabilities, for the agent's loader test: rows across the
    # whole score range (quantiles, the top) and the one nearest the decision threshold.
    order = np.argsort(library, kind="stable")
    quantiles = [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 0.995, 0.999, 1.0]
    picks = [int(order[round(q * (len(order) - 1))]) for q in quantiles]
    picks.append(int(np.argmin(np.abs(library - threshold))))
    reference = {
        "features": [[float(v) for v in X_test[i]] for i in picks],
        "probabilities": [float(library[i]) for i in picks],
        "tolerance": TOLERANCE,
    }

    card = {
        "name": args.model_name,
        "version": version,
        "algorithm": chosen,
        "file": "fraud-model.onnx",
        "onnx": {
            "input": {"name": INPUT_NAME, "type": "float32", "shape": ["N", int(m.X.shape[1])]},
            "output": {"name": OUTPUT_NAME, "type": "float32", "shape": ["N"], "meaning": "P(fraud)"},
            "opset": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
            "max_abs_diff_vs_library_on_test": max_diff,
        },
        "feature_list": {
            "version": feature_list["version"],
            "names": [f["name"] for f in feature_list["features"]],
        },
        "label_delay_ms": m.header["labelDelayMs"],
        "threshold": {
            "value": threshold,
            "how": "maximises F1 on the validation period (after the training gap, before test)",
        },
        "data": {
            "matrix": Path(args.matrix).name,
            "rows": int(len(m.y)),
            "fraud_share": float(m.y.mean()),
            "from": iso_day(int(m.day.min())),
            "to": iso_day(int(m.day.max())),
            "generated_with": args.data_description,
            "export": m.header.get("source", {}),
        },
        "periods": {
            "burn_in_days": args.burn_in_days,
            "gap_days": delay_days,
            "train": periods.describe("train"),
            "validation": periods.describe("validation"),
            "test": periods.describe("test"),
        },
        "selection": "candidate with the highest average precision on the validation period",
        "candidates": results,
        "metrics": results[chosen]["test"],
        "reference_rows": reference,
        "training": {
            "seed": args.seed,
            "python": sys.version.split()[0],
            "libraries": library_versions(),
            "seconds": round(time.time() - started, 1),
        },
    }

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, out / "fraud-model.onnx")
    (out / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / "model-card.md").write_text(card_markdown(card))
    print(
        f"train.py: {chosen} v{version}: test AP {card['metrics']['average_precision']:.4f}, "
        f"ROC AUC {card['metrics']['roc_auc']:.4f}, threshold {threshold:.4f}, "
        f"ONNX max diff {max_diff:.2e} -> {out / 'fraud-model.onnx'}",
        file=sys.stderr,
    )
    if os.environ.get("MLFLOW_TRACKING_URI"):
        log_to_mlflow(card, proto, out, args)
    return TrainResult(card, model, proto, m)


def library_versions() -> dict:
    import sklearn
    import skl2onnx

    return {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }


def card_markdown(card: dict) -> str:
    t = card["metrics"]
    k = f"card_precision_at_{CARD_PRECISION_K}_per_day"
    p = card["periods"]
    rows = []
    for name, r in card["candidates"].items():
        v, s = r["validation"], r["test"]
        rows.append(
            f"| {name}{' (chosen)' if name == card['algorithm'] else ''} | "
            f"{v['average_precision']:.4f} | {s['average_precision']:.4f} | {s['roc_auc']:.4f} | "
            f"{s[k]:.3f} | {r['fit_seconds']} s |"
        )
    at = t["at_threshold"]
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        f"- Algorithm: **{card['algorithm']}** (scikit-learn, converted with skl2onnx), "
        f"file `{card['file']}`",
        f"- Input `{card['onnx']['input']['name']}`: float32 [N, {card['onnx']['input']['shape'][1]}]"
        f" in the order of feature list **{card['feature_list']['version']}**; output "
        f"`{card['onnx']['output']['name']}`: float32 [N], P(fraud)",
        f"- onnxruntime vs the library on the test period: max abs difference "
        f"{card['onnx']['max_abs_diff_vs_library_on_test']:.2e}",
        f"- Label delay {card['label_delay_ms'] / DAY_MS:g} days (terminal features and the train gap)",
        "",
        "## Data",
        "",
        f"- {card['data']['rows']:,} transactions, {card['data']['from']} to {card['data']['to']}, "
        f"fraud share {card['data']['fraud_share']:.4%}",
        f"- Generated with: `{card['data']['generated_with']}`",
        f"- Periods: burn-in {p['burn_in_days']} days; train {p['train']['from']}..{p['train']['to']}; "
        f"gap {p['gap_days']} days; validation {p['validation']['from']}..{p['validation']['to']}; "
        f"test {p['test']['from']}..{p['test']['to']}",
        "",
        "## Test-period metrics (chosen model)",
        "",
        f"- ROC AUC **{t['roc_auc']:.4f}**, average precision **{t['average_precision']:.4f}**",
        f"- Card precision@{CARD_PRECISION_K} per day: **{t[k]:.3f}**",
        f"- Threshold **{card['threshold']['value']:.4f}** ({card['threshold']['how']}): precision "
        f"{at['precision']:.3f}, recall {at['recall']:.3f}, {at['alerts_per_day']:.1f} alerts/day",
        "",
        "## Candidates",
        "",
        f"| model | validation AP | test AP | test ROC AUC | test CP@{CARD_PRECISION_K} | fit |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Selection: {card['selection']}.",
        "",
        *streamed_section(card.get("streamed_evaluation")),
        "## Features",
        "",
        *[f"{i}. `{n}`" for i, n in enumerate(card["feature_list"]["names"])],
        "",
    ]
    return "\n".join(lines)


def streamed_section(e: dict | None) -> list[str]:
    """The model card's account of `deno task evaluate`: the agent's scores next to offline ones."""
    if e is None:
        return []
    k = f"card_precision_at_{CARD_PRECISION_K}_per_day"
    rows = []
    for side in ("streamed", "offline"):
        r = e[side]
        scenarios = " / ".join(
            "-" if r["scenario_roc_auc"][s] is None else f"{r['scenario_roc_auc'][s]:.4f}" for s in ("1", "2", "3")
        )
        rows.append(
            f"| {side} | {r['roc_auc']:.4f} | {r['average_precision']:.4f} | {r[k]:.4f} | {scenarios} |"
        )
    return [
        "## Evaluation as streamed (`deno task evaluate`)",
        "",
        f"- Data: `{e['data']['generated_with']}` ({e['data']['rows']:,} transactions, "
        f"{e['data']['from']} to {e['data']['to']}): another seed, after the training data",
        f"- Replay: {e['replay']}; {e['predictions']:,} predictions, {e['stale_predictions']} "
        "stale (scored without every label their features read)",
        f"- Period evaluated: {e['period']['from']}..{e['period']['to']} ({e['period']['rows']:,} "
        "transactions, after a 30-day burn-in)",
        f"- Largest difference between a streamed and an offline score: {e['max_abs_score_diff']:.2e}; "
        f"largest metric difference {max(e['metric_diffs'].values()):.2e} (must be <= 1e-4)",
        "",
        f"| scored | ROC AUC | average precision | CP@{CARD_PRECISION_K} | ROC AUC by scenario 1 / 2 / 3 |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def log_to_mlflow(card: dict, proto: onnx.ModelProto, out: Path, args: argparse.Namespace) -> None:
    """Logs the run (params, offline metrics, card, ONNX file) and registers the model as a new
    version. The alias (champion) moves later, in evaluate.py, once the streamed evaluation of
    this version agrees with the offline one: --mlflow-run-file tells it which run and version."""
    mlflow = import_mlflow()
    mlflow.set_experiment(args.mlflow_experiment)
    with mlflow.start_run(run_name=f"{card['name']}-{card['version']}") as run:
        mlflow.log_params(
            {
                "algorithm": card["algorithm"],
                "feature_list_version": card["feature_list"]["version"],
                "label_delay_ms": card["label_delay_ms"],
                "seed": args.seed,
                "threshold": card["threshold"]["value"],
                "train_from": card["periods"]["train"]["from"],
                "train_to": card["periods"]["train"]["to"],
                "test_from": card["periods"]["test"]["from"],
                "test_to": card["periods"]["test"]["to"],
                "data": card["data"]["generated_with"],
            }
        )
        for name, result in card["candidates"].items():
            for period in ("validation", "test"):
                for key, value in result[period].items():
                    if isinstance(value, (int, float)) and value is not None:
                        mlflow.log_metric(f"{name}.{period}.{key}", float(value))
        for key in ("roc_auc", "average_precision", f"card_precision_at_{CARD_PRECISION_K}_per_day"):
            mlflow.log_metric(f"test_{key}", float(card["metrics"][key]))
        mlflow.log_artifact(str(out / "model-card.json"))
        mlflow.log_artifact(str(out / "model-card.md"))
        mlflow.log_artifact(str(out / "fraud-model.onnx"))
        info = mlflow.onnx.log_model(
            proto,
            name="model",
            registered_model_name=args.model_name,
            metadata={k: v for k, v in ((e.key, e.value) for e in proto.metadata_props)},
        )
    registered = {
        "run_id": run.info.run_id,
        "registered_model": args.model_name,
        "registry_version": str(info.registered_model_version),
        "model_version": card["version"],
    }
    print(
        f"train.py: MLflow run {registered['run_id']}, registered {args.model_name} "
        f"version {registered['registry_version']}",
        file=sys.stderr,
    )
    if args.mlflow_run_file:
        Path(args.mlflow_run_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.mlflow_run_file).write_text(json.dumps(registered, indent=2) + "\n")


def import_mlflow():
    try:
        import mlflow
    except ImportError:
        raise SystemExit(
            "MLFLOW_TRACKING_URI is set but mlflow is not installed "
            "(re-run model/train/setup_venv.sh with MLFLOW_TRACKING_URI set)"
        ) from None
    return mlflow


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--matrix", required=True, help="binary matrix from `fraudstream features`")
    p.add_argument("--out-dir", default=str(REPO / "model"))
    p.add_argument("--feature-list", default=str(REPO / "features" / "feature_list.json"))
    p.add_argument("--burn-in-days", type=int, default=14)
    p.add_argument("--validation-days", type=int, default=14)
    p.add_argument("--test-days", type=int, default=14)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model-name", default="fraudstream-fraud")
    p.add_argument("--data-description", default="unknown", help="how the data was generated")
    p.add_argument("--mlflow-experiment", default="fraudstream")
    p.add_argument(
        "--mlflow-run-file",
        help="where to record the MLflow run and registered version, for evaluate.py",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    train(parse_args(sys.argv[1:]))
