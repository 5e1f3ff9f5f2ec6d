"""The DAG loads with no import errors and has the experiment's shape; the threshold rule."""

import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"
# Airflow puts its DAGs folder on sys.path; the DAG imports experiment_steps from beside it.
sys.path.insert(0, str(DAGS))

EDGES = {
    "create_fleet": set(),
    "install_release": {"create_fleet"},
    "measure_capacity": {"create_fleet", "install_release"},
    "evaluate_quality": {"create_fleet", "measure_capacity"},
    "log_to_mlflow": {"measure_capacity", "evaluate_quality"},
    "destroy_fleet": {"log_to_mlflow"},
    "check_thresholds": {"measure_capacity", "evaluate_quality", "destroy_fleet"},
}


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert list(bag.dags) == ["fraudstream_experiment"]
    return bag.dags["fraudstream_experiment"]


def test_the_task_graph_is_the_experiment(dag):
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == EDGES


def test_the_fleet_is_destroyed_whatever_failed_and_only_the_check_judges(dag):
    rules = {t.task_id: t.trigger_rule for t in dag.tasks}
    assert rules.pop("destroy_fleet") == "all_done"
    assert set(rules.values()) == {"all_success"}
    assert dag.get_task("check_thresholds").downstream_task_ids == set()


def test_the_targets_and_thresholds_are_params(dag):
    params = dag.params
    assert params.get_param("target").schema["enum"] == ["vmlab", "yandex"]
    for name in ("min_capacity_tx_s", "min_roc_auc", "min_average_precision"):
        assert name in params


def test_a_run_below_any_threshold_or_unmeasured_fails():
    from experiment_steps import threshold_failures

    limits = {"min_capacity_tx_s": 100.0, "min_roc_auc": 0.8, "min_average_precision": 0.3}
    good = ({"knee_tx_s": 150.0}, {"roc_auc": 0.9, "average_precision": 0.5})
    assert threshold_failures(*good, limits) == []
    assert threshold_failures({"knee_tx_s": 90.0}, good[1], limits) == ["capacity_tx_s: 90.0 < 100.0"]
    assert threshold_failures({"knee_tx_s": None}, good[1], limits) == ["capacity_tx_s: None < 100.0"]
    assert threshold_failures(good[0], {"roc_auc": 0.7, "average_precision": 0.2}, limits) == [
        "roc_auc: 0.7 < 0.8",
        "average_precision: 0.2 < 0.3",
    ]
