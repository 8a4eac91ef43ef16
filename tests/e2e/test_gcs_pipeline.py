"""The gke profile on gs:// storage: the compiled spec's tasks run against a local GCS emulator.

Pipeline root, CSV input, serving root and edge root are all ``gs://<bucket>/...`` in the
emulator (tests/support/gcs_emulator.py); every task runs its own container command through
the local launcher, in its own process, reaching the emulator through the environment alone,
as a pod reaches GCS. Beam runs in the task's process (Dataflow needs a real project).
The launcher records the run in a local MLMD store (as the backend records it in its own),
and the lineage commands read that store and the artifacts it names on gs://.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.dsl.io import fileio

from pipeline import profiles
from pipeline.cli import main
from pipeline.components import tfx_keys
from pipeline.components.publish import MARKER_FILE, complete_versions
from pipeline.config import DEFAULT_SCHEMA, REPO_ROOT
from pipeline.runners import kfp_local, kubeflow
from tests.support.sample import write_slice

pytestmark = pytest.mark.e2e

ROWS = 2000
TRAIN_STEPS = 60
BUCKET = "taxi-edge-e2e"


@pytest.fixture(scope="module")
def gcs_run(gcs, tmp_path_factory):
    local = tmp_path_factory.mktemp("gcs-run")
    bucket = gcs.create_bucket(BUCKET)
    data = f"{bucket}/data"
    fileio.makedirs(data)
    fileio.copy(str(write_slice(local / "slice", ROWS) / "data.csv"), f"{data}/data.csv")
    config = profiles.gke(root=f"{bucket}/taxi-edge", data=data, image="taxi-edge:test", use_dataflow=False,
                          schema=str(DEFAULT_SCHEMA), env={}).with_training(train_steps=TRAIN_STEPS)
    compiled = kubeflow.compile_pipeline(config, local / "compiled")
    task_tmp = local / "task-tmp"
    task_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(task_tmp)}
    result = kfp_local.run_pipeline(compiled.kfp_package, f"{bucket}/kfp-root", cwd=REPO_ROOT, env=env,
                                    work_dir=local / "launcher")
    return config, compiled, result, local, task_tmp


def _read_bytes(uri: str) -> bytes:
    with fileio.open(uri, "rb") as handle:
        return handle.read()


def _count_records(split_uri: str) -> int:
    files = fileio.glob(f"{split_uri}/*.gz")
    assert files and all(f.startswith("gs://") for f in files), files
    return sum(1 for _ in tf.data.TFRecordDataset(files, "GZIP"))


def test_every_task_ran_and_wrote_only_to_gs(gcs_run):
    config, compiled, result, local, task_tmp = gcs_run
    spec = kfp_local.load_pipeline_spec(compiled.kfp_package)
    assert set(result.tasks) == set(spec.root.dag.tasks)
    for task in result.tasks.values():
        for artifacts in task.outputs.values():
            assert all(a["uri"].startswith(f"gs://{BUCKET}/") for a in artifacts), (task.name, artifacts)
    # On gs:// a local file API does not fail: it makes a folder named "gs:" (relative to the
    # working directory, or inside a local folder a path was joined to) and "succeeds".
    assert not (REPO_ROOT / "gs:").exists()
    for folder in (task_tmp, local):
        assert not list(folder.rglob("gs:*")), folder


def test_examples_statistics_and_schema_on_gs(gcs_run):
    _, _, result, *_ = gcs_run
    examples = result.artifact("CsvExampleGen", "examples")
    assert json.loads(examples["metadata"]["split_names"]) == ["train", "eval"]
    statistics = result.artifact("StatisticsGen", "statistics")["uri"]
    counts = {}
    for split in ("train", "eval"):
        counts[split] = _count_records(f"{examples['uri']}/Split-{split}")
        stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(
            _read_bytes(f"{statistics}/Split-{split}/FeatureStats.pb"))
        assert stats.datasets[0].num_examples == counts[split]
    assert sum(counts.values()) == ROWS
    schema = result.artifact("ImportSchemaGen", "schema")["uri"]
    assert _read_bytes(f"{schema}/schema.pbtxt") == Path(DEFAULT_SCHEMA).read_bytes()


def test_the_model_loads_from_gs_and_was_blessed_and_pushed_once(gcs_run):
    config, _, result, *_ = gcs_run
    model = result.artifact("Trainer", "model")
    loaded = tf.saved_model.load(f"{model['uri']}/Format-Serving")
    assert "serving_default" in loaded.signatures
    blessing = result.artifact("Evaluator", "blessing")
    assert blessing["metadata"]["blessed"] == 1
    assert fileio.exists(f"{blessing['uri']}/BLESSED")
    pushed = result.artifact("Pusher", "pushed_model")
    assert pushed["metadata"]["pushed"] == 1
    destination = pushed["metadata"]["pushed_destination"]
    assert destination.startswith(config.serving_root + "/")
    assert complete_versions(config.serving_root) == [destination.rsplit("/", 1)[1]]
    assert json.loads(_read_bytes(f"{destination}/{MARKER_FILE}"))["source_uri"] == model["uri"]
    assert "serving_default" in tf.saved_model.load(destination).signatures


def test_tflite_variants_and_the_edge_bundle_are_readable_from_gs(gcs_run):
    config, _, result, *_ = gcs_run
    tflite = result.artifact("TFLiteConverter", "tflite_models")
    variants = fileio.glob(f"{tflite['uri']}/variants/*.tflite")
    assert variants, fileio.listdir(tflite["uri"])
    for variant in variants:
        tf.lite.Interpreter(model_content=_read_bytes(variant)).allocate_tensors()
    report = json.loads(_read_bytes(f"{tflite['uri']}/report.json"))
    assert report["status"] == tflite["metadata"]["status"]
    if tflite["metadata"]["status"] == "pushed":
        destination = tflite["metadata"]["pushed_destination"]
        assert destination.startswith(config.edge_root + "/")
        for name in ("model.tflite", "preprocessing.json", "edge_client.py", "bundle.json", MARKER_FILE):
            assert fileio.exists(f"{destination}/{name}"), name
    else:  # a gate verdict is fine on a small run, but it must be recorded with its reason
        assert tflite["metadata"]["reason"]


def _cli(*args: str, capsys) -> str:  # noqa: ANN001 - pytest's capsys
    """``python -m pipeline ...`` in this process (its TF already talks to the emulator); its stdout."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    return out


