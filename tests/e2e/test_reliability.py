"""Bad data never trains or ships a model; failures resume; the served model stays whole.

One good run first (a model is serving); then every kind of bad input and fault is
thrown at the same pipeline root, and each test checks the message, the exit, MLMD
(no new model) and the serving folder (byte-for-byte unchanged).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import REPO_ROOT, CsvSource, EvaluationConfig, TFLiteConfig
from pipeline.metadata import open_store
from pipeline.metadata.queries import run_executions, run_ids
from pipeline.report.summary import outputs_of
from pipeline.runners.local import runner as local
from tests.support import bad_data
from tests.support.sample import write_slice

pytestmark = pytest.mark.e2e

ROWS = 2000
STEPS = 100


def serving_snapshot(serving_root: str) -> dict[str, str]:
    """Every file under the serving folder with its content hash."""
    root = Path(serving_root)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def model_count(config) -> int:
    return len(open_store(config.metadata).get_artifacts_by_type("Model"))


def cli(*args: str, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "run", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=1200, **popen)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A pipeline root with one blessed, pushed model."""
    root = tmp_path_factory.mktemp("reliability")
    data = write_slice(root / "good", ROWS)
    config = profiles.local(root=root / "out", data=data).with_training(train_steps=STEPS)
    result = local.run(config)
    assert result.succeeded, result.error
    assert len([p for p in Path(config.serving_root).iterdir() if p.name.isdigit()]) == 1
    return config


@pytest.mark.parametrize("kind", sorted(bad_data.PREFLIGHT_KINDS))
def test_broken_files_are_refused_before_any_work(served, kind, tmp_path):
    make, expected = bad_data.PREFLIGHT_KINDS[kind]
    before_models, before_serving = model_count(served), serving_snapshot(served.serving_root)
    folder = make(tmp_path / kind)
    result = cli("--data", str(folder), "--root", str(Path(served.pipeline_root).parent),
                 "--train-steps", str(STEPS))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert model_count(served) == before_models
    assert serving_snapshot(served.serving_root) == before_serving


@pytest.mark.parametrize("kind", sorted(bad_data.GATE_KINDS))
def test_data_breaking_the_schema_closes_the_gate(served, kind, tmp_path):
    make, feature = bad_data.GATE_KINDS[kind]
    before_models, before_serving = model_count(served), serving_snapshot(served.serving_root)
    config = served.with_overrides(data=CsvSource(str(make(tmp_path / kind))))
    result = local.run(config)
    assert result.failed_node == "DataGate"
    message = str(result.error)
    assert "data gate closed" in message and feature in message and "Full report:" in message
    ran = {node.node_id for node in result.nodes}
    assert "Transform" not in ran and "Trainer" not in ran and "Pusher" not in ran
    assert model_count(served) == before_models
    assert serving_snapshot(served.serving_root) == before_serving


def baseline_count(config) -> int:
    return len(open_store(config.metadata).get_artifacts_by_type("Statistics"))


def test_the_first_run_records_the_drift_baseline(served):
    store = open_store(served.metadata)
    executions = run_executions(store, run_ids(store)[0])  # the fixture's run
    [report] = outputs_of(store, executions["DataGate"].id)["drift_report"]
    assert report.custom_properties["drift_checked"].int_value == 0  # nothing to compare with yet
    [baseline] = outputs_of(store, executions["DataBaselineRecorder"].id)["baseline"]
    assert (Path(baseline.uri) / "Split-train" / "FeatureStats.pb").is_file()


@pytest.mark.parametrize(("column", "factor"), [("fare", 1.3), ("trip_seconds", 1 / 60)])
def test_drifted_data_closes_the_gate(served, column, factor, tmp_path):
    """Legal values (the schema passes them), distributed unlike the last blessed model's data."""
    before_models, before_serving = model_count(served), serving_snapshot(served.serving_root)
    before_baselines = baseline_count(served)
    folder = bad_data.scaled_column(Path(served.data.path), column, factor)(tmp_path / column)
    result = local.run(served.with_overrides(data=CsvSource(str(folder))))
    assert result.failed_node == "DataGate"
    message = str(result.error)
    assert "drift finding(s) against the last blessed model's data, blocks the run" in message
    assert f"[train] {column}: Jensen-Shannon" in message and "Full report:" in message
    assert "anomal" not in message  # the schema itself is satisfied: this is drift only
    report = Path(message.split("Full report: ")[-1].strip()) / "drift.json"
    drifted = [m["feature"] for m in json.loads(report.read_text())["measurements"] if m["drifted"]]
    assert set(drifted) == {column}
    assert model_count(served) == before_models
    assert baseline_count(served) == before_baselines
    assert serving_snapshot(served.serving_root) == before_serving


