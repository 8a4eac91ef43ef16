"""The pipeline factory: components, wiring and the IR it compiles to."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.pipeline import create_pipeline
from pipeline.runners import ir

EXPECTED_NODES = [
    "CsvExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator", "DataGate", "Transform",
    "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher", "TFLiteConverter",
    "latest_data_baseline_resolver", "DataBaselineRecorder",
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    return ir.compile_pipeline(create_pipeline(profiles.load_profile("local", root=root)))


def test_every_standard_component_is_in_the_pipeline(compiled):
    assert sorted(ir.node_ids(compiled)) == sorted(EXPECTED_NODES)


def test_wiring_follows_the_data(compiled):
    upstream = ir.upstream_nodes(compiled)
    # The gate reads the anomalies, and compares the statistics with the last blessed model's.
    assert set(upstream["DataGate"]) == {"ExampleValidator", "StatisticsGen", "ImportSchemaGen",
                                         "latest_data_baseline_resolver"}
    # Nothing trains before the data gate has passed the data.
    assert set(upstream["Transform"]) == {"CsvExampleGen", "ImportSchemaGen", "DataGate"}
    assert set(upstream["Trainer"]) == {"Transform", "ImportSchemaGen"}
    assert set(upstream["Evaluator"]) == {"CsvExampleGen", "Trainer", "latest_blessed_model_resolver"}
    assert set(upstream["Pusher"]) == {"Trainer", "Evaluator"}
    assert set(upstream["TFLiteConverter"]) == {"Trainer", "Evaluator", "Transform", "CsvExampleGen"}
    assert set(upstream["DataBaselineRecorder"]) == {"StatisticsGen", "Evaluator"}


def test_only_a_blessed_models_data_becomes_the_drift_baseline(compiled):
    [recorder] = [n.pipeline_node for n in compiled.nodes
                  if n.pipeline_node.node_info.id == "DataBaselineRecorder"]
    [condition] = recorder.inputs.conditionals.values()
    text = str(condition.placeholder_expression)
    assert '"_Evaluator.blessing"' in text and '"blessed"' in text and "EQUAL" in text


def test_drift_checks_can_be_switched_off(tmp_path: Path):
    config = profiles.load_profile("local", root=tmp_path).with_drift(enabled=False)
    compiled = ir.compile_pipeline(create_pipeline(config))
    assert "latest_data_baseline_resolver" not in ir.node_ids(compiled)
    assert "DataBaselineRecorder" in ir.node_ids(compiled)  # baselines keep being recorded


def test_tflite_component_can_be_switched_off(tmp_path: Path):
    config = profiles.load_profile("local", root=tmp_path).with_tflite(enabled=False)
    assert "TFLiteConverter" not in ir.node_ids(ir.compile_pipeline(create_pipeline(config)))


def test_cache_is_on_and_run_id_is_bound(compiled):
    bound = ir.bind_run_id(compiled, "run-42")
    assert "run-42" in str(bound.runtime_spec.pipeline_run_id)
    assert all(
        node.pipeline_node.execution_options.caching_options.enable_cache for node in compiled.nodes
        if node.pipeline_node.node_info.id != "latest_blessed_model_resolver"
    )


def test_schema_is_the_curated_file(tmp_path: Path):
    config = profiles.load_profile("local", root=tmp_path)
    assert Path(config.schema_path).name == "schema.pbtxt" and Path(config.schema_path).is_file()


def _evaluator_executor(config) -> str:  # noqa: ANN001 - a PipelineConfig
    [evaluator] = [c for c in create_pipeline(config).components if c.id == "Evaluator"]
    return evaluator.executor_spec.executor_class.__module__


def test_one_machine_computes_the_slices_in_numpy_and_a_cluster_profile_with_tfma(tmp_path: Path):
    local = profiles.load_profile("local", root=tmp_path)
    assert _evaluator_executor(local) == "pipeline.components.evaluator.executor"
    gke = profiles.gke(bucket="b", project="p", region="europe-west4", image="img", query="SELECT 1", env={})
    assert gke.evaluation.slice_engine == "tfma"
    assert _evaluator_executor(gke) == "tfx.components.evaluator.executor"
