"""The TFLite component in the pipeline, its bundle on a TensorFlow-free runtime, and bad cases.

One pipeline run on a 3,000-row slice; the pushed bundle is then run in a separate
virtual environment holding only ai-edge-litert and numpy, on raw CSV rows the
pipeline never saw, and compared with the SavedModel. The bad cases call the executor
directly on the same run's artifacts.
"""

from __future__ import annotations

import csv
import gzip
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
from pipeline.metadata.queries import outputs_of, run_executions
from tests.e2e.conftest import SMALL_ROWS
from tests.support.mlmd_props import recorded, tfx_property
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
    config, executions, inputs, tflite = run
    assert executions["TFLiteConverter"].last_known_state == 3  # COMPLETE
    props = recorded(tflite)
    assert props["status"].string_value == "pushed", props["reason"].string_value
    chosen = props["chosen_variant"].string_value
    reference_auc = props["saved_model_auc"].double_value
    for variant in conversion.VARIANTS:
        assert props[f"{variant}_gzip_bytes"].int_value > 0
        for key in ("size_bytes", "weight_bytes", "converted", "qualifies"):
            assert props[f"{variant}_{key}"].int_value >= 0
        for key in ("auc", "accuracy", "max_abs_diff", "label_agreement", "single_row_ms", "batch_ms"):
            assert f"{variant}_{key}" in props, (variant, key)
        assert props[f"{variant}_converted"].int_value == 1
    report = json.loads((Path(tflite.uri) / "report.json").read_text())
    # The smallest qualifying variant of all (base conversions and TFMOT/student variants alike).
    sizes = {v["name"]: v["size_bytes"] for v in report["variants"] if v["qualifies"]}
    assert chosen == min(sizes, key=sizes.get)
    assert props[f"{chosen}_auc"].double_value >= reference_auc - TFLiteConfig().auc_budget
    # The float32 variant is the same network: probabilities agree to float rounding.
    assert props["float32_max_abs_diff"].double_value < 1e-5
    assert props["preprocessing_id_mismatches"].int_value == 0
    assert props["preprocessing_max_abs_diff"].double_value < 1e-5
    assert props["preprocessing_from_graph_constants"].int_value == 1
    techniques = TFLiteConfig().techniques
    assert {v["name"] for v in report["variants"]} == set(conversion.VARIANTS) | {
        f"{t}_{c}" for t in techniques for c in TFLiteConfig().technique_conversions}
    # Every variant says why it was or was not chosen, and is measured slice by slice.
    assert all(v["reason"] for v in report["variants"])
    assert {"payment_type=Credit Card", "trip_start_hour=12"} <= set(report["slices"]["float32"])
    # The fine-tuning hyperparameters are recorded in MLMD, with the execution and on the output.
    execution_props = recorded(executions["TFLiteConverter"])
    assert execution_props["finetune_steps"].int_value == TFLiteConfig().finetune_steps
    assert execution_props["distillation_temperature"].double_value == TFLiteConfig().distillation_temperature
    if "student" in techniques:
        [model] = inputs["Trainer"]["model"]
        assert props["student_teacher_model_id"].int_value == model.id
    assert "| int8 |" in (Path(tflite.uri) / "report.md").read_text()
    destination = Path(props["pushed_destination"].string_value)
    assert destination.parent == Path(config.edge_root)
    assert {"model.tflite", "preprocessing.json", "edge_client.py", "requirements.txt",
            "PUSH_INFO.json"} <= {p.name for p in destination.iterdir()}
    # The SavedModel push is untouched by the edge folder.
    assert [p.name for p in Path(config.serving_root).iterdir() if p.name.isdigit()]


def test_pushed_bundle_predicts_raw_rows_like_the_saved_model_without_tensorflow(run, edge_python, tmp_path):
    _, _, inputs, tflite = run
    bundle = Path(recorded(tflite)["pushed_destination"].string_value)
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
    chosen = recorded(tflite)["chosen_variant"].string_value
    measured = recorded(tflite)[f"{chosen}_max_abs_diff"].double_value
    assert np.max(np.abs(edge - saved)) <= max(measured, 1e-5) * 1.5 + 0.02
    assert np.mean((edge > 0.5) == (saved > 0.5)) >= 0.98


