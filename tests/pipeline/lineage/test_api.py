"""The lineage API on small real MLMD stores written with TFX's layout."""

from __future__ import annotations

import pytest

from pipeline.config import SqliteMetadata
from pipeline.lineage import text
from pipeline.lineage.api import Lineage
from pipeline.metadata import queries as q
from pipeline.metadata.read_only import LineageError, open_read_only
from tests.support.mlmd_builder import StoreBuilder, two_run_store


@pytest.fixture
def store(tmp_path):
    ids = two_run_store(tmp_path / "metadata.sqlite")
    return Lineage(open_read_only(SqliteMetadata(str(tmp_path / "metadata.sqlite")))), ids


def test_the_real_producer_is_the_complete_execution_not_the_cache_hit(store):
    lineage, ids = store
    producers = q.producers(lineage.store, ids["examples"])
    assert [p.id for p in producers] == [ids["gen"], ids["cached_gen"]]
    assert lineage.artifact_info(lineage.artifact(ids["examples"])).producer_execution_id == ids["gen"]


def test_trace_from_the_serving_folder_reaches_the_data_once(store):
    lineage, ids = store
    trace = lineage.trace("/srv/serving/17/variables/variables.index")
    assert trace.target.id == ids["pushed"] and trace.matched_by == "pushed_destination"
    assert [s["input_base"] for s in trace.data_sources] == ["/data/taxi"]
    assert [s.node_id for s in trace.steps] == ["CsvExampleGen", "ImportSchemaGen", "Trainer", "Evaluator",
                                                "Pusher"]
    assert all(s.state == "complete" for s in trace.steps)
    trainer = next(s for s in trace.steps if s.node_id == "Trainer")
    assert trainer.reused_by_runs == [ids["runs"][1]]
    assert trace.trainers[0]["hyperparameters"] == {"learning_rate": 0.003}
    assert trace.model == ids["model"]
    assert [p["artifact_id"] for p in trace.pushes] == [ids["pushed"]]
    # The rerun's Evaluator read the model as candidate and as baseline, in one event.
    assert [(e["blessing_artifact_id"], e["baseline_model_ids"]) for e in trace.evaluations] == [
        (ids["blessing"], []), (ids["blessing2"], [ids["model"]])]


def test_the_closest_recorded_location_wins(store):
    lineage, ids = store
    assert lineage.resolve_artifact("/out/Trainer/model/3/model.tflite")[0].id == ids["model"]
    assert lineage.resolve_artifact(str(ids["schema"]))[0].id == ids["schema"]
    with pytest.raises(LineageError, match="no artifact in .* recorded at or above /out/Other"):
        lineage.resolve_artifact("/out/Other/x")


def test_runs_report_cached_components_and_unknown_runs_are_errors(store):
    lineage, ids = store
    first, second = lineage.runs()
    assert first.status == "complete" and first.cached == []
    assert set(second.cached) == {"CsvExampleGen", "Trainer"} and second.ran == ["Evaluator"]
    assert lineage.resolve_run("latest") == ids["runs"][1]
    assert lineage.resolve_run("2026-01-01T10") == ids["runs"][0]
    with pytest.raises(LineageError, match="ambiguous"):
        lineage.resolve_run("2026-01-01")
    with pytest.raises(LineageError, match="no pipeline run 'nope'"):
        lineage.resolve_run("nope")


def test_a_store_without_runs_is_an_error(tmp_path):
    StoreBuilder(tmp_path / "empty.sqlite")
    lineage = Lineage(open_read_only(SqliteMetadata(str(tmp_path / "empty.sqlite"))))
    with pytest.raises(LineageError, match="no pipeline runs recorded"):
        lineage.runs()


def test_diff_of_a_cached_rerun_reads_the_original_executions_facts(store):
    lineage, ids = store
    diff = lineage.diff(*ids["runs"])
    changed = {row.key for row in diff.changed}
    assert not any(key.startswith(("data.", "hyperparameters.", "model.")) for key in changed), changed
    facts = {row.key: row.b for row in diff.rows}
    assert facts["data.input_fingerprint"] == "files:1"
    assert facts["hyperparameters.train_steps"] == 150
    assert facts["state.CsvExampleGen"] == "cached"


def test_trace_from_a_pushed_student_bundle_names_the_teacher_model(tmp_path):
    ids = two_run_store(tmp_path / "metadata.sqlite")
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    tflite = builder.artifact(
        "pipeline.TFLiteModels", "/out/TFLiteConverter/tflite_models/10", status="pushed", reason="ok",
        chosen_variant="student_dynamic_range", chosen_technique="student",
        student_teacher_model_id=ids["model"], student_teacher_model_uri="/out/Trainer/model/3", pushed=1,
        pushed_destination="/srv/serving/edge/1")
    builder.execution(ids["runs"][0], "TFLiteConverter", {"model": [ids["model"]]},
                      {"tflite_models": [tflite]})
    lineage = Lineage(open_read_only(SqliteMetadata(str(tmp_path / "metadata.sqlite"))))
    trace = lineage.trace("/out/TFLiteConverter/tflite_models/10/student/saved_model.pb")
    assert trace.target.id == tflite and trace.model == ids["model"]
    assert trace.edge_bundles == [{
        "artifact_id": tflite, "status": "pushed", "variant": "student_dynamic_range", "technique": "student",
        "teacher_model_id": ids["model"], "destination": "/srv/serving/edge/1", "run_id": ids["runs"][0]}]
    assert (f"pushed student_dynamic_range (a student distilled from model #{ids['model']}) to "
            f"/srv/serving/edge/1") in text.format_trace(trace)
