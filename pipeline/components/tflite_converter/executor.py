"""TFLite component executor: optimise, convert, measure, gate, bundle and push one blessed model.

Steps, each recorded on the output artifact (custom properties in MLMD, plus
``report.json`` / ``report.md`` in the artifact folder):

1. Refuse unblessed models: nothing is converted or pushed.
2. Optimise: each configured TFMOT technique (pruning, QAT, clustering, pruning-
   preserving clustering) fine-tunes a copy of the blessed model, and distillation
   trains a smaller student on its soft predictions, all on the pipeline's own training
   examples transformed by the SavedModel's Transform signature. The blessed model is
   the teacher of every variant; its artifact id is recorded on the output.
3. Convert the blessed model and every optimised model to their configured variants
   (builtin ops only); int8 calibrates on the same training examples.
4. Measure each variant on the eval split on the edge runtime (``ai-edge-litert``)
   against the SavedModel, overall and per slice of the Evaluator's slicing features:
   bytes, gzip bytes, parameters, single-row and batch latency, AUC, accuracy,
   calibration, label agreement. TFMA is not used for this: it would run one Beam job
   per variant (a dozen per run) on TensorFlow's interpreter, not on LiteRT; these
   metrics and the slicing by raw feature value are the same, in numpy (``gate.py``).
5. Gate (``gate.GatePolicy``): the smallest variant within the overall AUC budget, the
   per-slice budget and the agreement floor; every variant gets the reason why it was
   or was not chosen.
6. Bundle: the chosen ``.tflite``, the preprocessing spec derived from the Transform
   graph and the reference client; the bundle is run on the raw eval rows (as a device
   would) and must agree with the SavedModel before it is published, atomically.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import types
from tfx.components.util import model_utils
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from models import features
from pipeline.components import tfx_keys
from pipeline.components.publish import publish_dir
from pipeline.components.safe_pusher.spec import REUSED_EXISTING_PUSH
from pipeline.components.tflite_converter import conversion, edge_client, measure, optimization, report
from pipeline.components.tflite_converter import preprocessing_spec as spec_lib
from pipeline.components.tflite_converter.examples import example_to_row, read_split
from pipeline.components.tflite_converter.gate import (
    GatePolicy,
    VariantResult,
    accuracy,
    apply_gate,
    auc,
    expected_calibration_error,
    slice_metrics,
)
from pipeline.components.tflite_converter.spec import (
    BLESSING_KEY,
    CHOSEN_TECHNIQUE,
    CHOSEN_VARIANT,
    EXAMPLES_KEY,
    MODEL_KEY,
    OUTPUT_KEY,
    REASON,
    REPORT_FILE,
    REPORT_MARKDOWN_FILE,
    STATUS,
    STATUS_BUNDLE_CHECK_FAILED,
    STATUS_NO_VARIANT,
    STATUS_NOT_BLESSED,
    STATUS_PUSHED,
    STUDENT_TEACHER_MODEL_ID,
    STUDENT_TEACHER_MODEL_URI,
    TRANSFORM_GRAPH_KEY,
    variant_property,
)

log = logging.getLogger(__name__)

BUNDLE_MODEL_FILE = "model.tflite"
# The bundle's model when it ships compressed (``compress_model``); the edge client decompresses it.
BUNDLE_COMPRESSED_MODEL_FILE = "model.tflite.gz"
# What a device installs to run a bundle (also used by the edge-runtime test).
EDGE_REQUIREMENTS = os.path.join(os.path.dirname(__file__), "edge_requirements.txt")
OUTPUT_NAME = "probability"
# The bundle, run on raw rows through the numpy preprocessing, may differ from the same
# variant run on the Transform graph's outputs only by float rounding.
BUNDLE_TOLERANCE = 1e-4

# Techniques whose weights are mostly zeros: their conversions also try TFLite's sparse encoding.
SPARSE_TECHNIQUES = ("pruned", "pruned_clustered")
# The sparse file must predict like the dense one (same weights, different storage).
SPARSE_TOLERANCE = 1e-3
# The slice value of an eval row that lacks the slicing feature.
MISSING = "(missing)"


def _variants(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _gzip(flatbuffer: bytes) -> bytes:
    """Deterministic gzip (no timestamp): the same model gives the same bytes."""
    return gzip.compress(flatbuffer, compresslevel=9, mtime=0)


def _is_blessed(blessings: Sequence[types.Artifact]) -> bool:
    return bool(blessings) and all(model_utils.is_model_blessed(b) for b in blessings)


def _model_inputs(transformed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    inputs = {name: np.asarray(transformed[name], np.float32).reshape(-1, 1)
              for name in features.dense_feature_names()}
    inputs.update({name: np.asarray(transformed[name], np.int64).reshape(-1, 1)
                   for name in features.categorical_feature_names()})
    return inputs


def _transform(serving_model: Any, serialized: Sequence[bytes], batch: int = 1024) -> dict[str, np.ndarray]:
    """The SavedModel's own ``transform_features`` signature on raw examples (includes the label)."""
    transform = serving_model.signatures["transform_features"]
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(serialized), batch):
        out = transform(examples=tf.constant(list(serialized[start:start + batch])))
        for name, tensor in out.items():
            parts.setdefault(name, []).append(tensor.numpy().reshape(-1))
    return {name: np.concatenate(values) for name, values in parts.items()}


