"""The DAG under real Airflow (2.10 next to the pipeline, 3.x in its own environment), MLMD on MariaDB.

One deployment, as docs/airflow.md describes it: a MariaDB server on 127.0.0.1, the
pipeline compiled with the ``onprem`` profile (3,000-row slice, 100 train steps), a
temporary AIRFLOW_HOME per Airflow version. Airflow 2.10 runs the DAG while the test
kills the Trainer's task process mid-training; Airflow retries the task and the run
completes with exactly one execution per node in MLMD. Airflow 3 then runs the same
DAG file, whose tasks call this project's .venv; everything comes from the cache.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.config import MySqlMetadata
from pipeline.metadata import open_store
from pipeline.metadata.queries import run_executions, run_ids
from pipeline.report.summary import outputs_of
from tests.support import mariadb
from tests.support.airflow_env import AIRFLOW2, AIRFLOW3, airflow_env, migrate, parse_dags
from tests.support.sample import write_slice

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(mariadb.binaries_missing() is not None,
                                                  reason=str(mariadb.binaries_missing()))]

REPO = Path(__file__).resolve().parents[2]
NODES = {"CsvExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator", "DataGate", "Transform",
         "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher", "TFLiteConverter",
         "latest_data_baseline_resolver", "DataBaselineRecorder"}
COMPLETE, CACHED, RUNNING = 3, 5, 2


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """MariaDB + the compiled pipeline; yields the environment every Airflow command gets."""
    base = tmp_path_factory.mktemp("onprem")
    server = mariadb.MariaDb(base / "mariadb")
    server.start()
    try:
        # The workers read the password from a mounted secret file, as on-prem deployments do.
        secret = base / "secrets" / "mlmd-password"
        secret.parent.mkdir()
        secret.write_text(mariadb.PASSWORD + "\n")
        env = {k: v for k, v in server.env.items() if k != "MLMD_MYSQL_PASSWORD"}
        env.update({"MLMD_MYSQL_PASSWORD_FILE": str(secret), "EDGE_PIPELINE_ROOT": str(base / "nfs"),
                    "EDGE_DATA_DIR": str(write_slice(base / "data", 3000)),
                    "EDGE_AIRFLOW_RETRY_DELAY": "1", "EDGE_AIRFLOW_SCHEDULE": "none",
                    # A 3,000-row slice: in-process Beam beats one TF-importing worker per core.
                    "EDGE_BEAM_MODE": "in_memory"})
        manifest = base / "compiled" / "taxi-edge.json"
        done = subprocess.run([sys.executable, "-m", "pipeline", "compile", "--profile", "onprem",
                               "--out", str(manifest), "--train-steps", "100"],
                              env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        assert mariadb.PASSWORD not in manifest.read_text()
        yield base, env, manifest, server
    finally:
        server.stop()


def _store(server: mariadb.MariaDb):
    return open_store(MySqlMetadata(host="127.0.0.1", port=server.port, database=mariadb.DATABASE,
                                    user=mariadb.USER, password_file=str(server.folder.parent / "secrets" /
                                                                         "mlmd-password")))


def _node_executions(store, node: str) -> list:
    """Every execution of a pipeline node, across runs (TFX names types by class path)."""
    context = store.get_context_by_type_and_name("node", f"taxi-edge.{node}")
    return store.get_executions_by_context(context.id) if context else []


def _launch_processes(node: str, manifest: Path) -> list[int]:
    """PIDs of this deployment's running ``launch-node --node <node>`` task processes.

    Matching the manifest path keeps other tests' launches (run in parallel) out.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = any(str(manifest.parent).encode() in arg for arg in argv)
        if b"launch-node" in argv and node.encode() in argv and ours:
            pids.append(int(entry.name))
    return pids


class TrainerKiller(threading.Thread):
    """Kills the Trainer task's process once MLMD shows the Trainer running (once)."""

    def __init__(self, server: mariadb.MariaDb, manifest: Path) -> None:
        super().__init__(daemon=True)
        self.server, self.manifest, self.killed, self.stop = server, manifest, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            time.sleep(1)
            pids = _launch_processes("Trainer", self.manifest)
            try:
                running = [e for e in _node_executions(_store(self.server), "Trainer")
                           if e.last_known_state == RUNNING]
            except Exception:  # noqa: BLE001 - the schema may not exist yet
                continue
            if pids and running:
                time.sleep(3)  # well inside the executor: training has started
                for pid in _launch_processes("Trainer", self.manifest):
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
                return


def _dags_test(airflow_bin: Path, env: dict[str, str], date: str, log: Path) -> int:
    with log.open("w") as out:
        return subprocess.run([str(airflow_bin), "dags", "test", "taxi_edge", date], env=env, cwd=REPO,
                              stdout=out, stderr=subprocess.STDOUT, timeout=3600).returncode


