"""Trains on a small generated data set through the real pipeline (generate -> features -> train)
and checks that the shipped ONNX file scores like the library it was converted from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import train as trainer
from matrix import read_matrix

REPO = Path(__file__).resolve().parents[2]


def deno(*args: str) -> None:
    exe = os.environ.get("DENO") or shutil.which("deno")
    assert exe, "deno is needed to generate the data and export the features"
    subprocess.run([exe, "run", "-A", str(REPO / "main.ts"), *args], check=True, cwd=REPO)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[trainer.TrainResult, Path]:
    tmp = tmp_path_factory.mktemp("train")
    deno("generate", "--out", str(tmp / "data"), "--days", "28", "--customers", "600",
         "--terminals", "1200", "--seed", "3")
    deno("features", "--out", str(tmp / "matrix.bin"), str(tmp / "data"))
    args = trainer.parse_args([
        "--matrix", str(tmp / "matrix.bin"), "--out-dir", str(tmp / "model"),
        "--burn-in-days", "3", "--validation-days", "5", "--test-days", "5",
        "--data-description", "test_train.py: generate --days 28 --customers 600 --seed 3",
    ])
    return trainer.train(args), tmp / "model"


def test_onnx_reproduces_library_probabilities(trained) -> None:
    result, out = trained
    session = ort.InferenceSession(str(out / "fraud-model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert [o.name for o in session.get_outputs()] == ["fraud_probability"]
    X = result.matrix.X
    onnx_p = session.run(["fraud_probability"], {"features": X})[0]
    library_p = result.model.predict_proba(X)[:, 1]
    assert onnx_p.shape == (len(X),)
    assert np.max(np.abs(onnx_p - library_p)) <= 1e-5


def test_metadata_and_card_describe_the_model(trained) -> None:
    result, out = trained
    feature_list = json.loads((REPO / "features" / "feature_list.json").read_text())
    props = {p.key: p.value for p in onnx.load(str(out / "fraud-model.onnx")).metadata_props}
    assert props["fraudstream.feature_list_version"] == feature_list["version"]
    assert json.loads(props["fraudstream.features"]) == [f["name"] for f in feature_list["features"]]
    card = json.loads((out / "model-card.json").read_text())
    assert card["version"] == props["fraudstream.model_version"]
    assert float(props["fraudstream.threshold"]) == card["threshold"]["value"]
    assert card["algorithm"] in card["candidates"]
    for key in ("roc_auc", "average_precision", "card_precision_at_100_per_day"):
        assert 0 <= card["metrics"][key] <= 1
    assert (out / "model-card.md").read_text().startswith("# Model card")
    # The reference rows the agent's loader test uses must reproduce too.
    ref = card["reference_rows"]
    session = ort.InferenceSession(str(out / "fraud-model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"features": np.asarray(ref["features"], dtype=np.float32)})[0]
    assert np.max(np.abs(got - np.asarray(ref["probabilities"]))) <= 1e-5


def test_periods_are_in_time_order_with_the_label_delay_gap(trained) -> None:
    card = trained[0].card
    p = card["periods"]
    day = lambda s: np.datetime64(s)  # noqa: E731
    assert day(p["train"]["to"]) + p["gap_days"] < day(p["validation"]["from"])
    assert day(p["validation"]["to"]) < day(p["test"]["from"])
    assert p["gap_days"] == 7


def test_too_short_data_is_a_one_line_error(trained) -> None:
    m = trained[0].matrix
    with pytest.raises(SystemExit, match="needs at least"):
        trainer.split_periods(m.day[m.day < m.day.min() + 10], 7, 14, 14, 14)


def test_reader_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-matrix.bin"
    bad.write_bytes(b"hello world, not a matrix")
    with pytest.raises(ValueError, match="not a fraudstream feature matrix"):
        read_matrix(bad)
