"""The DAG file under a real Airflow 2.10: loads fast, mirrors the compiled pipeline, imports no TFX.

Uses a hand-written manifest of the real pipeline's shape, so these tests need neither
TFX nor a compile step; ``tests/e2e/test_airflow_onprem.py`` runs a real compiled one.
"""

from __future__ import annotations

import json

import pytest

from tests.support.airflow_env import AIRFLOW2, airflow_env, parse_dags

UPSTREAM = {
    "CsvExampleGen": [], "ImportSchemaGen": [], "latest_blessed_model_resolver": [],
    "StatisticsGen": ["CsvExampleGen"], "Transform": ["CsvExampleGen", "ImportSchemaGen"],
    "ExampleValidator": ["ImportSchemaGen", "StatisticsGen"], "Trainer": ["ImportSchemaGen", "Transform"],
    "Evaluator": ["CsvExampleGen", "Trainer", "latest_blessed_model_resolver"],
    "Pusher": ["Evaluator", "Trainer"],
}


def _manifest(path, schedule="@daily", retries=3):
    path.write_text(json.dumps({
        "format": 1, "pipeline_name": "taxi-edge", "profile": "onprem", "ir": "taxi-edge.pb",
        "ir_sha256": "0" * 64, "python": "/opt/pipeline env/bin/python", "workdir": "/opt/edge",
        "metadata": {"kind": "mysql", "host": "db", "database": "mlmd", "user": "mlmd", "port": 3306,
                     "password_env": "MLMD_MYSQL_PASSWORD", "password_file": None},
        "airflow": {"dag_id": "taxi_edge", "schedule": schedule, "retries": retries,
                    "retry_delay_seconds": 60, "max_active_runs": 1, "catchup": False},
        "nodes": [{"id": node, "upstream": upstream} for node, upstream in UPSTREAM.items()],
    }))
    return path


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("airflow")
    manifest = _manifest(folder / "taxi-edge.json", schedule="0 3 * * *")
    return manifest, parse_dags(AIRFLOW2, airflow_env(folder / "home", manifest))


def test_dag_loads_without_import_errors_or_tensorflow(parsed):
    _, result = parsed
    assert result["import_errors"] == {}
    assert result["heavy_modules"] == [], "the DAG file must not import TensorFlow or TFX"


def test_one_task_per_node_with_the_pipeline_dependencies(parsed):
    _, result = parsed
    tasks = result["dags"]["taxi_edge"]
    assert tasks == {node: sorted(upstream) for node, upstream in UPSTREAM.items()}


def test_schedule_and_retries_come_from_the_manifest(parsed):
    _, result = parsed
    assert result["schedules"]["taxi_edge"] == "0 3 * * *"
    assert set(result["retries"]["taxi_edge"]) == {3}


def test_each_task_launches_its_node_in_the_pipeline_environment(parsed):
    manifest, result = parsed
    command = result["commands"]["taxi_edge"]["Trainer"]
    assert command.startswith("cd /opt/edge && exec '/opt/pipeline env/bin/python' -m pipeline launch-node ")
    assert f"--manifest {manifest} --node Trainer" in command
    assert '--run-id "$EDGE_PIPELINE_RUN_ID"' in command


def test_missing_manifest_is_an_import_error_that_names_the_fix(tmp_path):
    result = parse_dags(AIRFLOW2, airflow_env(tmp_path / "home", tmp_path / "missing.json"))
    assert result["dags"] == {}
    [error] = result["import_errors"].values()
    assert "no compiled pipeline" in error and "make airflow-compile" in error
