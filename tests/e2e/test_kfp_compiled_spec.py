"""The compiled Kubeflow spec runs: every task's own container command, with a launcher's ExecutorInput.

The gke profile is compiled with local folders instead of gs:// and Beam in the pods
(Dataflow needs a cloud); the DAG, executors, commands and parameters are what a
cluster gets. Its artifacts are compared with the local runner's on the same slice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2

from pipeline import profiles
from pipeline.config import DEFAULT_SCHEMA, REPO_ROOT
from pipeline.metadata.read_only import open_read_only
from pipeline.pipeline import create_pipeline
from pipeline.runners import ir, kfp_local, kubeflow
from tests.support.kfp_outcomes import assert_model_loads_and_was_blessed
from tests.support.sample import write_slice

pytestmark = pytest.mark.e2e

ROWS = 3000
TRAIN_STEPS = 100
BLESSING_RESOLVER = "latest_blessed_model_resolver-model-blessing-resolver"
MODEL_RESOLVER = "latest_blessed_model_resolver-model-resolver"
BASELINE_RESOLVER = "latest_data_baseline_resolver"


@pytest.fixture(scope="module")
def kfp_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("kfp")
    data = write_slice(root / "data", ROWS)
    config = profiles.gke(root=str(root / "cloud"), data=data, image="taxi-edge:test", use_dataflow=False,
                          schema=str(DEFAULT_SCHEMA), env={}).with_training(train_steps=TRAIN_STEPS)
    compiled = kubeflow.compile_pipeline(config, root / "compiled")
    result = kfp_local.run_pipeline(compiled.kfp_package, root / "kfp-root", cwd=REPO_ROOT)
    return config, compiled, result, root, data


@pytest.fixture(scope="module")
def local_reference(kfp_run):
    """The local runner's ExampleGen, schema and statistics on the same slice (deterministic steps)."""
    *_, root, data = kfp_run
    config = profiles.local(root=root / "local", data=data)
    bound = ir.bind_run_id(ir.compile_pipeline(create_pipeline(config)), "reference")
    nodes = ("CsvExampleGen", "ImportSchemaGen", "StatisticsGen")
    results = {node: ir.launch_node(bound, node) for node in nodes}
    assert all(r.state == "complete" for r in results.values()), results
    pipeline_root = Path(config.pipeline_root)
    return {
        "examples": _only(pipeline_root / "CsvExampleGen" / "examples"),
        "schema": _only(pipeline_root / "ImportSchemaGen" / "schema"),
        "statistics": _only(pipeline_root / "StatisticsGen" / "statistics"),
    }


def _only(folder: Path) -> Path:
    [execution] = list(folder.iterdir())
    return execution


def _count_records(split_dir: Path) -> int:
    return sum(1 for path in split_dir.glob("*.gz") for _ in tf.data.TFRecordDataset(str(path), "GZIP"))


def _num_examples(stats_dir: Path, split: str) -> int:
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    stats.ParseFromString((stats_dir / f"Split-{split}" / "FeatureStats.pb").read_bytes())
    return stats.datasets[0].num_examples


def test_every_task_of_the_compiled_spec_ran(kfp_run):
    _, compiled, result, *_ = kfp_run
    spec = kfp_local.load_pipeline_spec(compiled.kfp_package)
    assert set(result.tasks) == set(spec.root.dag.tasks)
    resolvers = {n for n, t in result.tasks.items() if t.kind == "resolver"}
    assert resolvers == {BLESSING_RESOLVER, MODEL_RESOLVER, BASELINE_RESOLVER}
    for task in ("CsvExampleGen", "Transform", "Trainer", "Evaluator", "Pusher"):
        assert (result.pipeline_root / result.run_id / task / "executor_output.json").is_file(), task


def test_first_run_has_no_baseline_model(kfp_run):
    _, _, result, *_ = kfp_run
    assert result.tasks[BLESSING_RESOLVER].outputs == {"model_blessing": []}
    assert result.tasks[MODEL_RESOLVER].outputs == {"model": []}
    assert result.tasks[BASELINE_RESOLVER].outputs == {"baseline": []}
    drift_report = result.artifact("DataGate", "drift_report")
    assert drift_report["metadata"]["drift_checked"] == 0
    assert json.loads((Path(drift_report["uri"]) / "drift.json").read_text())["checked"] is False


