"""TFLite component executor: convert, measure, gate, bundle and push one blessed model.

Steps, each recorded on the output artifact (custom properties in MLMD, plus
``report.json`` / ``report.md`` in the artifact folder):

1. Refuse unblessed models: nothing is converted or pushed.
2. Convert the Keras model to every configured variant (builtin ops only); the int8
   variant calibrates on the pipeline's own training examples, transformed.
3. Measure each variant on the eval split against the SavedModel: size, single-row and
   batch latency, AUC, accuracy, max |probability difference|, label agreement.
4. Gate: the smallest variant within ``auc_budget`` of the SavedModel's AUC.
5. Bundle: the chosen ``.tflite``, the preprocessing spec derived from the Transform
   graph and the reference client; the bundle is run on the raw eval rows (as a device
   would) and must agree with the SavedModel before it is published, atomically.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
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
from pipeline.components.tflite_converter import conversion, edge_client, measure, report
from pipeline.components.tflite_converter import preprocessing_spec as spec_lib
from pipeline.components.tflite_converter.examples import example_to_row, read_split
from pipeline.components.tflite_converter.gate import VariantResult, accuracy, apply_gate, auc
from pipeline.components.tflite_converter.spec import (
    BLESSING_KEY,
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
    TRANSFORM_GRAPH_KEY,
    variant_property,
)

log = logging.getLogger(__name__)

BUNDLE_MODEL_FILE = "model.tflite"
# What a device installs to run a bundle (also used by the edge-runtime test).
EDGE_REQUIREMENTS = os.path.join(os.path.dirname(__file__), "edge_requirements.txt")
OUTPUT_NAME = "probability"
# The bundle, run on raw rows through the numpy preprocessing, may differ from the same
# variant run on the Transform graph's outputs only by float rounding.
BUNDLE_TOLERANCE = 1e-4

def _variants(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


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
        budget = float(exec_properties["auc_budget"])
        eval_rows = int(exec_properties["eval_rows"])
        latency_rows = int(exec_properties["latency_rows"])
        batch_size = int(exec_properties["batch_size"])

        import tf_keras as keras

        keras_model = keras.models.load_model(model_path, compile=False)
        serving_model = tf.saved_model.load(model_path)
        serving = serving_model.signatures["serving_default"]

        eval_serialized = read_split(examples_uri, "eval", eval_rows)
        eval_transformed = _transform(serving_model, eval_serialized)
        labels = eval_transformed[features.LABEL_KEY]
        eval_inputs = _model_inputs(eval_transformed)
        saved_probabilities = measure.saved_model_predict(serving, eval_serialized)
        reference = {
            "auc": auc(labels, saved_probabilities),
            "accuracy": accuracy(labels, saved_probabilities),
            "single_row_ms": measure.saved_model_latency(serving, eval_serialized, latency_rows),
            "eval_rows": len(eval_serialized),
            "batch_size": batch_size,
        }
        log.info("SavedModel on %d eval rows: AUC %.4f", len(eval_serialized), reference["auc"])

        train_serialized = read_split(examples_uri, "train", int(exec_properties["representative_rows"]))
        representative = _representative(_model_inputs(_transform(serving_model, train_serialized)))

        variants_dir = os.path.join(output.uri, "variants")
        fileio.makedirs(variants_dir)
        results, flatbuffers = [], {}
        for name in _variants(exec_properties["variants"]):
            result, flatbuffer = self._variant(
                name, keras_model, representative, bool(exec_properties["int8_io"]),
                eval_inputs, labels, saved_probabilities, latency_rows, batch_size)
            results.append(result)
            if flatbuffer is not None:
                flatbuffers[name] = flatbuffer
                with fileio.open(os.path.join(variants_dir, f"{name}.tflite"), "wb") as handle:
                    handle.write(flatbuffer)

        chosen = apply_gate(results, reference["auc"], budget)
        for result in results:
            log.info("variant %s: %s", result.name, result.reason)
        self._record_variants(output, results, reference)
        if chosen is None:
            reasons = "; ".join(f"{r.name}: {r.reason}" for r in results) or "no variants configured"
            self._finish(output, STATUS_NO_VARIANT, f"no variant qualifies, nothing pushed ({reasons})",
                         results, reference)
            return

        bundle_dir = os.path.join(output.uri, "bundle")
        graph = spec_lib.TransformGraph(tft_output)
        spec = spec_lib.derive(graph, BUNDLE_MODEL_FILE, OUTPUT_NAME)
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
                         results, reference)
            return

        publication = publish_dir(
            bundle_dir, exec_properties["push_root"], source_uri=model_artifact.uri,
            info={"model_artifact_id": model_artifact.id, "variant": chosen.name},
            last_file=BUNDLE_MODEL_FILE,
        )
        output.set_string_custom_property(CHOSEN_VARIANT, chosen.name)
        output.set_int_custom_property(tfx_keys.PUSHED, 1)
        output.set_string_custom_property(tfx_keys.PUSHED_DESTINATION, publication.path)
        output.set_string_custom_property(tfx_keys.PUSHED_VERSION, publication.version)
        output.set_int_custom_property(REUSED_EXISTING_PUSH, int(publication.reused))
        self._finish(output, STATUS_PUSHED,
                     f"pushed {chosen.name} ({chosen.size_bytes} bytes, AUC {chosen.auc:.4f} vs SavedModel "
                     f"{reference['auc']:.4f}) to {publication.path}", results, reference)

    def _variant(self, name: str, keras_model: Any, representative: conversion.RepresentativeData,
                 int8_io: bool, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
                 saved_probabilities: np.ndarray, latency_rows: int, batch_size: int
                 ) -> tuple[VariantResult, bytes | None]:
        try:
            flatbuffer = conversion.convert(keras_model, name, representative, int8_io=int8_io)
        except conversion.ConversionError as error:
            log.error("TFLite conversion of variant %s failed: %s", name, error)
            return VariantResult(name=name, converted=False, error=str(error)[:500]), None
        model = measure.tflite_model(flatbuffer, output=OUTPUT_NAME)
        probabilities = measure.predict(model, inputs)
        single_ms, batch_ms = measure.tflite_latency(model, inputs, latency_rows, batch_size)
        result = VariantResult(
            name=name, converted=True, size_bytes=len(flatbuffer),
            weight_bytes=conversion.weight_bytes(flatbuffer),
            auc=auc(labels, probabilities), accuracy=accuracy(labels, probabilities),
            max_abs_diff=float(np.max(np.abs(probabilities - saved_probabilities))),
            label_agreement=float(np.mean((probabilities > 0.5) == (saved_probabilities > 0.5))),
            single_row_ms=single_ms, batch_ms=batch_ms,
        )
        return result, flatbuffer

    def _write_bundle(self, bundle_dir: str, spec: Mapping[str, Any], flatbuffer: bytes,
                      chosen: VariantResult, reference: Mapping[str, float],
                      model_artifact: types.Artifact) -> None:
        """Writes the bundle into a local folder (see ``Do``): plain file APIs are right here."""
        os.makedirs(bundle_dir, exist_ok=True)
        with open(os.path.join(bundle_dir, BUNDLE_MODEL_FILE), "wb") as handle:
            handle.write(flatbuffer)
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
        probabilities = edge_client.EdgeModel(bundle_dir, interpreter_class=tf.lite.Interpreter).predict(rows)
        bundle_diff = float(np.max(np.abs(probabilities - saved_probabilities)))
        output.set_float_custom_property("bundle_max_abs_diff", bundle_diff)
        if bundle_diff > chosen.max_abs_diff + BUNDLE_TOLERANCE:
            return (f"the bundle on raw rows differs from the SavedModel by {bundle_diff:.2e}, more than the "
                    f"variant measured ({chosen.max_abs_diff:.2e})")
        return ""

    def _record_variants(self, output: types.Artifact, results: Sequence[VariantResult],
                         reference: Mapping[str, float]) -> None:
        for key, value in reference.items():
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
                results: Sequence[VariantResult] = (), reference: Mapping[str, float] | None = None) -> None:
        output.set_string_custom_property(STATUS, status)
        output.set_string_custom_property(REASON, reason)
        (log.info if status == STATUS_PUSHED else log.warning)("TFLite component: %s: %s", status, reason)
        summary = {"status": status, "reason": reason}
        fileio.makedirs(output.uri)
        with fileio.open(os.path.join(output.uri, REPORT_FILE), "w") as handle:
            handle.write(report.to_json(summary, results, reference or {}))
        with fileio.open(os.path.join(output.uri, REPORT_MARKDOWN_FILE), "w") as handle:
            if reference:
                handle.write(report.markdown(summary, results, reference))
            else:
                handle.write(f"# TFLite variants\n\nStatus: **{status}**: {reason}\n")