def _representative(inputs: Mapping[str, np.ndarray]) -> conversion.RepresentativeData:
    rows = len(next(iter(inputs.values())))

    def generate():  # noqa: ANN202 - the converter's protocol
        for i in range(rows):
            yield {name: values[i:i + 1] for name, values in inputs.items()}

    return generate


def _slice_columns(serialized: Sequence[bytes], slice_features: Sequence[str]) -> dict[str, np.ndarray]:
    """The raw value of every slicing feature per eval row, as the Evaluator slices them."""
    rows = [example_to_row(s) for s in serialized]
    return {feature: np.array([str(row.get(feature, MISSING)) for row in rows], dtype=object)
            for feature in slice_features}


def _fine_tuning(exec_properties: Mapping[str, Any]) -> optimization.FineTuning:
    return optimization.FineTuning(
        steps=int(exec_properties["finetune_steps"]),
        batch_size=int(exec_properties["finetune_batch_size"]),
        learning_rate=float(exec_properties["finetune_learning_rate"]),
        sparsity=float(exec_properties["pruning_sparsity"]),
        clusters=int(exec_properties["clusters"]),
        temperature=float(exec_properties["distillation_temperature"]),
        label_weight=float(exec_properties["distillation_label_weight"]),
        distillation_steps=int(exec_properties["distillation_steps"]),
        student_hidden_units=tuple(int(u) for u in _variants(exec_properties["student_hidden_units"])),
        student_embedding_dim=int(exec_properties["student_embedding_dim"]),
    )


