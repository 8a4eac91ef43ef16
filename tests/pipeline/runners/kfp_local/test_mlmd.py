"""The local KFP launcher records each run in MLMD as TFX's launcher does, so the lineage readers read it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2 as mlmd

from pipeline.config import SqliteMetadata
from pipeline.lineage.api import Lineage
from pipeline.metadata import facts
from pipeline.metadata import queries as q
from pipeline.metadata.read_only import open_read_only
from pipeline.runners import kfp_local as launcher
from pipeline.runners.kfp_local import mlmd as recording
from tests.pipeline.runners.kfp_local.test_driver import _spec


def _lineage(result: launcher.RunResult) -> Lineage:
    return Lineage(open_read_only(result.metadata))


def test_a_run_is_recorded_with_tfx_contexts_executions_and_events(tmp_path: Path):
    result = launcher.run_pipeline(_spec(tmp_path, hook=True), tmp_path / "root", run_id="r1")
    assert result.metadata == SqliteMetadata(str(tmp_path / "root" / launcher.METADATA_NAME))
    lineage = _lineage(result)
    run = lineage.run("latest")
    assert (run.run_id, run.pipeline, run.status) == ("r1", "toy", "complete")
    assert [c.node_id for c in run.components] == ["make", "use"]
    executions = q.run_executions(lineage.store, "r1")
    contexts = {(c.type, c.name) for c in lineage.store.get_contexts_by_execution(executions["make"].id)}
    assert contexts == {("pipeline", "toy"), ("pipeline_run", "r1"), ("node", "toy.make")}
    # exec properties: the spec's parameters (integers as ints) and what the driver hook added
    properties = facts.execution_properties(executions["make"])
    assert (properties["n"], properties["span"], properties["input_fingerprint"]) == (7, 2, "f")
    [made] = q.outputs_of(lineage.store, executions["make"].id)["data"]
    assert (made.uri, made.type, made.name) == (result.artifact("make", "data")["uri"], "system.Dataset",
                                                 result.artifact("make", "data")["name"])
    assert made.state == mlmd.Artifact.LIVE
    assert q.property_value(made, "rows") == 3 and q.property_value(made, "hook") == "ran"
    [read] = q.artifacts_by_key(lineage.store, executions["use"].id, q.INPUT_EVENTS)["data"]
    assert read.id == made.id


def test_trace_of_an_output_walks_back_through_the_recorded_tasks(tmp_path: Path):
    result = launcher.run_pipeline(_spec(tmp_path), tmp_path / "root", run_id="r1")
    trace = _lineage(result).trace(result.artifact("use", "result")["uri"] + "/content.json")
    assert trace.matched_by == "artifact uri"
    assert [(s.node_id, s.run_id, s.state) for s in trace.steps] == [("make", "r1", "complete"),
                                                                      ("use", "r1", "complete")]


def test_a_failed_task_is_recorded_failed_and_publishes_nothing(tmp_path: Path):
    with pytest.raises(launcher.TaskFailed):
        launcher.run_pipeline(_spec(tmp_path, fail=True), tmp_path / "root", run_id="r1")
    store = open_read_only(SqliteMetadata(str(tmp_path / "root" / launcher.METADATA_NAME)))
    run = facts.run_info(store, "r1")
    assert run.status == "failed"
    assert {c.node_id: c.state for c in run.components} == {"make": "complete", "use": "failed"}
    assert q.outputs_of(store, q.run_executions(store, "r1")["use"].id) == {}


def test_runs_accumulate_in_one_store_given_by_the_caller(tmp_path: Path):
    metadata = SqliteMetadata(str(tmp_path / "shared" / "mlmd.sqlite"))
    for run_id in ("r1", "r2"):
        launcher.run_pipeline(_spec(tmp_path), tmp_path / "root", run_id=run_id, metadata=metadata)
    assert not (tmp_path / "root" / launcher.METADATA_NAME).exists()
    assert Lineage(open_read_only(metadata)).run_ids() == ["r1", "r2"]


def test_metadata_values_are_typed_as_tfx_types_them():
    examples = {"instanceSchema": "title: tfx.Examples\ntype: object\nproperties:\n"
                                  "  span:\n    type: integer\n  split_names:\n    type: string\n"}
    assert recording.type_name(recording.type_title(examples)) == "Examples"
    assert recording.type_name(recording.type_title({"schemaTitle": "pipeline.TFLiteModels"})) == \
        "pipeline.TFLiteModels"
    assert recording.declared_properties(examples) == {"span": mlmd.INT, "split_names": mlmd.STRING}
    assert recording.to_value(1.0).int_value == 1  # KFP metadata numbers are doubles
    assert recording.to_value(0.25).double_value == 0.25
    assert recording.to_value(2.0, integer=False).double_value == 2.0
    assert recording.to_value(True).int_value == 1
    assert recording.to_value({"a": [1]}).string_value == '{"a": [1]}'
    assert recording.to_value(None) is None


def test_a_custom_property_named_like_a_declared_one_is_recorded_as_tfx_reads_it_back(tmp_path: Path):
    """ExampleGen's Examples carry ``span`` as a property and ``custom:span`` as a custom property."""
    from pipeline.metadata.spans import examples_span

    examples_type = {"instanceSchema": "title: tfx.Examples\ntype: object\nproperties:\n"
                                       "  span:\n    type: integer\n"}
    store = _writable_store(tmp_path)
    recorder = launcher.RunRecorder(store, "toy", "r1")
    gen = recorder.start("CsvExampleGen", "gen", {}, {}, {})
    recorder.complete(gen, "CsvExampleGen", {"examples": [{
        "name": "r1/examples", "uri": "/e", "type": examples_type,
        "metadata": {"span": 0.0, "custom:span": 19700.0, "version": 1.0}}]})
    [examples] = q.outputs_of(store, gen)["examples"]
    assert examples.properties["span"].int_value == 0
    assert examples.custom_properties["span"].int_value == 19700
    assert examples_span(examples) == (19700, 1)
    assert recording.artifact_metadata(examples) == {"span": 0.0, "custom:span": 19700.0, "version": 1.0}


def _writable_store(tmp_path: Path):
    from ml_metadata import metadata_store

    from pipeline.metadata import connection_config

    return metadata_store.MetadataStore(connection_config(SqliteMetadata(str(tmp_path / "m.sqlite"))))


def test_a_task_whose_driver_hook_fails_is_recorded_failed(tmp_path: Path):
    def hook_fails(argv, log_path, cwd, env):
        if log_path.name == "pre_cache_check.log":
            return 4
        return launcher.run_subprocess([sys.executable, *argv[1:]], log_path, cwd, env)

    with pytest.raises(launcher.TaskFailed, match="exited with 4"):
        launcher.run_pipeline(_spec(tmp_path, hook=True), tmp_path / "root", run_id="r1", python="python",
                              run_command=hook_fails)
    store = open_read_only(SqliteMetadata(str(tmp_path / "root" / launcher.METADATA_NAME)))
    assert {c.node_id: c.state for c in facts.run_info(store, "r1").components} == {"make": "failed"}