def test_edge_client_refuses_a_row_without_a_required_column(run, edge_python, tmp_path):
    bundle = Path(recorded(run[3])["pushed_destination"].string_value)
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
    config.setdefault("techniques", ())
    settings = TFLiteConfig(eval_rows=400, representative_rows=100, latency_rows=20, batch_size=64, **config)
    executor.Executor().Do(
        {"model": [artifact("Trainer", "model")], "model_blessing": [blessing],
         "transform_graph": [artifact("Transform", "transform_graph")],
         "examples": [artifact("CsvExampleGen", "examples")]},
        {"tflite_models": [output]}, component.exec_properties(settings, str(push_root)))
    return output, push_root


def test_unblessed_model_is_neither_converted_nor_pushed(run, tmp_path, caplog):
    output, push_root = _do(run, tmp_path, blessed=0)
    assert tfx_property(output, "status") == executor.STATUS_NOT_BLESSED
    assert tfx_property(output, "pushed") == 0
    assert not push_root.exists() and not (tmp_path / "output" / "variants").exists()
    assert "not blessed" in caplog.text


def test_failed_conversions_push_nothing_and_say_why(run, tmp_path, caplog, monkeypatch):
    def fail(model, variant, *args, **kwargs):
        raise conversion.ConversionError(f"{variant}: needs non-builtin ops ['FlexAsString']")

    monkeypatch.setattr(conversion, "convert", fail)
    output, push_root = _do(run, tmp_path, variants=("float32", "int8"))
    assert tfx_property(output, "status") == executor.STATUS_NO_VARIANT
    reason = tfx_property(output, "reason")
    assert "float32: conversion failed" in reason and "int8: conversion failed" in reason
    assert tfx_property(output, "int8_converted") == 0
    assert not push_root.exists()
    assert "TFLite conversion of variant int8 failed" in caplog.text


def test_variant_outside_the_auc_budget_is_never_pushed(run, tmp_path, monkeypatch):
    """docs/edge.md: a variant is pushable only if its AUC >= SavedModel AUC - auc_budget.

    With a zero budget and every variant measured a hair below the SavedModel (the
    measurement is pinned, so the outcome does not depend on how int8 happens to score),
    nothing may be pushed and the reason must say why.
    """
    real_auc, measured = executor.auc, []

    def pinned_auc(labels, probabilities):  # noqa: ANN001, ANN202 - the SavedModel first, then variants
        measured.append(real_auc(labels, probabilities) if not measured else measured[0] - 1e-4)
        return measured[-1]

    monkeypatch.setattr(executor, "auc", pinned_auc)
    output, push_root = _do(run, tmp_path, variants=("int8",), auc_budget=0.0, int8_io=True)
    assert len(measured) == 2, "the SavedModel and the int8 variant are each measured once"
    assert tfx_property(output, "saved_model_auc") == pytest.approx(measured[0])
    assert tfx_property(output, "int8_auc") == pytest.approx(measured[0] - 1e-4)
    assert tfx_property(output, "int8_qualifies") == 0
    assert tfx_property(output, "status") == executor.STATUS_NO_VARIANT
    assert "int8: AUC" in tfx_property(output, "reason")
    assert tfx_property(output, "pushed") == 0
    assert not push_root.exists()


def test_a_student_too_weak_for_the_gate_is_not_pushed_though_it_is_the_smallest(run, tmp_path):
    # One hidden unit and a handful of steps: a real student, just not a good one.
    output, push_root = _do(run, tmp_path, variants=("float32",), techniques=("student",),
                            student_hidden_units=(1,), distillation_steps=3, finetune_rows=300)
    assert output.get_int_custom_property("student_int8_size_bytes") < output.get_int_custom_property(
        "float32_size_bytes")
    assert output.get_int_custom_property("student_int8_qualifies") == 0
    assert output.get_string_custom_property("chosen_variant") == "float32"
    report = json.loads((tmp_path / "output" / "report.json").read_text())
    [student] = [v for v in report["variants"] if v["name"] == "student_int8"]
    assert "below" in student["reason"] or "agrees with the SavedModel on" in student["reason"]
    [version] = [p for p in push_root.iterdir() if p.name.isdigit()]
    assert json.loads((version / "bundle.json").read_text())["variant"]["technique"] == "base"


