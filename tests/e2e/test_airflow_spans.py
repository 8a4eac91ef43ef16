"""Airflow 3 over logical dates, with the real pipeline: each date's ExampleGen ingests that day's folder.

Three daily folders (``YYYY-MM-DD/``, 200 rows each); the pipeline compiled with the
``local`` profile (SQLite MLMD); Airflow 3 in its own environment runs the DAG's
ExampleGen task (``airflow tasks test``, a real ``launch-node`` in this project's
``.venv``) once per logical date. MLMD then holds one Examples artifact per day, each
with its own span; a date without a folder fails with the folder's name and exit code 7,
which the DAG marks as not retryable. The whole DAG's retry behaviour per exit code and
the logical date reaching every task are in tests/dags/test_taxi_edge_dag_spans.py; the
training window and drift over spans in test_continuous_training.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.daily_spans import write_daily_spans
from pipeline import spans
from pipeline.cli.common import ExitCode
from pipeline.config import REPO_ROOT, SqliteMetadata
from pipeline.metadata import open_store
from tests.support.airflow_env import AIRFLOW3, airflow_env, migrate

pytestmark = pytest.mark.e2e

# A busy machine must not turn Airflow's 30 s DAG import limit into a failure.
SLOW_MACHINE = {"AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300"}
MISSING_DATE = "2024-02-01"


def _task_test(env: dict[str, str], date: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(AIRFLOW3), "tasks", "test", "taxi_edge", "CsvExampleGen", date], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    assert AIRFLOW3.is_file(), f"{AIRFLOW3} missing: run `make airflow3`"
    base = tmp_path_factory.mktemp("airflow-spans")
    days = write_daily_spans(base / "data", 3, rows_per_day=200, shift_from=None)
    manifest = base / "compiled" / "taxi-edge.json"
    compiled = subprocess.run([sys.executable, "-m", "pipeline", "compile", "--profile", "local",
                               "--root", str(base / "out"), "--data", str(base / "data"),
                               "--out", str(manifest), "--train-steps", "10"],
                              cwd=REPO_ROOT, capture_output=True, text=True, env=dict(os.environ))
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    env = airflow_env(base / "home", manifest, SLOW_MACHINE)
    migrate(AIRFLOW3, env)
    by_date = {day.date.isoformat(): _task_test(env, day.date.isoformat()) for day in days}
    missing = _task_test(env, MISSING_DATE)
    return base, days, by_date, missing


def test_each_logical_date_ingests_its_own_days_folder(scheduled):
    base, days, by_date, _ = scheduled
    for date, done in by_date.items():
        assert done.returncode == 0, (date, done.stdout[-3000:])
        assert '--date "$EDGE_SPAN_DATE"' in done.stdout and "CsvExampleGen: complete" in done.stdout
    store = open_store(SqliteMetadata(path=str(base / "out" / "metadata.sqlite")))
    examples = store.get_artifacts_by_type("Examples")
    assert sorted(a.custom_properties["span"].int_value for a in examples) == \
        [spans.date_to_span(day.date) for day in days]


def test_a_date_without_data_fails_with_the_folder_name_and_a_non_retryable_code(scheduled):
    base, _, _, missing = scheduled
    log = missing.stdout + missing.stderr  # `tasks test` exits 0 either way: the task's outcome is logged
    assert f"error: CsvExampleGen: no data for {MISSING_DATE}" in log, log[-3000:]
    assert str(base / "data" / MISSING_DATE) in log
    assert f"return code {int(ExitCode.NO_DATA)}" in log
    # The DAG turns a no-retry exit code into AirflowFailException: Airflow does not retry it.
    assert "AirflowFailException" in log and "not retrying" in log