def test_drift_in_warn_mode_is_recorded_and_the_run_goes_on(served, tmp_path):
    """Drift action "warn": the model trains; unblessed, it neither ships nor becomes the baseline."""
    before_serving, before_baselines = serving_snapshot(served.serving_root), baseline_count(served)
    folder = bad_data.scaled_column(Path(served.data.path), "fare", 1.3)(tmp_path / "fare")
    config = served.with_drift(action="warn").with_overrides(
        data=CsvSource(str(folder)), evaluation=EvaluationConfig(auc_floor=0.999))
    result = local.run(config)
    assert result.succeeded, result.error
    states = {node.node_id: node.state for node in result.nodes}
    assert states["Trainer"] == "complete" and states["DataBaselineRecorder"] == "skipped"
    store = open_store(served.metadata)
    executions = run_executions(store, result.run_id)
    [report] = outputs_of(store, executions["DataGate"].id)["drift_report"]
    assert report.custom_properties["drift_action"].string_value == "warn"
    assert report.custom_properties["drift_findings"].int_value >= 1
    [blessing] = outputs_of(store, executions["Evaluator"].id)["blessing"]
    assert blessing.custom_properties["blessed"].int_value == 0
    assert "DataBaselineRecorder" not in executions
    assert baseline_count(served) == before_baselines
    assert serving_snapshot(served.serving_root) == before_serving


def test_failed_push_leaves_the_previous_model_serving(served):
    """A read-only serving folder (immutable, even for root): the push fails cleanly."""
    before = serving_snapshot(served.serving_root)
    if subprocess.run(["chattr", "+i", served.serving_root], capture_output=True).returncode != 0:
        pytest.skip("this filesystem cannot make a folder immutable (chattr +i)")
    try:
        # A new model that is sure to be blessed, so that the Pusher really tries; the
        # edge bundle's push is switched off so that the Pusher is the one that fails.
        config = served.with_training(train_steps=STEPS + 20).with_overrides(
            evaluation=EvaluationConfig(auc_floor=0.5, max_auc_regression=1.0),
            tflite=TFLiteConfig(enabled=False))
        result = local.run(config)
    finally:
        subprocess.run(["chattr", "-i", served.serving_root], check=True)
    assert result.failed_node == "Pusher", result.error
    assert serving_snapshot(served.serving_root) == before
    assert not [p for p in Path(served.serving_root).iterdir() if p.name.startswith(".staging")]


def test_second_run_on_the_same_store_fails_clearly(served):
    root = str(Path(served.pipeline_root).parent)
    args = [sys.executable, "-m", "pipeline", "run", "--data", served.data.path, "--root", root,
            "--train-steps", str(STEPS), "--force"]
    first = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in first.stdout:
            if line.startswith("[1/"):
                break  # the first run holds the store now
        second = cli("--data", served.data.path, "--root", root, "--train-steps", str(STEPS), "--force")
        assert second.returncode == 3
        assert "another pipeline run (pid" in second.stderr and "metadata store" in second.stderr
    finally:
        first.stdout.read()
        assert first.wait(timeout=1200) == 0


def test_killed_trainer_resumes_from_cache(served):
    """SIGKILL the whole run while the Trainer works; the rerun reuses everything before it."""
    root = str(Path(served.pipeline_root).parent)
    args = ["--data", served.data.path, "--root", root, "--train-steps", str(STEPS + 40)]
    run = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", *args], cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        for line in run.stdout:
            if "] Trainer ..." in line:
                break
        else:
            pytest.fail("the run ended before the Trainer started")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    killed_run = run_ids(open_store(served.metadata))[-1]
    assert "Trainer" not in {
        node for node, e in run_executions(open_store(served.metadata), killed_run).items()
        if e.last_known_state == 3  # COMPLETE
    }
    resumed = cli(*args)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    store = open_store(served.metadata)
    executions = run_executions(store, run_ids(store)[-1])
    states = {node: e.last_known_state for node, e in executions.items()}
    for node in ("CsvExampleGen", "StatisticsGen", "ExampleValidator", "DataGate", "Transform"):
        assert states[node] == 5, (node, states)  # CACHED
    assert states["Trainer"] == 3  # trained again, to completion