def test_a_pushed_student_runs_on_the_edge_runtime_like_its_tflite_on_the_transform_graph(
        run, edge_python, tmp_path):
    # Only student variants are offered, under a gate that lets any student through:
    # whatever the gate pushes must keep edge parity, students included.
    output, push_root = _do(run, tmp_path, variants=(), techniques=("student",), distillation_steps=200,
                            finetune_rows=1000, auc_budget=1.0, slice_auc_budget=1.0, min_agreement=0.0)
    # Only student variants were built: whichever conversion is smaller is pushed.
    assert output.get_string_custom_property("chosen_variant") in {"student_int8", "student_dynamic_range"}
    [model] = run[2]["Trainer"]["model"]
    assert output.get_string_custom_property("student_teacher_model_uri") == model.uri
    [bundle] = [p for p in push_root.iterdir() if p.name.isdigit()]
    rows = _unseen_rows()
    edge = _edge_predict(edge_python, bundle, _write_csv(tmp_path / "unseen.csv", rows))
    on_graph = _on_transform_graph(run, rows, (bundle / "model.tflite").read_bytes())
    assert edge.shape == on_graph.shape == (len(rows),)
    assert np.max(np.abs(edge - on_graph)) < 1e-5


def test_a_compressed_bundle_ships_the_gzip_and_runs_on_the_edge_runtime(run, edge_python, tmp_path):
    # compress_model: the gate ranks by gzip bytes, the bundle holds model.tflite.gz only,
    # and the LiteRT-only client decompresses it: same predictions as the plain file.
    output, push_root = _do(run, tmp_path, variants=("float32", "int8"), compress_model=True)
    chosen = output.get_string_custom_property("chosen_variant")
    assert output.get_int_custom_property(f"{chosen}_shipped_bytes") == output.get_int_custom_property(
        f"{chosen}_gzip_bytes")
    [bundle] = [p for p in push_root.iterdir() if p.name.isdigit()]
    assert (bundle / "model.tflite.gz").exists() and not (bundle / "model.tflite").exists()
    assert json.loads((bundle / "preprocessing.json").read_text())["model_file"] == "model.tflite.gz"
    assert "gzip bytes" in (tmp_path / "output" / "report.md").read_text()
    rows = _unseen_rows()
    edge = _edge_predict(edge_python, bundle, _write_csv(tmp_path / "unseen.csv", rows))
    plain = (tmp_path / "output" / "variants" / f"{chosen}.tflite").read_bytes()
    assert gzip.decompress((bundle / "model.tflite.gz").read_bytes()) == plain
    assert np.max(np.abs(edge - _on_transform_graph(run, rows, plain))) < 1e-5


def _on_transform_graph(run, rows: list[dict[str, str]], flatbuffer: bytes) -> np.ndarray:
    """A .tflite's predictions on the rows transformed by the SavedModel's own Transform signature."""
    import tensorflow_transform as tft

    [model] = run[2]["Trainer"]["model"]
    [transform_graph] = run[2]["Transform"]["transform_graph"]
    raw_spec = tft.TFTransformOutput(transform_graph.uri).raw_feature_spec()  # with the label's source
    transformed = tf.saved_model.load(f"{model.uri}/Format-Serving").signatures["transform_features"]
    out = transformed(examples=tf.constant(rows_to_examples(rows, raw_spec)))
    inputs = executor._model_inputs({k: v.numpy() for k, v in out.items()})
    return executor.measure.tflite_model(flatbuffer, output=executor.OUTPUT_NAME)(inputs)
