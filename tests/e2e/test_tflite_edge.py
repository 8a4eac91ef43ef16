"""The TFLite component in the pipeline, its bundle on a TensorFlow-free runtime, and bad cases.

One pipeline run on a 3,000-row slice; the pushed bundle is then run in a separate
virtual environment holding only ai-edge-litert and numpy, on raw CSV rows the
pipeline never saw, and compared with the SavedModel. The bad cases call the executor
directly on the same run's artifacts.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from pipeline.components.tflite_converter import component, conversion, executor
from pipeline.components.tflite_converter.examples import rows_to_examples
from pipeline.config import REPO_ROOT, TFLiteConfig
from pipeline.metadata import open_store
from pipeline.metadata.queries import run_executions
from pipeline.report.summary import outputs_of
from tests.e2e.conftest import SMALL_ROWS
from tests.support.sample import read_sample_rows

pytestmark = pytest.mark.e2e

ROWS = SMALL_ROWS  # the shared run's slice (tests/e2e/conftest.py)
EDGE_VENV = REPO_ROOT / ".tools" / "edge-runtime-venv"


@pytest.fixture(scope="module")
def run(small_run):
    """The shared small pipeline run (tests/e2e/conftest.py), read back from MLMD."""
    config = small_run.config
    store = open_store(config.metadata)
    executions = run_executions(store, small_run.run_id)
    inputs = {node: outputs_of(store, executions[node].id) for node in executions}
    [tflite] = inputs["TFLiteConverter"]["tflite_models"]
    return config, executions, inputs, tflite


@pytest.fixture(scope="module")
def edge_python() -> Path:
    """A venv with only the bundle's requirements (cached in .tools/, rebuilt when they change)."""
    requirements = Path(executor.EDGE_REQUIREMENTS).read_text()
    stamp = EDGE_VENV / "requirements.txt"
    python = EDGE_VENV / "bin" / "python"
    if not (python.exists() and stamp.exists() and stamp.read_text() == requirements):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(EDGE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", executor.EDGE_REQUIREMENTS], check=True)
        stamp.write_text(requirements)
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], check=True,
                            capture_output=True, text=True).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "tensorflow" not in names and "tflite-runtime" not in names, names
    return python


