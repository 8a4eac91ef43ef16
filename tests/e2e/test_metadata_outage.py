"""The on-prem MLMD database goes away: tasks fail clearly, and the run continues once it is back.

Each Airflow task runs ``python -m pipeline launch-node`` (the command tested here, on a
real MariaDB on 127.0.0.1 that the test stops and starts by PID). Airflow's retry is
"run the same command again", which this test does by hand, so that the outage can be
timed exactly: once before a task starts, once while the Trainer is training.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.metadata import open_store
from pipeline.metadata.queries import run_executions
from pipeline.runners import airflow as airflow_runner
from tests.support import mariadb
from tests.support.sample import write_slice

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(mariadb.binaries_missing() is not None,
                                                  reason=str(mariadb.binaries_missing()))]

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "outage-run"
RUNNING, COMPLETE = 2, 3
# Enough steps that the Trainer is still training when the database is stopped.
TRAIN_STEPS = 1500


@pytest.fixture(scope="module")
def onprem(tmp_path_factory):
    base = tmp_path_factory.mktemp("outage")
    server = mariadb.MariaDb(base / "mariadb")
    server.start()
    env = {**server.env, "EDGE_PIPELINE_ROOT": str(base / "nfs"),
           "EDGE_DATA_DIR": str(write_slice(base / "data", 600)),
           "EDGE_AIRFLOW_SCHEDULE": "none", "EDGE_BEAM_MODE": "in_memory"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        manifest = base / "compiled" / "taxi-edge.json"
        done = subprocess.run([sys.executable, "-m", "pipeline", "compile", "--profile", "onprem", "--out",
                               str(manifest), "--train-steps", str(TRAIN_STEPS)],
                              cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        yield server, airflow_runner.read_manifest(manifest)
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def launch_command(manifest: airflow_runner.Manifest, node: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "launch-node", "--manifest", str(manifest.path),
            "--run-id", RUN_ID, "--node", node]


def node_order(manifest: airflow_runner.Manifest) -> list[str]:
    return [node["id"] for node in manifest.data["nodes"]]


def test_database_down_before_a_task_is_one_clear_error(onprem):
    server, manifest = onprem
    first = node_order(manifest)[0]
    server.stop()
    try:
        result = subprocess.run(launch_command(manifest, first), cwd=REPO, capture_output=True, text=True,
                                timeout=600)
    finally:
        server.start()
    assert result.returncode == 1
    assert f"metadata store unreachable (MySQL 127.0.0.1:{server.port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_executions(open_store(manifest.metadata), RUN_ID) == {}  # nothing recorded


def test_database_lost_mid_training_then_the_retry_completes_the_run(onprem):
    server, manifest = onprem
    order = node_order(manifest)
    for node in order[:order.index("Trainer")]:
        assert airflow_runner.launch(manifest, RUN_ID, node).state == "complete", node
    trainer = subprocess.Popen(launch_command(manifest, "Trainer"), cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600
        while (execution := run_executions(open_store(manifest.metadata), RUN_ID).get("Trainer")) is None \
                or execution.last_known_state != RUNNING:
            assert trainer.poll() is None and time.monotonic() < deadline, "the Trainer never ran"
            time.sleep(0.5)
        running_id = execution.id
        server.stop()
        output, _ = trainer.communicate(timeout=900)
    finally:
        if trainer.poll() is None:
            trainer.kill()
        server.start()
    assert trainer.returncode == 1
    assert f"Trainer: lost the metadata store (MySQL 127.0.0.1:{server.port}) while running" in output
    assert "Traceback" not in output

    retry = subprocess.run(launch_command(manifest, "Trainer"), cwd=REPO, capture_output=True, text=True,
                           timeout=900)
    assert retry.returncode == 0, retry.stderr[-3000:]
    for node in order[order.index("Trainer") + 1:]:
        assert airflow_runner.launch(manifest, RUN_ID, node).state in ("complete", "skipped"), node
    store = open_store(manifest.metadata)
    executions = run_executions(store, RUN_ID)
    assert executions["Trainer"].id == running_id  # the interrupted execution, finished
    assert {e.last_known_state for e in executions.values()} == {COMPLETE}
    assert len(store.get_artifacts_by_type("Model")) == 1
    serving = Path(os.environ["EDGE_PIPELINE_ROOT"]) / "serving"
    assert len([p for p in serving.iterdir() if p.name.isdigit()]) == 1
