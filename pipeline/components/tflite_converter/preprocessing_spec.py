"""The Transform step as data: what an edge device needs to encode a raw row.

Transform's graph holds its analyzer results (vocabularies, means, variances) inside a
TensorFlow SavedModel, which an edge device cannot run. This module extracts them:

* vocabularies are files of the Transform output (read through ``TFTransformOutput``);
* for each z-scored feature, the graph is evaluated on two probe values and the affine
  map ``(v - mean) / sqrt(var)`` is solved for ``mean`` and ``var``; each solution is
  then snapped to the exact float32 constant the graph captured (when exactly one
  captured constant is that close), so the device uses the analyzer's own numbers.

:func:`check` then replays the spec (with the bundle's own numpy client) on real rows
and compares it with the Transform graph; the component pushes nothing if they differ.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models import features
from pipeline.components.tflite_converter import edge_client
from pipeline.components.tflite_converter.examples import rows_to_examples

log = logging.getLogger(__name__)

# Probe values whose log1p is far apart (well-conditioned solve); integer-valued so
# they are valid for INT columns too.
PROBES = (0.0, 1000.0)
SNAP_TOLERANCE = 1e-4
MAX_NUMERIC_DIFF = 1e-5


class TransformGraph:
    """Transform's graph applied to serialized raw tf.Examples."""

    def __init__(self, tft_output: tft.TFTransformOutput) -> None:
        self.output = tft_output
        self.raw_spec = tft_output.raw_feature_spec()
        self._layer = tft_output.transform_features_layer()

    def __call__(self, serialized: Sequence[bytes]) -> dict[str, np.ndarray]:
        parsed = tf.io.parse_example(tf.constant(list(serialized)), self.raw_spec)
        return {name: tensor.numpy() for name, tensor in self._layer(parsed).items()}


def _probe_row(raw_spec: Mapping[str, Any]) -> dict[str, Any]:
    """A row with a neutral value in every required column (tf.Example parsing needs them)."""
    row: dict[str, Any] = {}
    for name, spec in raw_spec.items():
        if isinstance(spec, tf.io.FixedLenFeature):
            row[name] = "probe" if spec.dtype == tf.string else 0
    return row


def captured_float_constants(tft_output: tft.TFTransformOutput) -> list[float]:
    """Float32 scalars the Transform graph captured (its analyzer results), if readable."""
    try:
        loaded = tf.saved_model.load(tft_output.transform_savedmodel_dir)
        values = []
        for function in loaded.signatures.values():
            for external, _ in function.graph.captures:
                if external.dtype == tf.float32 and external.shape.rank == 0:
                    values.append(float(external.numpy()))
        return values
    except Exception as error:  # noqa: BLE001 - an optional refinement, the solve stands alone
        log.warning("could not read the Transform graph's constants (%s); using solved values", error)
        return []


def _snap(solved: float, candidates: Sequence[float]) -> tuple[float, bool]:
    close = {c for c in candidates if abs(c - solved) <= SNAP_TOLERANCE * max(1.0, abs(solved))}
    if len(close) == 1:
        return close.pop(), True
    return float(np.float32(solved)), False


def _z_score_feature(graph: TransformGraph, key: str, candidates: Sequence[float]) -> dict[str, Any]:
    base = _probe_row(graph.raw_spec)
    rows = [{**base, key: value} for value in PROBES]
    out = graph(rows_to_examples(rows, graph.raw_spec))[features.transformed_name(key)].reshape(-1)
    logged = np.log1p(np.asarray(PROBES, dtype=np.float32)).astype(np.float64)
    std = (logged[1] - logged[0]) / (float(out[1]) - float(out[0]))
    mean = logged[0] - float(out[0]) * std
    mean, mean_exact = _snap(mean, candidates)
    var, var_exact = _snap(std * std, candidates)
    spec = graph.raw_spec[key]
    return {
        "column": key,
        "model_input": features.transformed_name(key),
        "transform": "log1p_z_score",
        "dtype": spec.dtype.name,
        "required": isinstance(spec, tf.io.FixedLenFeature),
        "default": 0.0,
        "mean": mean,
        "var": var,
        "from_graph_constants": mean_exact and var_exact,
    }


def _vocabulary_feature(graph: TransformGraph, key: str) -> dict[str, Any]:
    words = [w.decode("utf-8") for w in graph.output.vocabulary_by_name(features.vocabulary_name(key))]
    return {
        "column": key,
        "model_input": features.transformed_name(key),
        "transform": "vocabulary",
        "dtype": "string",
        "required": isinstance(graph.raw_spec[key], tf.io.FixedLenFeature),
        "default": "",
        "vocabulary": words,
        # num_oov_buckets=1: every unseen value gets the id after the vocabulary.
        "oov_id": len(words),
    }


def derive(graph: TransformGraph, model_file: str, output: str, signature: str = "serving_default") -> dict:
    """The preprocessing spec for the features in ``models.features``."""
    if features.VOCABULARY_OOV_BUCKETS != 1:
        raise ValueError("the edge spec supports exactly one OOV bucket")
    candidates = captured_float_constants(graph.output)
    feature_specs = [_z_score_feature(graph, key, candidates) for key in features.LOG_NUMERIC_FEATURES]
    feature_specs += [_vocabulary_feature(graph, key) for key in features.VOCABULARY_FEATURES]
    return {
        "format": edge_client.SPEC_FORMAT,
        "version": edge_client.SPEC_VERSION,
        "model_file": model_file,
        "signature": signature,
        "output": output,
        "threshold": 0.5,
        "features": feature_specs,
    }


@dataclass(frozen=True)
class SpecCheck:
    """How far the spec's replay is from the Transform graph on some rows."""

    rows: int
    max_numeric_diff: float
    id_mismatches: int

    @property
    def ok(self) -> bool:
        return self.max_numeric_diff <= MAX_NUMERIC_DIFF and self.id_mismatches == 0


def edge_case_rows(graph: TransformGraph, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows real data rarely shows: unseen strings, negative and huge numbers, missing optionals."""
    base = _probe_row(graph.raw_spec)
    rows = []
    for feature in spec["features"]:
        column = feature["column"]
        if feature["transform"] == "vocabulary":
            unseen = ["never-seen-before", " Cash"]
            rows += [{**base, column: word} for word in [*feature["vocabulary"], *unseen]]
        else:
            rows += [{**base, column: value} for value in (-5, 0, 1, 7, 123, 100000)]
            if not feature["required"]:
                rows.append({**base, column: None})
    return rows


def check_rows(spec: Mapping[str, Any], graph: TransformGraph,
               rows: Sequence[Mapping[str, Any]]) -> SpecCheck:
    """Runs ``rows`` through the Transform graph and the spec, and compares."""
    return check(spec, graph, rows, graph(rows_to_examples(rows, graph.raw_spec)))


def check(spec: Mapping[str, Any], graph: TransformGraph, rows: Sequence[Mapping[str, Any]],
          transformed: Mapping[str, np.ndarray]) -> SpecCheck:
    """Replays ``spec`` on ``rows`` and compares with ``transformed`` (the graph's outputs)."""
    replay = edge_client.Preprocessor(spec)(rows)
    max_diff, mismatches = 0.0, 0
    for feature in spec["features"]:
        name = feature["model_input"]
        expected = np.asarray(transformed[name]).reshape(-1)
        got = replay[name].reshape(-1)
        if feature["transform"] == "vocabulary":
            mismatches += int(np.sum(expected != got))
        else:
            max_diff = max(max_diff, float(np.max(np.abs(expected - got))) if len(got) else 0.0)
    return SpecCheck(len(rows), max_diff, mismatches)
