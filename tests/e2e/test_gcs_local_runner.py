"""The local runner with ``--root gs://...``: an on-prem team (or a laptop) keeping its outputs on GCS.

``python -m pipeline run --root gs://<bucket>/onprem --data gs://<bucket>/data`` runs in its own
process against the local GCS emulator (tests/support/gcs_emulator.py), as a person would run
it: pipeline outputs, serving and edge roots and the report on gs://, MLMD in a local SQLite
file (``PIPELINE_STATE_DIR``). Small slice, few steps: the full-size run is ``make run``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf
from tfx.dsl.io import fileio

from pipeline import profiles
from pipeline.components.publish import MARKER_FILE, complete_versions
from pipeline.config import REPO_ROOT, SqliteMetadata
from pipeline.metadata import facts, queries
from pipeline.metadata.read_only import open_read_only
from tests.support.sample import write_slice

pytestmark = pytest.mark.e2e

ROWS = 2000
TRAIN_STEPS = 60
BUCKET = "taxi-edge-onprem"


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)


@pytest.fixture(scope="module")
def onprem_run(gcs, tmp_path_factory):
    local = tmp_path_factory.mktemp("gcs-local")
    bucket = gcs.create_bucket(BUCKET)
    fileio.makedirs(f"{bucket}/data")
    fileio.copy(str(write_slice(local / "slice", ROWS) / "data.csv"), f"{bucket}/data/data.csv")
    folders = {name: local / name for name in ("cwd", "tmp", "state")}
    for folder in folders.values():
        folder.mkdir()
    env = {**os.environ, "TMPDIR": str(folders["tmp"]), profiles.STATE_DIR_ENV: str(folders["state"]),
           "PYTHONPATH": str(REPO_ROOT)}
    root = f"{bucket}/onprem"
    started = time.monotonic()
    done = _cli("run", "--root", root, "--data", f"{bucket}/data", "--train-steps", str(TRAIN_STEPS),
                cwd=folders["cwd"], env=env)
    seconds = time.monotonic() - started
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-5000:])
    print(f"local runner on gs:// ({ROWS} rows, {TRAIN_STEPS} steps): {seconds:.0f} s")
    config = profiles.local(root=root, data=f"{bucket}/data", state=folders["state"])
    store = open_read_only(config.metadata)
    [run_id] = queries.run_ids(store)
    return config, store, facts.read_run(store, run_id), done.stdout, folders, env


def test_outputs_serving_and_report_are_on_gs_and_mlmd_is_local(onprem_run):
    config, _, run, stdout, folders, _ = onprem_run
    assert config.metadata == SqliteMetadata(str(folders["state"] / "metadata.sqlite"))
    assert all(n.execution.last_known_state == n.execution.COMPLETE for n in run.nodes.values()), \
        {k: n.execution.last_known_state for k, n in run.nodes.items()}
    for node in run.nodes.values():
        for artifacts in node.outputs.values():
            assert all(a.uri.startswith(f"gs://{BUCKET}/onprem/pipeline/") for a in artifacts), node.node_id
    [report] = [line.split("report: ", 1)[1] for line in stdout.splitlines() if "report: gs://" in line]
    assert report.startswith(f"gs://{BUCKET}/onprem/reports/") and fileio.exists(report)
    # On gs:// a local file API does not fail: it writes a local folder named "gs:" and "succeeds".
    assert not (REPO_ROOT / "gs:").exists()
    for folder in folders.values():
        assert not list(folder.rglob("gs:*")), folder


def test_examples_read_from_gs_and_the_model_trained_blessed_and_pushed_to_gs(onprem_run):
    config, _, run, *_ = onprem_run
    assert run.data.input_base == f"gs://{BUCKET}/data" and run.data.input_fingerprint
    [examples] = run.examples
    counted = sum(1 for split in ("train", "eval")
                  for _ in tf.data.TFRecordDataset(fileio.glob(f"{examples.uri}/Split-{split}/*.gz"), "GZIP"))
    assert counted == ROWS
    assert run.training.train_steps == TRAIN_STEPS
    [model] = run.model
    assert "serving_default" in tf.saved_model.load(f"{model.uri}/Format-Serving").signatures
    assert run.blessed and run.metrics.get("auc") is not None
    assert run.push.pushed and run.push.destination.startswith(config.serving_root + "/")
    assert complete_versions(config.serving_root) == [run.push.destination.rsplit("/", 1)[1]]
    with fileio.open(f"{run.push.destination}/{MARKER_FILE}", "r") as handle:
        assert json.loads(handle.read())["source_uri"] == model.uri
    if run.edge.status == "pushed":
        assert run.edge.push.destination.startswith(config.edge_root + "/")
        assert fileio.exists(f"{run.edge.push.destination}/model.tflite")
    else:  # a gate verdict is fine on a small run, but it must be recorded with its reason
        assert run.edge.reason


def test_trace_with_the_gs_root_reads_the_local_store(onprem_run):
    config, _, run, _, folders, env = onprem_run
    done = _cli("trace", "--root", config.pipeline_root.rsplit("/", 1)[0], run.push.destination, "--json",
                cwd=folders["cwd"], env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    trace = json.loads(done.stdout)
    assert trace["target"]["type"] == "PushedModel"
    assert [s["input_base"] for s in trace["data_sources"]] == [f"gs://{BUCKET}/data"]
    assert not list(folders["cwd"].rglob("gs:*"))
