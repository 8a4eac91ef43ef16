"""The compiled gke spec's tasks run inside the built pipeline image, each in its own container.

What a GKE cluster would do with our image, minus the cluster: the gke profile is compiled
here (local folders instead of gs://, Beam in the pods), then every task's own container
command runs in `make image`'s image through the local launcher, as the image's non-root
user, with no network, and the test's folder mounted at the same path (the cloud-storage
emulator is not used yet). Outcomes are the local runner's: example counts, a blessed model
that loads, one push, the TFLite variants and an edge bundle. `make test-image` runs this.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import tensorflow as tf
import tensorflow_transform as tft

from models import features
from pipeline import profiles
from pipeline.components.tflite_converter import conversion
from pipeline.config import TFLiteConfig
from pipeline.pipeline import create_pipeline
from pipeline.runners import container, ir, kfp_local, kubeflow
from tests.support.image import ENGINE, IMAGE
from tests.support.kfp_outcomes import assert_model_loads_and_was_blessed
from tests.support.sample import write_slice

pytestmark = [pytest.mark.e2e, pytest.mark.image]

ROWS = 3000
TRAIN_STEPS = 100
IN_IMAGE_TASKS = ("CsvExampleGen", "Transform", "Trainer", "Evaluator", "Pusher", "TFLiteConverter")


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("kfp-image")
    data = write_slice(root / "data", ROWS)
    # The schema path is the image's own (/app/schemas), as on a cluster.
    config = profiles.gke(root=str(root / "cloud"), data=data, image=IMAGE, use_dataflow=False,
                          env={}).with_training(train_steps=TRAIN_STEPS)
    compiled = kubeflow.compile_pipeline(config, root / "compiled")
    prefix = f"taxi-edge-test-{uuid.uuid4().hex[:6]}"
    runner = container.ContainerRunner(IMAGE, mounts=(root,), engine=ENGINE, name_prefix=prefix, timeout=1800)
    runner.check()
    started = time.monotonic()
    result = kfp_local.run_pipeline(compiled.kfp_package, root / "kfp-root", python="python",
                                    run_command=runner)
    seconds = time.monotonic() - started
    left = container.running(ENGINE, prefix)
    print(f"\nin-image run of {len(result.tasks)} tasks: {seconds:.0f} s")
    for name, task in result.tasks.items():
        print(f"  {name:60s} {task.kind:9s} {task.seconds:6.1f} s")
    return config, compiled, result, root, data, left


def _count_records(split_dir: Path) -> int:
    return sum(1 for path in split_dir.glob("*.gz") for _ in tf.data.TFRecordDataset(str(path), "GZIP"))


def test_every_container_task_ran_in_the_image_as_its_user_and_no_container_is_left(image_run):
    _, compiled, result, root, _, left = image_run
    spec = kfp_local.load_pipeline_spec(compiled.kfp_package)
    assert set(result.tasks) == set(spec.root.dag.tasks)
    containers = {name for name, task in result.tasks.items() if task.kind == "container"}
    assert set(IN_IMAGE_TASKS) <= containers
    assert all(kfp_local.task_image(spec, name) == IMAGE for name in containers)
    assert left == []
    # Written inside the container: owned by the image's user, not by this (root) process.
    uid, _ = container.image_user(ENGINE, IMAGE)
    for task in IN_IMAGE_TASKS:
        output = result.pipeline_root / result.run_id / task / "executor_output.json"
        assert output.stat().st_uid == uid != 0, task


def test_examplegen_in_the_image_splits_two_to_one_like_the_local_runner(image_run):
    _, _, result, root, data, _ = image_run
    local = profiles.local(root=root / "local", data=data)
    bound = ir.bind_run_id(ir.compile_pipeline(create_pipeline(local)), "reference")
    assert ir.launch_node(bound, "CsvExampleGen").state == "complete"
    [reference] = list((Path(local.pipeline_root) / "CsvExampleGen" / "examples").iterdir())
    examples = result.artifact("CsvExampleGen", "examples")
    counts = {split: _count_records(Path(examples["uri"]) / f"Split-{split}") for split in ("train", "eval")}
    local_counts = {split: _count_records(reference / f"Split-{split}") for split in ("train", "eval")}
    # The image runs the gke spec's stock CsvExampleGen, the local profile the pyarrow reader: both
    # split 2:1 by a hash of the row, each with its own hash, so the same rows, not the same per split.
    for side in (counts, local_counts):
        assert sum(side.values()) == ROWS
        assert abs(side["train"] - 2 * ROWS / 3) < 0.05 * ROWS


def test_transform_ran_our_preprocessing_fn_in_the_image(image_run):
    _, _, result, *_ = image_run
    graph = Path(result.artifact("Transform", "transform_graph")["uri"])
    transformed = tft.TFTransformOutput(str(graph)).transformed_feature_spec()
    expected = {*features.dense_feature_names(), *features.categorical_feature_names(), features.LABEL_KEY}
    assert set(transformed) == expected
    assert (graph / "transform_fn" / "assets" / features.vocabulary_name("payment_type")).is_file()


def test_the_model_trained_in_the_image_loads_here_and_was_blessed(image_run):
    _, _, result, *_ = image_run
    assert_model_loads_and_was_blessed(result)


def test_the_pusher_in_the_image_pushed_once(image_run):
    config, _, result, *_ = image_run
    pushed = result.artifact("Pusher", "pushed_model")
    assert pushed["metadata"]["pushed"] == 1
    versions = [p for p in Path(config.serving_root).iterdir() if p.name.isdigit()]
    assert [str(v) for v in versions] == [pushed["metadata"]["pushed_destination"]]
    assert (versions[0] / "saved_model.pb").is_file()


def test_the_tflite_converter_in_the_image_built_every_variant_and_pushed_a_bundle(image_run):
    config, _, result, *_ = image_run
    tflite = result.artifact("TFLiteConverter", "tflite_models")
    metadata = tflite["metadata"]
    assert metadata["status"] == "pushed", metadata.get("reason")
    assert all(metadata[f"{variant}_converted"] == 1 for variant in conversion.VARIANTS)
    report = json.loads((Path(tflite["uri"]) / "report.json").read_text())
    # The smallest qualifying variant of all: base conversions and the default student's alike.
    qualifying = {v["name"]: v["size_bytes"] for v in report["variants"] if v["qualifies"]}
    assert metadata["chosen_variant"] == min(qualifying, key=qualifying.get)
    chosen_auc = metadata[f"{metadata['chosen_variant']}_auc"]
    assert chosen_auc >= metadata["saved_model_auc"] - TFLiteConfig().auc_budget
    assert set(conversion.VARIANTS) <= {v["name"] for v in report["variants"]}
    bundle = Path(metadata["pushed_destination"])
    assert bundle.parent == Path(config.edge_root)
    assert {"model.tflite", "preprocessing.json", "edge_client.py"} <= {p.name for p in bundle.iterdir()}
