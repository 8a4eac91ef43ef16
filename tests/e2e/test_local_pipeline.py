"""The whole pipeline with the local runner on a small real slice, twice.

Asserts on what MLMD recorded (as TFX's own e2e tests do): every execution complete,
the expected artifacts, a blessing, a pushed model; then an unchanged rerun in which
every component comes from the cache and nothing is pushed again; then new data.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2

from pipeline.metadata import open_store
from pipeline.metadata.queries import outputs_of, run_executions
from pipeline.runners.local import runner as local
from tests.e2e.conftest import cli_run
from tests.support.mlmd_props import recorded
from tests.support.sample import read_sample_rows, write_slice

pytestmark = pytest.mark.e2e

ROWS = 3000
ALL_NODES = {
    "CsvExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator", "DataGate", "Transform",
    "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher", "TFLiteConverter",
    "latest_data_baseline_resolver", "DataBaselineRecorder",
}


@pytest.fixture(scope="module")
def two_runs(small_run):
    """Run 1 through the CLI as a user types it (shared); run 2 in-process through TFX's cache."""
    first = local.RunResult(run_id=small_run.run_id)
    second = local.run(small_run.config)
    return small_run.config, first, second, small_run.cli


@pytest.fixture(scope="module")
def third_run_on_new_data(two_runs, tmp_path_factory):
    """Run 3 on a different slice, same store: a new model, to be compared with run 1's."""
    config, *_ = two_runs
    data = write_slice(tmp_path_factory.mktemp("new-data"), ROWS + 200)
    changed = dataclasses.replace(config, data=dataclasses.replace(config.data, path=str(data)))
    return changed, local.run(changed.with_drift(action="warn"))


def test_cli_shows_progress_and_a_summary(two_runs):
    *_, cli = two_runs
    assert "[1/13]" in cli.stdout and "] Pusher: complete" in cli.stdout
    assert "] TFLiteConverter: complete" in cli.stdout
    assert "metrics (eval split): auc=" in cli.stdout
    assert "blessed: yes" in cli.stdout and "pushed model: " in cli.stdout
    assert "edge bundle: " in cli.stdout and "/serving/edge/" in cli.stdout


def test_cli_rerun_with_nothing_changed_answers_up_to_date(two_runs):
    config, *_ = two_runs
    again = cli_run(Path(config.data.path), Path(config.pipeline_root).parent)
    assert again.returncode == 0
    assert "Up to date" in again.stdout and "blessed: yes" in again.stdout


def _outputs(store, execution):
    return outputs_of(store, execution.id)


def test_first_run_completes_every_component(two_runs):
    config, first, *_ = two_runs
    executions = run_executions(open_store(config.metadata), first.run_id)
    assert set(executions) == ALL_NODES
    states = {node: e.last_known_state for node, e in executions.items()}
    assert all(state == 3 for state in states.values()), states  # 3 = COMPLETE


def test_first_run_records_the_expected_artifacts_and_a_blessing(two_runs):
    config, first, *_ = two_runs
    store = open_store(config.metadata)
    executions = run_executions(store, first.run_id)
    expected = {
        "CsvExampleGen": "examples", "StatisticsGen": "statistics", "ImportSchemaGen": "schema",
        "ExampleValidator": "anomalies", "Transform": "transform_graph", "Trainer": "model",
        "Evaluator": "evaluation",
    }
    for node, key in expected.items():
        [artifact] = _outputs(store, executions[node])[key]
        assert Path(artifact.uri).exists(), (node, artifact.uri)
    [blessing] = _outputs(store, executions["Evaluator"])["blessing"]
    assert recorded(blessing)["blessed"].int_value == 1
    [pushed] = _outputs(store, executions["Pusher"])["pushed_model"]
    assert recorded(pushed)["pushed"].int_value == 1
    destination = Path(recorded(pushed)["pushed_destination"].string_value)
    assert destination.parent == Path(config.serving_root)
    assert (destination / "saved_model.pb").is_file()


