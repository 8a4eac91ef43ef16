"""The DAG file under a real Airflow 2.10: loads fast, mirrors the compiled pipeline, imports no TFX.

The manifest is the real pipeline's, compiled here as ``python -m pipeline compile``
does (``compile_to``), so the DAG's shape is checked against what the pipeline really
is; ``tests/e2e/test_airflow_onprem.py`` runs such a manifest end to end.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from pipeline import profiles
from pipeline.cli.common import NO_RETRY_EXIT_CODES, ExitCode
from pipeline.runners import airflow as airflow_runner
from tests.support.airflow_env import AIRFLOW2, DAGS_FOLDER, airflow_env, parse_dags


def _manifest(folder, schedule="@daily", retries=3):
    config = profiles.onprem(env={"EDGE_PIPELINE_ROOT": str(folder / "nfs"), "MLMD_MYSQL_HOST": "db",
                                  "EDGE_AIRFLOW_SCHEDULE": schedule, "EDGE_AIRFLOW_RETRIES": str(retries)})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLMD_MYSQL_PASSWORD", "secret")
        manifest = airflow_runner.compile_to(config, folder / "taxi-edge.json",
                                             python="/opt/pipeline env/bin/python", workdir=folder / "edge")
    return manifest.path, {node["id"]: node["upstream"] for node in manifest.data["nodes"]}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("airflow")
    manifest, upstream = _manifest(folder, schedule="0 3 * * *")
    return manifest, upstream, parse_dags(AIRFLOW2, airflow_env(folder / "home", manifest))


def test_dag_loads_without_import_errors_or_tensorflow(parsed):
    *_, result = parsed
    assert result["import_errors"] == {}
    assert result["heavy_modules"] == [], "the DAG file must not import TensorFlow or TFX"


def test_one_task_per_node_with_the_pipeline_dependencies(parsed):
    _, upstream, result = parsed
    tasks = result["dags"]["taxi_edge"]
    assert tasks == {node: sorted(up) for node, up in upstream.items()}
    # The real pipeline, not a sketch of it: the gate, the converter, the baseline choice.
    assert {"DataGate", "TFLiteConverter", "DataBaselineRecorder"} <= set(tasks)
    assert "Trainer" in tasks["latest_blessed_model_resolver"]


def test_schedule_and_retries_come_from_the_manifest(parsed):
    *_, result = parsed
    assert result["schedules"]["taxi_edge"] == "0 3 * * *"
    assert set(result["retries"]["taxi_edge"]) == {3}


def test_each_task_launches_its_node_in_the_pipeline_environment(parsed):
    manifest, _, result = parsed
    command = result["commands"]["taxi_edge"]["Trainer"]
    workdir = manifest.parent / "edge"
    assert command.startswith(f"cd {workdir} && exec '/opt/pipeline env/bin/python' -m pipeline launch-node ")
    assert f"--manifest {manifest} --node Trainer" in command
    assert '--run-id "$EDGE_PIPELINE_RUN_ID"' in command


def test_missing_manifest_is_an_import_error_that_names_the_fix(tmp_path):
    result = parse_dags(AIRFLOW2, airflow_env(tmp_path / "home", tmp_path / "missing.json"))
    assert result["dags"] == {}
    [error] = result["import_errors"].values()
    assert "no compiled pipeline" in error and "make airflow-compile" in error


# Runs one task's operator in the Airflow environment with a given exit code and
# reports the exception class Airflow would see (AirflowFailException: no retries).
RUN_TASK_SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("taxi_edge_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
task = module.dag.get_task("Trainer")
outcomes = {}
for code in map(int, sys.argv[2:]):
    probe = type(task)(task_id=f"probe_{code}", bash_command=f"exit {code}",
                       no_retry_exit_codes=module.read_manifest(module.MANIFEST_PATH)["no_retry_exit_codes"])
    try:
        probe.execute({})
        outcomes[code] = "ok"
    except Exception as error:
        outcomes[code] = type(error).__name__
print(json.dumps(outcomes))
"""


def test_exit_codes_a_retry_cannot_fix_fail_the_task_without_retries(parsed):
    manifest, *_ = parsed
    assert json.loads(manifest.read_text())["no_retry_exit_codes"] == sorted(NO_RETRY_EXIT_CODES)
    codes = [ExitCode.OK, ExitCode.FAILED, ExitCode.METADATA_UNAVAILABLE, ExitCode.BAD_INPUT,
             ExitCode.METADATA_MISCONFIGURED, ExitCode.GATE_CLOSED, ExitCode.NO_DATA]
    env = airflow_env(manifest.parent / "home", manifest)
    done = subprocess.run([str(AIRFLOW2.parent / "python"), "-c", RUN_TASK_SCRIPT,
                           str(DAGS_FOLDER / "taxi_edge.py"), *map(str, map(int, codes))],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcomes == {"0": "ok", "1": "AirflowException", "4": "AirflowException",
                        "2": "AirflowFailException", "5": "AirflowFailException",
                        "6": "AirflowFailException", "7": "AirflowFailException"}