def _task_instances(home: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(home / "airflow.db") as db:
        return {task: (state, tries) for task, state, tries in
                db.execute("SELECT task_id, state, try_number FROM task_instance")}


@pytest.fixture(scope="module")
def airflow2_run(deployment):
    base, env, manifest, server = deployment
    home = base / "airflow2"
    environment = airflow_env(home, manifest, env)
    migrate(AIRFLOW2, environment)
    killer = TrainerKiller(server, manifest)
    killer.start()
    code = _dags_test(AIRFLOW2, environment, "2024-06-01", base / "airflow2.log")
    killer.stop.set()
    return code, killer.killed, home, environment


def test_airflow2_loads_the_compiled_dag(deployment):
    base, env, manifest, _ = deployment
    parsed = parse_dags(AIRFLOW2, airflow_env(base / "parse2", manifest, env))
    assert parsed["import_errors"] == {}
    assert set(parsed["dags"]["taxi_edge"]) == NODES
    assert parsed["heavy_modules"] == []


def test_airflow2_run_completes_after_the_trainer_is_killed_and_retried(airflow2_run, deployment):
    code, killed, home, _ = airflow2_run
    base = deployment[0]
    assert code == 0, (base / "airflow2.log").read_text()[-5000:]
    assert len(killed) == 1, "the Trainer task was not killed mid-run"
    tasks = _task_instances(home)
    assert set(tasks) == NODES
    assert {state for state, _ in tasks.values()} == {"success"}
    assert tasks["Trainer"][1] == 2, "the killed Trainer should succeed on its second try"
    assert tasks["Transform"][1] == 1


def test_one_airflow_run_is_one_pipeline_run_with_one_execution_per_node(airflow2_run, deployment):
    server = deployment[3]
    store = _store(server)
    [run_id] = run_ids(store)
    assert run_id.startswith("taxi_edge__manual__2024-06-01")
    executions = run_executions(store, run_id)
    assert set(executions) == NODES
    assert {e.last_known_state for e in executions.values()} == {COMPLETE}
    # The retried Trainer continued the run's execution: nothing duplicated.
    assert len(_node_executions(store, "Trainer")) == 1
    assert len(store.get_artifacts_by_type("Model")) == 1
    [blessing] = outputs_of(store, executions["Evaluator"].id)["blessing"]
    assert blessing.custom_properties["blessed"].int_value == 1
    [pushed] = outputs_of(store, executions["Pusher"].id)["pushed_model"]
    assert pushed.custom_properties["pushed"].int_value == 1
    serving = Path(deployment[1]["EDGE_PIPELINE_ROOT"], "serving")
    assert len([p for p in serving.iterdir() if p.name.isdigit()]) == 1  # beside it: edge/


def test_relaunching_a_finished_node_in_the_same_run_redoes_nothing(airflow2_run, deployment):
    _, env, manifest, server = deployment
    store = _store(server)
    [run_id] = run_ids(store)
    done = subprocess.run([sys.executable, "-m", "pipeline", "launch-node", "--manifest", str(manifest),
                           "--run-id", run_id, "--node", "Trainer"], env={**os.environ, **env}, cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Trainer: complete" in done.stdout
    assert len(_node_executions(store, "Trainer")) == 1
    assert len(store.get_artifacts_by_type("Model")) == 1


@pytest.mark.skipif(not AIRFLOW3.exists(), reason="no Airflow 3 environment (run `make airflow3`)")
def test_airflow3_runs_the_same_dag_in_its_own_environment(airflow2_run, deployment):
    base, env, manifest, server = deployment
    home = base / "airflow3"
    environment = airflow_env(home, manifest, env)
    parsed = parse_dags(AIRFLOW3, environment)
    assert parsed["import_errors"] == {}
    assert set(parsed["dags"]["taxi_edge"]) == NODES
    migrate(AIRFLOW3, environment)
    earlier_runs = set(run_ids(_store(server)))
    code = _dags_test(AIRFLOW3, environment, "2024-06-02", base / "airflow3.log")
    assert code == 0, (base / "airflow3.log").read_text()[-5000:]
    store = _store(server)
    # Airflow 3 names manual runs after the time they were created, not the logical date.
    [run_id] = set(run_ids(store)) - earlier_runs
    assert run_id.startswith("taxi_edge__manual__")
    executions = run_executions(store, run_id)
    assert set(executions) == NODES
    states = {node: e.last_known_state for node, e in executions.items()}
    assert all(state in (COMPLETE, CACHED) for state in states.values()), states
    assert states["Trainer"] == CACHED
    assert len(store.get_artifacts_by_type("Model")) == 1