def test_pushed_model_serves_raw_examples(two_runs):
    config, *_ = two_runs
    [version] = [p for p in Path(config.serving_root).iterdir() if p.name.isdigit()]
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    header, rows = read_sample_rows()
    examples = []
    for row in rows[:5]:
        feature = {}
        for name, value in zip(header, row, strict=True):
            if name == "tips" or value == "":
                continue
            if name in ("payment_type", "company"):
                feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
            elif name in ("fare", "trip_miles") or "itude" in name:
                feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
            else:
                feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(float(value))]))
        examples.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    probabilities = serve(examples=tf.constant(examples))["outputs"].numpy()
    assert probabilities.shape == (5, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_unchanged_rerun_comes_from_cache_and_pushes_nothing_new(two_runs):
    config, _, second, _ = two_runs
    assert second.succeeded, second.error
    store = open_store(config.metadata)
    executions = run_executions(store, second.run_id)
    cached = {node for node, e in executions.items() if e.last_known_state == 5}  # 5 = CACHED
    # Every component: the baseline model is not the candidate, nor the data baseline a copy
    # of the run's own statistics, so the Evaluator and the DataGate see the first run's inputs.
    assert cached == ALL_NODES - {"latest_blessed_model_resolver", "latest_data_baseline_resolver"}
    assert len(store.get_artifacts_by_type("Model")) == 1, "the Trainer ran again"
    assert len(store.get_artifacts_by_type("ModelBlessing")) == 1, "the Evaluator ran again"
    assert len([p for p in Path(config.serving_root).iterdir() if p.name.isdigit()]) == 1, \
        "a duplicate was pushed"
    [pushed] = _outputs(store, executions["Pusher"])["pushed_model"]
    assert recorded(pushed)["pushed"].int_value == 1


def _input_ids(store, execution_id: int, key: str) -> list[int]:
    events = store.get_events_by_execution_ids([execution_id])
    return [e.artifact_id for e in events
            if e.type == metadata_store_pb2.Event.INPUT and e.path.steps[0].key == key]


def test_a_new_model_is_still_evaluated_against_the_last_blessed_one(two_runs, third_run_on_new_data):
    config, first, *_ = two_runs
    changed, third = third_run_on_new_data
    assert third.succeeded, third.error
    store = open_store(config.metadata)
    [first_model] = _outputs(store, run_executions(store, first.run_id)["Trainer"])["model"]
    executions = run_executions(store, third.run_id)
    assert executions["Trainer"].last_known_state == metadata_store_pb2.Execution.COMPLETE
    evaluator = executions["Evaluator"]
    assert evaluator.last_known_state == metadata_store_pb2.Execution.COMPLETE
    [candidate] = _input_ids(store, evaluator.id, "model")
    assert candidate != first_model.id
    assert _input_ids(store, evaluator.id, "baseline_model") == [first_model.id]


def _drift_report(store, run_id):
    [report] = _outputs(store, run_executions(store, run_id)["DataGate"])["drift_report"]
    return report


def test_first_run_records_a_drift_baseline_and_checks_no_drift(two_runs):
    config, first, *_ = two_runs
    store = open_store(config.metadata)
    assert recorded(_drift_report(store, first.run_id))["drift_checked"].int_value == 0
    [baseline] = _outputs(store, run_executions(store, first.run_id)["DataBaselineRecorder"])["baseline"]
    [statistics] = _outputs(store, run_executions(store, first.run_id)["StatisticsGen"])["statistics"]
    assert recorded(baseline)["statistics_uri"].string_value == statistics.uri


def test_rerun_on_the_same_data_is_not_checked_against_a_copy_of_itself(two_runs):
    config, first, second, _ = two_runs
    store = open_store(config.metadata)
    assert run_executions(store, second.run_id)["DataGate"].last_known_state == 5  # CACHED
    assert _drift_report(store, second.run_id).id == _drift_report(store, first.run_id).id


def test_new_data_is_checked_for_drift_against_the_blessed_runs_data(two_runs, third_run_on_new_data):
    config, first, *_ = two_runs
    _, third = third_run_on_new_data
    store = open_store(config.metadata)
    assert run_executions(store, third.run_id)["DataGate"].last_known_state == \
        metadata_store_pb2.Execution.COMPLETE
    [baseline] = _outputs(store, run_executions(store, first.run_id)["DataBaselineRecorder"])["baseline"]
    report = _drift_report(store, third.run_id)
    assert recorded(report)["drift_checked"].int_value == 1
    assert recorded(report)["baseline_uri"].string_value == baseline.uri
    drift = json.loads((Path(report.uri) / "drift.json").read_text())
    features = {m["feature"] for m in drift["measurements"]}
    assert features == {"fare", "trip_miles", "trip_seconds", "payment_type"}