@dataclass
class _Measuring:
    """What every variant is measured against (the SavedModel on the same eval rows)."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray
    saved_probabilities: np.ndarray
    slices: dict[str, np.ndarray]
    latency_rows: int
    batch_size: int


def _runtime_problem(flatbuffer: bytes, measuring: _Measuring) -> str:
    """Why the edge runtime cannot run a model on one row and on a batch, or ''."""
    try:
        model = measure.tflite_model(flatbuffer, output=OUTPUT_NAME)
        for rows in (1, measuring.batch_size):
            model(measure.rows_of(measuring.inputs, 0, rows))
    except Exception as error:  # the runtime raises several types; the message is what matters
        return f"does not run on {measure.runtime_name()}: {type(error).__name__}: {str(error)[:300]}"
    return ""


def _differs(candidate: bytes, flatbuffer: bytes, measuring: _Measuring) -> str:
    """Why ``candidate`` does not predict like ``flatbuffer`` on the eval rows, or ''."""
    mine = measure.predict(measure.tflite_model(candidate, output=OUTPUT_NAME), measuring.inputs)
    theirs = measure.predict(measure.tflite_model(flatbuffer, output=OUTPUT_NAME), measuring.inputs)
    diff = float(np.max(np.abs(mine - theirs)))
    return f"predicts unlike the dense file (max diff {diff:.3f})" if diff > SPARSE_TOLERANCE else ""


class Executor(base_executor.BaseExecutor):
    """Converts, measures, gates and pushes; see the module docstring."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        output = artifact_utils.get_single_instance(output_dict[OUTPUT_KEY])
        output.set_int_custom_property(tfx_keys.PUSHED, 0)
        if not _is_blessed(input_dict.get(BLESSING_KEY, [])):
            self._finish(output, STATUS_NOT_BLESSED,
                         "model not blessed by the Evaluator: nothing converted or pushed")
            return

        model_artifact = artifact_utils.get_single_instance(input_dict[MODEL_KEY])
        model_path = path_utils.serving_model_path(model_artifact.uri)
        examples_uri = artifact_utils.get_single_uri(input_dict[EXAMPLES_KEY])
        tft_output = tft.TFTransformOutput(artifact_utils.get_single_uri(input_dict[TRANSFORM_GRAPH_KEY]))
        policy = GatePolicy(
            auc_budget=float(exec_properties["auc_budget"]),
            slice_auc_budget=float(exec_properties.get("slice_auc_budget", GatePolicy.slice_auc_budget)),
            min_slice_examples=int(exec_properties.get("min_slice_examples", GatePolicy.min_slice_examples)),
            min_slice_class_examples=int(exec_properties.get("min_slice_class_examples",
                                                             GatePolicy.min_slice_class_examples)),
            min_agreement=float(exec_properties.get("min_agreement", GatePolicy.min_agreement)),
        )
        slice_features = _variants(exec_properties.get("slice_features", ""))
        techniques = _variants(exec_properties.get("techniques", ""))
        tuning = _fine_tuning(exec_properties) if techniques else None
        eval_rows = int(exec_properties["eval_rows"])
        batch_size = int(exec_properties["batch_size"])

        import tf_keras as keras

        keras_model = keras.models.load_model(model_path, compile=False)
        serving_model = tf.saved_model.load(model_path)
        serving = serving_model.signatures["serving_default"]

        eval_serialized = read_split(examples_uri, "eval", eval_rows)
        eval_transformed = _transform(serving_model, eval_serialized)
        labels = eval_transformed[features.LABEL_KEY]
        saved_probabilities = measure.saved_model_predict(serving, eval_serialized)
        measuring = _Measuring(_model_inputs(eval_transformed), labels, saved_probabilities,
                               _slice_columns(eval_serialized, slice_features),
                               int(exec_properties["latency_rows"]), batch_size)
        reference_slices = slice_metrics(labels, saved_probabilities, measuring.slices)
        reference = {
            "auc": auc(labels, saved_probabilities),
            "accuracy": accuracy(labels, saved_probabilities),
            "calibration_error": expected_calibration_error(labels, saved_probabilities),
            "mean_probability": float(np.mean(saved_probabilities)),
            "single_row_ms": measure.saved_model_latency(serving, eval_serialized, measuring.latency_rows),
            "eval_rows": len(eval_serialized),
            "batch_size": batch_size,
            "params": optimization.parameter_counts(keras_model)[0],
            "runtime": measure.runtime_name(),
        }
        log.info("SavedModel on %d eval rows: AUC %.4f", len(eval_serialized), reference["auc"])

        train_rows = max(int(exec_properties["representative_rows"]),
                         int(exec_properties.get("finetune_rows", 0)) if techniques else 0)
        train_transformed = _transform(serving_model, read_split(examples_uri, "train", train_rows))
        train_inputs = _model_inputs(train_transformed)
        train_labels = np.asarray(train_transformed[features.LABEL_KEY], np.float32)
        calibration_rows = int(exec_properties["representative_rows"])
        representative = _representative({name: values[:calibration_rows]
                                          for name, values in train_inputs.items()})
        if tuning is not None:
            self._record_tuning(output, tuning, techniques, len(train_labels), model_artifact)

        variants_dir = os.path.join(output.uri, "variants")
        fileio.makedirs(variants_dir)
        base_conversions = _variants(exec_properties["variants"])
        sources: list[tuple[str, Any, list[str]]] = [("base", keras_model, base_conversions)]
        technique_conversions = _variants(exec_properties.get("technique_conversions", "int8"))
        results: list[VariantResult] = []
        for technique in techniques:
            conversions = ["int8"] if technique == "qat" else technique_conversions
            try:
                model = optimization.optimize(technique, keras_model, train_inputs, train_labels, tuning)
            except optimization.OptimizationError as error:
                log.error("TFMOT technique %s failed: %s", technique, error)
                results += [VariantResult(name=f"{technique}_{c}", converted=False, technique=technique,
                                          conversion=c, error=str(error)[:500]) for c in conversions]
                continue
            if technique == "student":
                # Kept beside the variants so the student can be inspected or served; its
                # teacher is this execution's input Model (recorded by _record_tuning).
                student_dir = os.path.join(output.uri, "student")
                model.save(student_dir, save_format="tf")
                output.set_string_custom_property("student_model_uri", student_dir)
            sources.append((technique, model, conversions))

        flatbuffers = {}
        for technique, model, conversions in sources:
            params, nonzero = optimization.parameter_counts(model)
            for conversion_name in conversions:
                name = conversion_name if technique == "base" else f"{technique}_{conversion_name}"
                result, flatbuffer = self._variant(
                    name, technique, conversion_name, model, representative,
                    bool(exec_properties["int8_io"]), measuring)
                result.params, result.nonzero_params = params, nonzero
                results.append(result)
                if flatbuffer is not None:
                    flatbuffers[name] = flatbuffer
                    with fileio.open(os.path.join(variants_dir, f"{name}.tflite"), "wb") as handle:
                        handle.write(flatbuffer)

        compress = bool(exec_properties.get("compress_model", 0))
        for result in results:
            result.shipped_bytes = result.gzip_bytes if compress else result.size_bytes
        chosen = apply_gate(results, reference["auc"], policy, reference_slices)
        for result in results:
            log.info("variant %s: %s", result.name, result.reason)
        self._record_variants(output, results, reference)
        extra = {"policy": asdict(policy), "slice_features": slice_features,
                 "saved_model_slices": {k: asdict(v) for k, v in reference_slices.items()},
                 "teacher": {"model_artifact_id": model_artifact.id, "model_uri": model_artifact.uri},
                 "fine_tuning": asdict(tuning) if tuning else None, "compress_model": compress}
        if chosen is None:
            reasons = "; ".join(f"{r.name}: {r.reason}" for r in results) or "no variants configured"
            self._finish(output, STATUS_NO_VARIANT, f"no variant qualifies, nothing pushed ({reasons})",
                         results, reference, extra)
            return

        bundle_dir = os.path.join(output.uri, "bundle")
        graph = spec_lib.TransformGraph(tft_output)
        model_file = BUNDLE_COMPRESSED_MODEL_FILE if compress else BUNDLE_MODEL_FILE
        spec = spec_lib.derive(graph, model_file, OUTPUT_NAME)
        # The bundle is built and run in a local folder, as a device holds it (the edge client reads
        # local files only), then copied whole into the artifact, wherever that lives (gs://, NFS).
        with tempfile.TemporaryDirectory(prefix="edge-bundle-") as local_bundle:
            self._write_bundle(local_bundle, spec, flatbuffers[chosen.name], chosen, reference,
                               model_artifact)
            problem = self._check_bundle(output, local_bundle, spec, graph, eval_serialized,
                                         eval_transformed, saved_probabilities, chosen)
            io_utils.copy_dir(local_bundle, bundle_dir)
        if problem:
            self._finish(output, STATUS_BUNDLE_CHECK_FAILED, f"bundle not pushed: {problem}",
                         results, reference, extra)
            return

        publication = publish_dir(
            bundle_dir, exec_properties["push_root"], source_uri=model_artifact.uri,
            info={"model_artifact_id": model_artifact.id, "variant": chosen.name,
                  "technique": chosen.technique},
            last_file=model_file,
        )
        output.set_string_custom_property(CHOSEN_VARIANT, chosen.name)
        output.set_string_custom_property(CHOSEN_TECHNIQUE, chosen.technique)
        output.set_int_custom_property(tfx_keys.PUSHED, 1)
        output.set_string_custom_property(tfx_keys.PUSHED_DESTINATION, publication.path)
        output.set_string_custom_property(tfx_keys.PUSHED_VERSION, publication.version)
        output.set_int_custom_property(REUSED_EXISTING_PUSH, int(publication.reused))
        self._finish(output, STATUS_PUSHED,
                     f"pushed {chosen.name} ({chosen.size_bytes} bytes, AUC {chosen.auc:.4f} vs SavedModel "
                     f"{reference['auc']:.4f}) to {publication.path}", results, reference, extra)

    def _record_tuning(self, output: types.Artifact, tuning: optimization.FineTuning, techniques: list[str],
                       rows: int, teacher: types.Artifact) -> None:
        """The TFMOT hyperparameters and the teacher, as MLMD properties of the output."""
        output.set_string_custom_property("techniques", ",".join(techniques))
        output.set_int_custom_property("finetune_rows", rows)
        output.set_int_custom_property("finetune_steps", tuning.steps)
        output.set_float_custom_property("finetune_learning_rate", tuning.learning_rate)
        if "pruned" in techniques or "pruned_clustered" in techniques:
            output.set_float_custom_property("pruning_sparsity", tuning.sparsity)
        if "clustered" in techniques or "pruned_clustered" in techniques:
            output.set_int_custom_property("clusters", tuning.clusters)
        if "student" in techniques:
            output.set_float_custom_property("distillation_temperature", tuning.temperature)
            output.set_float_custom_property("distillation_label_weight", tuning.label_weight)
            output.set_int_custom_property("distillation_steps", tuning.distillation_steps)
            output.set_string_custom_property("student_hidden_units",
                                              ",".join(str(u) for u in tuning.student_hidden_units))
            output.set_int_custom_property("student_embedding_dim", tuning.student_embedding_dim)
            # The student's teacher: the blessed Model artifact this execution consumed.
            output.set_int_custom_property(STUDENT_TEACHER_MODEL_ID, int(teacher.id or 0))
            output.set_string_custom_property(STUDENT_TEACHER_MODEL_URI, teacher.uri)

    def _variant(self, name: str, technique: str, conversion_name: str, keras_model: Any,
                 representative: conversion.RepresentativeData, int8_io: bool, measuring: _Measuring
                 ) -> tuple[VariantResult, bytes | None]:
        failed = VariantResult(name=name, converted=False, technique=technique, conversion=conversion_name)
        try:
            flatbuffer = conversion.convert(keras_model, conversion_name, representative, int8_io=int8_io)
            if technique in SPARSE_TECHNIQUES:
                sparse = conversion.convert(keras_model, conversion_name, representative, int8_io=int8_io,
                                            sparse=True)
                problem = _runtime_problem(sparse, measuring) or _differs(sparse, flatbuffer, measuring)
                # TFLite's sparse encoding pays only when the file is smaller and the runtime runs it
                # as the dense file (measured: LiteRT 2.3 returned a constant for a sparse int8 model).
                if len(sparse) < len(flatbuffer) and not problem:
                    flatbuffer, conversion_name = sparse, f"{conversion_name}+sparse"
                elif problem:
                    log.warning("variant %s: sparse encoding not used: %s", name, problem)
        except conversion.ConversionError as error:
            log.error("TFLite conversion of variant %s failed: %s", name, error)
            failed.error = str(error)[:500]
            return failed, None
        problem = _runtime_problem(flatbuffer, measuring)
        if problem:
            log.error("variant %s does not run: %s", name, problem)
            failed.error = problem
            return failed, None
        model = measure.tflite_model(flatbuffer, output=OUTPUT_NAME)
        probabilities = measure.predict(model, measuring.inputs)
        single_ms, batch_ms = measure.tflite_latency(model, measuring.inputs, measuring.latency_rows,
                                                     measuring.batch_size)
        labels, saved = measuring.labels, measuring.saved_probabilities
        result = VariantResult(
            name=name, converted=True, technique=technique, conversion=conversion_name,
            size_bytes=len(flatbuffer), gzip_bytes=len(_gzip(flatbuffer)),
            weight_bytes=conversion.weight_bytes(flatbuffer),
            auc=auc(labels, probabilities), accuracy=accuracy(labels, probabilities),
            calibration_error=expected_calibration_error(labels, probabilities),
            mean_probability=float(np.mean(probabilities)),
            max_abs_diff=float(np.max(np.abs(probabilities - saved))),
            label_agreement=float(np.mean((probabilities > 0.5) == (saved > 0.5))),
            single_row_ms=single_ms, batch_ms=batch_ms,
            slices=slice_metrics(labels, probabilities, measuring.slices),
        )
        return result, flatbuffer

    def _write_bundle(self, bundle_dir: str, spec: Mapping[str, Any], flatbuffer: bytes,
                      chosen: VariantResult, reference: Mapping[str, float],
                      model_artifact: types.Artifact) -> None:
        """Writes the bundle into a local folder (see ``Do``): plain file APIs are right here."""
        os.makedirs(bundle_dir, exist_ok=True)
        with open(os.path.join(bundle_dir, spec["model_file"]), "wb") as handle:
            handle.write(_gzip(flatbuffer) if spec["model_file"].endswith(".gz") else flatbuffer)
        with open(os.path.join(bundle_dir, edge_client.SPEC_FILE), "w") as handle:
            json.dump(spec, handle, indent=2)
        shutil.copyfile(edge_client.__file__, os.path.join(bundle_dir, "edge_client.py"))
        shutil.copyfile(EDGE_REQUIREMENTS, os.path.join(bundle_dir, "requirements.txt"))
        info = {"variant": chosen.as_dict(), "saved_model_reference": dict(reference),
                "model_uri": model_artifact.uri, "runtime": "ai-edge-litert (builtin ops only) + numpy"}
        with open(os.path.join(bundle_dir, "bundle.json"), "w") as handle:
            json.dump(info, handle, indent=2, default=str)

    def _check_bundle(self, output: types.Artifact, bundle_dir: str, spec: Mapping[str, Any],
                      graph: spec_lib.TransformGraph, serialized: Sequence[bytes],
                      transformed: Mapping[str, np.ndarray], saved_probabilities: np.ndarray,
                      chosen: VariantResult) -> str:
        """Runs the bundle as a device would; returns what is wrong, or ''."""
        rows = [example_to_row(s) for s in serialized]
        on_eval = spec_lib.check(spec, graph, rows, transformed)
        on_edge_cases = spec_lib.check_rows(spec, graph, spec_lib.edge_case_rows(graph, spec))
        from_constants = all(f.get("from_graph_constants", True) for f in spec["features"])
        output.set_float_custom_property("preprocessing_max_abs_diff",
                                         max(on_eval.max_numeric_diff, on_edge_cases.max_numeric_diff))
        output.set_int_custom_property("preprocessing_id_mismatches",
                                       on_eval.id_mismatches + on_edge_cases.id_mismatches)
        output.set_int_custom_property("preprocessing_from_graph_constants", int(from_constants))
        if not (on_eval.ok and on_edge_cases.ok):
            return (f"the preprocessing spec does not reproduce the Transform graph "
                    f"(eval: {on_eval}, edge cases: {on_edge_cases})")
        probabilities = edge_client.EdgeModel(bundle_dir).predict(rows)
        bundle_diff = float(np.max(np.abs(probabilities - saved_probabilities)))
        output.set_float_custom_property("bundle_max_abs_diff", bundle_diff)
        if bundle_diff > chosen.max_abs_diff + BUNDLE_TOLERANCE:
            return (f"the bundle on raw rows differs from the SavedModel by {bundle_diff:.2e}, more than the "
                    f"variant measured ({chosen.max_abs_diff:.2e})")
        return ""

    def _record_variants(self, output: types.Artifact, results: Sequence[VariantResult],
                         reference: Mapping[str, float]) -> None:
        for key, value in reference.items():
            if isinstance(value, str):
                output.set_string_custom_property(f"saved_model_{key}", value)
            else:
                output.set_float_custom_property(f"saved_model_{key}", float(value))
        for result in results:
            for key, value in result.as_dict().items():
                if key == "name":
                    continue
                name = variant_property(result.name, key)
                if isinstance(value, bool):
                    output.set_int_custom_property(name, int(value))
                elif isinstance(value, int):
                    output.set_int_custom_property(name, value)
                elif isinstance(value, float):
                    if not math.isnan(value):
                        output.set_float_custom_property(name, value)
                elif value:
                    output.set_string_custom_property(name, str(value))

    def _finish(self, output: types.Artifact, status: str, reason: str,
                results: Sequence[VariantResult] = (), reference: Mapping[str, float] | None = None,
                extra: Mapping[str, Any] | None = None) -> None:
        output.set_string_custom_property(STATUS, status)
        output.set_string_custom_property(REASON, reason)
        (log.info if status == STATUS_PUSHED else log.warning)("TFLite component: %s: %s", status, reason)
        summary = {"status": status, "reason": reason}
        fileio.makedirs(output.uri)
        with fileio.open(os.path.join(output.uri, REPORT_FILE), "w") as handle:
            handle.write(report.to_json(summary, results, reference or {}, extra or {}))
        with fileio.open(os.path.join(output.uri, REPORT_MARKDOWN_FILE), "w") as handle:
            if reference:
                handle.write(report.markdown(summary, results, reference, extra or {}))
            else:
                handle.write(f"# TFLite variants\n\nStatus: **{status}**: {reason}\n")