def test_examples_and_statistics_match_the_local_runner(kfp_run, local_reference):
    _, _, result, *_ = kfp_run
    examples = result.artifact("CsvExampleGen", "examples")
    assert json.loads(examples["metadata"]["split_names"]) == ["train", "eval"]
    statistics = Path(result.artifact("StatisticsGen", "statistics")["uri"])
    # The compiled (gke) spec keeps TFX's stock CsvExampleGen; the local profile reads CSV with
    # pyarrow and hashes rows to splits its own way (docs/scale.md): the same rows, in the same
    # 2:1 proportions, but not the same rows per split. Each side's statistics count its own splits.
    for split, share in (("train", 2 / 3), ("eval", 1 / 3)):
        kfp_count = _count_records(Path(examples["uri"]) / f"Split-{split}")
        local_count = _count_records(local_reference["examples"] / f"Split-{split}")
        assert abs(kfp_count - share * ROWS) < 0.05 * ROWS and abs(local_count - share * ROWS) < 0.05 * ROWS
        assert _num_examples(statistics, split) == kfp_count
        assert _num_examples(local_reference["statistics"], split) == local_count
    for side in (Path(examples["uri"]), local_reference["examples"]):
        assert sum(_count_records(side / f"Split-{s}") for s in ("train", "eval")) == ROWS


def test_schema_matches_the_local_runner(kfp_run, local_reference):
    _, _, result, *_ = kfp_run
    kfp_schema = Path(result.artifact("ImportSchemaGen", "schema")["uri"]) / "schema.pbtxt"
    assert kfp_schema.read_bytes() == (local_reference["schema"] / "schema.pbtxt").read_bytes()


def test_the_trained_model_loads_and_the_evaluator_blessed_it(kfp_run):
    config, _, result, *_ = kfp_run
    _, blessing = assert_model_loads_and_was_blessed(result)
    assert (Path(blessing["uri"]) / "BLESSED").is_file()
    evaluation = Path(result.artifact("Evaluator", "evaluation")["uri"])
    assert any(evaluation.glob("metrics*")), list(evaluation.iterdir())


def test_the_pusher_published_the_blessed_model(kfp_run):
    config, _, result, *_ = kfp_run
    pushed = result.artifact("Pusher", "pushed_model")
    assert pushed["metadata"]["pushed"] == 1
    destination = Path(pushed["metadata"]["pushed_destination"])
    assert destination.parent == Path(config.serving_root)
    assert (destination / "saved_model.pb").is_file()


def test_a_second_run_would_get_this_model_as_its_baseline(kfp_run):
    _, compiled, result, *_ = kfp_run
    spec = kfp_local.load_pipeline_spec(compiled.kfp_package)
    store = kfp_local.ArtifactStore(open_read_only(result.metadata), "taxi-edge")
    resolver = lambda task: kfp_local.executor_spec(spec, task).resolver  # noqa: E731
    blessings = kfp_local.resolve_queries(resolver(BLESSING_RESOLVER), {}, store)
    inputs = {"inputs": {"artifacts": {"input": {"artifacts": blessings["model_blessing"]}}}}
    models = kfp_local.resolve_queries(resolver(MODEL_RESOLVER), inputs, store)
    assert [m["uri"] for m in models["model"]] == [result.artifact("Trainer", "model")["uri"]]

def test_the_blessed_models_statistics_become_the_next_runs_drift_baseline(kfp_run):
    """The recorder ran (its trigger condition on the blessing held) and the resolver finds its copy."""
    _, compiled, result, *_ = kfp_run
    assert result.tasks["DataBaselineRecorder"].kind == "container"
    baseline = result.artifact("DataBaselineRecorder", "baseline")
    statistics = Path(result.artifact("StatisticsGen", "statistics")["uri"])
    for split in ("train", "eval"):
        copied = Path(baseline["uri"]) / f"Split-{split}" / "FeatureStats.pb"
        assert copied.read_bytes() == (statistics / f"Split-{split}" / "FeatureStats.pb").read_bytes()
    spec = kfp_local.load_pipeline_spec(compiled.kfp_package)
    store = kfp_local.ArtifactStore(open_read_only(result.metadata), "taxi-edge")
    resolver = kfp_local.executor_spec(spec, BASELINE_RESOLVER).resolver
    found = kfp_local.resolve_queries(resolver, {}, store)["baseline"]
    assert [b["uri"] for b in found] == [baseline["uri"]]