def _unseen_rows() -> list[dict[str, str]]:
    """Raw rows outside the training slice, plus edge cases: missing optional cell, unseen string."""
    header, rows = read_sample_rows()
    used = set(range(0, len(rows), max(1, len(rows) // ROWS)))
    unseen = [dict(zip(header, row, strict=True)) for i, row in enumerate(rows) if i not in used][:400]
    unseen[0]["trip_seconds"] = ""
    unseen[1]["payment_type"] = "Mobile wallet"
    return unseen


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _edge_predict(python: Path, bundle: Path, csv_path: Path) -> np.ndarray:
    done = subprocess.run([str(python), str(bundle / "edge_client.py"), str(bundle), str(csv_path)],
                          check=True, capture_output=True, text=True, timeout=300)
    return np.array(json.loads(done.stdout), dtype=np.float32)


def _saved_model_predict(model_uri: str, rows: list[dict[str, str]], transform_uri: str) -> np.ndarray:
    import tensorflow_transform as tft

    raw_spec = tft.TFTransformOutput(transform_uri).raw_feature_spec()
    raw_spec.pop("tips")
    serving = tf.saved_model.load(f"{model_uri}/Format-Serving").signatures["serving_default"]
    return serving(examples=tf.constant(rows_to_examples(rows, raw_spec)))["outputs"].numpy().reshape(-1)


def test_component_pushes_the_smallest_qualifying_variant_and_records_every_measurement(run):
    config, executions, _, tflite = run
    assert executions["TFLiteConverter"].last_known_state == 3  # COMPLETE
    props = tflite.custom_properties
    assert props["status"].string_value == "pushed", props["reason"].string_value
    chosen = props["chosen_variant"].string_value
    reference_auc = props["saved_model_auc"].double_value
    sizes = {}
    for variant in conversion.VARIANTS:
        for key in ("size_bytes", "weight_bytes", "converted", "qualifies"):
            assert props[f"{variant}_{key}"].int_value >= 0
        for key in ("auc", "accuracy", "max_abs_diff", "label_agreement", "single_row_ms", "batch_ms"):
            assert f"{variant}_{key}" in props, (variant, key)
        assert props[f"{variant}_converted"].int_value == 1
        if props[f"{variant}_qualifies"].int_value:
            sizes[variant] = props[f"{variant}_size_bytes"].int_value
    assert chosen == min(sizes, key=sizes.get)
    assert props[f"{chosen}_auc"].double_value >= reference_auc - TFLiteConfig().auc_budget
    # The float32 variant is the same network: probabilities agree to float rounding.
    assert props["float32_max_abs_diff"].double_value < 1e-5
    assert props["preprocessing_id_mismatches"].int_value == 0
    assert props["preprocessing_max_abs_diff"].double_value < 1e-5
    assert props["preprocessing_from_graph_constants"].int_value == 1
    report = json.loads((Path(tflite.uri) / "report.json").read_text())
    assert {v["name"] for v in report["variants"]} == set(conversion.VARIANTS)
    assert "| int8 |" in (Path(tflite.uri) / "report.md").read_text()
    destination = Path(props["pushed_destination"].string_value)
    assert destination.parent == Path(config.edge_root)
    assert {"model.tflite", "preprocessing.json", "edge_client.py", "requirements.txt",
            "PUSH_INFO.json"} <= {p.name for p in destination.iterdir()}
    # The SavedModel push is untouched by the edge folder.
    assert [p.name for p in Path(config.serving_root).iterdir() if p.name.isdigit()]


def test_pushed_bundle_predicts_raw_rows_like_the_saved_model_without_tensorflow(run, edge_python, tmp_path):
    _, _, inputs, tflite = run
    bundle = Path(tflite.custom_properties["pushed_destination"].string_value)
    rows = _unseen_rows()
    csv_path = _write_csv(tmp_path / "unseen.csv", rows)
    [model] = inputs["Trainer"]["model"]
    [transform_graph] = inputs["Transform"]["transform_graph"]
    saved = _saved_model_predict(model.uri, rows, transform_graph.uri)

    # 1. The TF-free preprocessing is exact: the float32 variant through the same client
    #    gives the SavedModel's probabilities.
    float_bundle = tmp_path / "float32-bundle"
    float_bundle.mkdir()
    for name in ("preprocessing.json", "edge_client.py"):
        (float_bundle / name).write_bytes((bundle / name).read_bytes())
    float_model = Path(tflite.uri) / "variants" / "float32.tflite"
    (float_bundle / "model.tflite").write_bytes(float_model.read_bytes())
    float_edge = _edge_predict(edge_python, float_bundle, csv_path)
    assert float_edge.shape == saved.shape == (len(rows),)
    assert np.max(np.abs(float_edge - saved)) < 1e-5

    # 2. The pushed (quantized) bundle agrees with the SavedModel within what the
    #    component measured for that variant, and on nearly every label.
    edge = _edge_predict(edge_python, bundle, csv_path)
    chosen = tflite.custom_properties["chosen_variant"].string_value
    measured = tflite.custom_properties[f"{chosen}_max_abs_diff"].double_value
    assert np.max(np.abs(edge - saved)) <= max(measured, 1e-5) * 1.5 + 0.02
    assert np.mean((edge > 0.5) == (saved > 0.5)) >= 0.98


def test_edge_client_refuses_a_row_without_a_required_column(run, edge_python, tmp_path):
    bundle = Path(run[3].custom_properties["pushed_destination"].string_value)
    rows = _unseen_rows()[:2]
    rows[1]["fare"] = ""
    done = subprocess.run([str(edge_python), str(bundle / "edge_client.py"), str(bundle),
                           str(_write_csv(tmp_path / "bad.csv", rows))], capture_output=True, text=True)
    assert done.returncode != 0 and "required column 'fare' is missing" in done.stderr


def _do(run, tmp_path, blessed=1, **config):
    _, _, inputs, _ = run

    def artifact(node, key):
        [found] = inputs[node][key]
        instance = {"model": standard_artifacts.Model, "blessing": standard_artifacts.ModelBlessing,
                    "transform_graph": standard_artifacts.TransformGraph,
                    "examples": standard_artifacts.Examples}[key]()
        instance.uri = found.uri
        return instance

    blessing = artifact("Evaluator", "blessing")
    blessing.set_int_custom_property("blessed", blessed)
    output = component.TFLiteModels()
    output.uri = str(tmp_path / "output")
    push_root = tmp_path / "edge"
    settings = TFLiteConfig(eval_rows=400, representative_rows=100, latency_rows=20, batch_size=64, **config)
    executor.Executor().Do(
        {"model": [artifact("Trainer", "model")], "model_blessing": [blessing],
         "transform_graph": [artifact("Transform", "transform_graph")],
         "examples": [artifact("CsvExampleGen", "examples")]},
        {"tflite_models": [output]}, component.exec_properties(settings, str(push_root)))
    return output, push_root


def test_unblessed_model_is_neither_converted_nor_pushed(run, tmp_path, caplog):
    output, push_root = _do(run, tmp_path, blessed=0)
    assert output.get_string_custom_property("status") == executor.STATUS_NOT_BLESSED
    assert output.get_int_custom_property("pushed") == 0
    assert not push_root.exists() and not (tmp_path / "output" / "variants").exists()
    assert "not blessed" in caplog.text


def test_failed_conversions_push_nothing_and_say_why(run, tmp_path, caplog, monkeypatch):
    def fail(model, variant, *args, **kwargs):
        raise conversion.ConversionError(f"{variant}: needs non-builtin ops ['FlexAsString']")

    monkeypatch.setattr(conversion, "convert", fail)
    output, push_root = _do(run, tmp_path, variants=("float32", "int8"))
    assert output.get_string_custom_property("status") == executor.STATUS_NO_VARIANT
    reason = output.get_string_custom_property("reason")
    assert "float32: conversion failed" in reason and "int8: conversion failed" in reason
    assert output.get_int_custom_property("int8_converted") == 0
    assert not push_root.exists()
    assert "TFLite conversion of variant int8 failed" in caplog.text


def test_variant_outside_the_auc_budget_is_never_pushed(run, tmp_path):
    # A zero budget: a variant qualifies only if it is at least as good as the SavedModel.
    output, push_root = _do(run, tmp_path, variants=("int8",), auc_budget=0.0, int8_io=True)
    reference = output.get_float_custom_property("saved_model_auc")
    int8_auc = output.get_float_custom_property("int8_auc")
    if int8_auc < reference:
        assert output.get_string_custom_property("status") == executor.STATUS_NO_VARIANT
        assert "int8: AUC" in output.get_string_custom_property("reason")
        assert not push_root.exists()
    else:  # int8 happened to match or beat the SavedModel: pushed, with int8 tensors in and out
        assert output.get_string_custom_property("status") == executor.STATUS_PUSHED
        [version] = list(push_root.iterdir())
        assert (version / "model.tflite").is_file()