@pytest.fixture
def lineage_cwd(gcs_run, monkeypatch):
    """Where the lineage commands run: a local gs: folder here would mean a local file API on a URI."""
    *_, local, _ = gcs_run
    folder = local / "cli"
    folder.mkdir(exist_ok=True)
    monkeypatch.chdir(folder)
    return folder


def test_runs_lists_the_run_recorded_by_the_launcher(gcs_run, lineage_cwd, capsys):
    _, _, result, *_ = gcs_run
    store = result.metadata.path
    [run] = json.loads(_cli("runs", "--store", store, "--json", capsys=capsys))
    assert (run["run_id"], run["pipeline"], run["status"]) == (result.run_id, "taxi-edge", "complete")
    ran = {name for name, task in result.tasks.items() if task.kind != "skipped"}
    assert set(run["ran"]) == ran


def test_trace_of_the_pushed_model_reads_its_origin_on_gs(gcs_run, lineage_cwd, capsys):
    config, _, result, *_ = gcs_run
    destination = result.artifact("Pusher", "pushed_model")["metadata"]["pushed_destination"]
    trace = json.loads(_cli("trace", "--store", result.metadata.path, destination, "--json", capsys=capsys))
    assert trace["target"]["type"] == "PushedModel" and trace["matched_by"] == tfx_keys.PUSHED_DESTINATION
    [source] = trace["data_sources"]
    assert source["input_base"] == f"gs://{BUCKET}/data"
    assert source["input_fingerprint"] and source["examples_uri"] == result.artifact("CsvExampleGen",
                                                                                      "examples")["uri"]
    [trainer] = [s for s in trace["steps"] if s["node_id"] == "Trainer"]
    [examples_id] = trainer["inputs"]["examples"]
    examples = trace["artifacts"][str(examples_id)]
    assert examples["type"] == "Examples" and examples["uri"].startswith(f"gs://{BUCKET}/kfp-root/")
    assert examples["producer_node"] == "Transform"
    [training] = trace["trainers"]
    assert training["train_args"]["num_steps"] == TRAIN_STEPS
    assert trace["statistics"] and trace["schemas"] and trace["transform_graphs"]
    assert all(trace["artifacts"][str(i)]["uri"].startswith("gs://") for i in trace["artifacts"])
    [evaluation] = trace["evaluations"]
    assert evaluation["blessed"] and evaluation["evaluation_uri"].startswith(f"gs://{BUCKET}/")
    [push] = trace["pushes"]
    assert push["pushed"] and push["destination"] == destination
    assert not list(lineage_cwd.rglob("gs:*"))


def test_report_of_the_run_reads_statistics_and_metrics_from_gs_and_is_written_on_gs(gcs_run, lineage_cwd,
                                                                                     capsys):
    _, _, result, *_ = gcs_run
    target = f"gs://{BUCKET}/reports/{result.run_id}.html"
    printed = _cli("report", "--store", result.metadata.path, "--output", target, capsys=capsys)
    assert printed.strip().splitlines()[-1] == target
    page = _read_bytes(target).decode()
    sections = dict(part.split("</h2>", 1) for part in page.split('<h2>')[1:])
    assert "problems" not in page.split("<nav>")[1].split("</nav>")[0]  # every fact could be read
    examples = result.artifact("CsvExampleGen", "examples")["uri"]
    train = _count_records(f"{examples}/Split-train")
    assert f"split train: {train:,} examples" in sections["Data statistics"]
    assert "auc" in sections["Evaluation metrics"].lower()
    assert "blessed" in sections["Blessing decision"].lower()
    assert not list(lineage_cwd.rglob("gs:*")) and not (REPO_ROOT / "gs:").exists()
