"""A throwaway Airflow installation for tests: temporary AIRFLOW_HOME, SQLite for Airflow's own DB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import REPO_ROOT

DAGS_FOLDER = REPO_ROOT / "dags"
AIRFLOW2 = Path(sys.executable).parent / "airflow"
AIRFLOW3 = REPO_ROOT / ".tools" / "airflow3" / "bin" / "airflow"

# Run inside the Airflow environment's interpreter: load the DAG folder, report what
# the scheduler would see and whether TensorFlow/TFX were imported.
PARSE_SCRIPT = """
import inspect, json, sys, time
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 2
options = {"include_examples": False} if "include_examples" in inspect.signature(DagBag).parameters else {}
bag = DagBag(dag_folder=sys.argv[1], **options)
dags = {dag_id: {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}
        for dag_id, dag in bag.dags.items()}
print(json.dumps({
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": dags,
    "schedules": {dag_id: str(getattr(dag.timetable, "summary", None)
                              or getattr(dag.timetable, "expression", None))
                  for dag_id, dag in bag.dags.items()},
    "retries": {dag_id: [t.retries for t in dag.tasks] for dag_id, dag in bag.dags.items()},
    "commands": {dag_id: {t.task_id: t.bash_command for t in dag.tasks} for dag_id, dag in bag.dags.items()},
    "parse_seconds": sum(s.duration.total_seconds() if hasattr(s.duration, "total_seconds")
                         else float(s.duration) for s in bag.dagbag_stats),
    "heavy_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tfx")),
}))
"""


def airflow_env(home: Path, manifest: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for an ``airflow`` command with its own home and our DAG folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "EDGE_AIRFLOW_MANIFEST": str(manifest),
        "PYTHONWARNINGS": "ignore",
    })
    env.update(extra or {})
    return env


def parse_dags(airflow_bin: Path, env: dict[str, str]) -> dict:
    """DagBag of the DAG folder, loaded in a fresh interpreter of that Airflow environment."""
    python = airflow_bin.parent / "python"
    done = subprocess.run([str(python), "-c", PARSE_SCRIPT, str(DAGS_FOLDER)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def migrate(airflow_bin: Path, env: dict[str, str]) -> None:
    """``airflow db migrate`` into the temporary home's SQLite database."""
    done = subprocess.run([str(airflow_bin), "db", "migrate"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
