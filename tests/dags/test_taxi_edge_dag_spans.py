"""The DAG with spanned data under real Airflow (2.10 and 3): logical date -> span, non-retryable failures.

The manifest's "python" is a stand-in script, so no pipeline runs: it records each
task's command line and exits like ``launch-node`` would (0; 6 for a closed data gate;
1 for a lost database). ``airflow dags test`` for one logical date then shows which
date each task was given, and that the gate's failure is not retried while the other
failure is.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from pipeline.cli.common import NO_RETRY_EXIT_CODES, ExitCode
from tests.support.airflow_env import AIRFLOW2, AIRFLOW3, airflow_env, migrate, parse_dags

NODES = {"CsvExampleGen": [], "DataGate": ["CsvExampleGen"], "Trainer": ["CsvExampleGen"]}
STAND_IN = """#!/bin/sh
echo "$@" >> {log}
case "$*" in
  *"--node DataGate"*) exit {gate} ;;
  *"--node Trainer"*) exit 1 ;;
esac
exit 0
"""


# Parse time is measured elsewhere (benchmarks/airflow_dag_parse.py); here a busy machine must not
# turn Airflow's 30 s DAG import limit into a failure.
SLOW_MACHINE = {"AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300"}


def _deployment(folder, layout="date"):
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "python"
    script.write_text(STAND_IN.format(log=folder / "calls.log", gate=int(ExitCode.GATE_CLOSED)))
    script.chmod(0o755)
    manifest = folder / "taxi-edge.json"
    manifest.write_text(json.dumps({
        "format": 1, "pipeline_name": "taxi-edge", "profile": "onprem", "ir": "taxi-edge.pb",
        "ir_sha256": "0" * 64, "python": str(script), "workdir": str(folder),
        "metadata": {"kind": "sqlite", "path": str(folder / "m.sqlite")},
        "airflow": {"dag_id": "taxi_edge", "schedule": "@daily", "retries": 1, "retry_delay_seconds": 1,
                    "max_active_runs": 1, "catchup": False},
        "no_retry_exit_codes": sorted(int(c) for c in NO_RETRY_EXIT_CODES),
        "data": {"kind": "csv", "path": str(folder / "data"), "layout": layout,
                 "example_gen": "CsvExampleGen"},
        "nodes": [{"id": node, "upstream": upstream} for node, upstream in NODES.items()],
    }))
    return manifest


def test_a_spanned_pipeline_passes_the_run_date_to_every_task_and_a_flat_one_does_not(tmp_path):
    spanned = parse_dags(AIRFLOW2, airflow_env(tmp_path / "h1", _deployment(tmp_path / "spanned"),
                                               SLOW_MACHINE))
    flat = parse_dags(AIRFLOW2, airflow_env(tmp_path / "h2", _deployment(tmp_path / "flat", "single"),
                                            SLOW_MACHINE))
    assert spanned["import_errors"] == {} and flat["import_errors"] == {}
    assert '--date "$EDGE_SPAN_DATE"' in spanned["commands"]["taxi_edge"]["CsvExampleGen"]
    assert "--date" not in flat["commands"]["taxi_edge"]["CsvExampleGen"]


@pytest.mark.parametrize("airflow", [AIRFLOW2, AIRFLOW3], ids=["airflow2", "airflow3"])
def test_the_logical_date_is_the_span_and_a_closed_gate_is_not_retried(tmp_path, airflow):
    assert airflow.is_file(), f"{airflow} missing: run `make airflow3`"
    manifest = _deployment(tmp_path / "deploy")
    env = airflow_env(tmp_path / "home", manifest, SLOW_MACHINE)
    migrate(airflow, env)
    subprocess.run([str(airflow), "dags", "test", "taxi_edge", "2024-01-05"], env=env, capture_output=True,
                   text=True, timeout=600)
    calls = (tmp_path / "deploy" / "calls.log").read_text().splitlines()
    example_gen = [c for c in calls if "--node CsvExampleGen" in c]
    assert example_gen and all(c.endswith("--date 2024-01-05") for c in example_gen), calls
    with sqlite3.connect(tmp_path / "home" / "airflow.db") as db:
        tries = {task: (state, number) for task, state, number in
                 db.execute("SELECT task_id, state, try_number FROM task_instance")}
    gate_calls = [c for c in calls if "--node DataGate" in c]
    trainer_calls = [c for c in calls if "--node Trainer" in c]
    assert tries["DataGate"][0] == "failed" and len(gate_calls) == 1, (tries, calls)
    # The stand-in's exit code 1 (as for a lost database) is retried: once more, or waiting for it.
    assert len(trainer_calls) == 2 or tries["Trainer"][0] == "up_for_retry", (tries, calls)
