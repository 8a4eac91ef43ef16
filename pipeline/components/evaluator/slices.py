"""Per-slice metrics of a model over a whole split, streamed in batches, computed in numpy.

The model runs on batches of serialized examples through the same two signatures TFMA
uses (the preprocessing function for the label, the serving signature for the
prediction). Per row only the label, the prediction and the slicing features' values are
kept (about 20 bytes), then :func:`pipeline.binary_metrics.evaluator_metrics_by_slice`
computes every slice's metrics with one sort per feature. Memory: the batch in flight
plus those columns (10 MiB per 500,000 eval rows), not the examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.dsl.io import fileio
from tfx_bsl.coders import example_coder

from pipeline.binary_metrics import calibration_buckets, evaluator_metrics, evaluator_metrics_by_slice

BATCH_ROWS = 8192


def _files(split_uris: Sequence[str]) -> list[str]:
    files = sorted(path for uri in split_uris for path in fileio.glob(os.path.join(uri, "*")))
    if not files:
        raise FileNotFoundError(f"no example files under {', '.join(split_uris)}")
    return files


def _batches(files: Sequence[str], rows: int) -> Iterator[np.ndarray]:
    """Serialized examples, ``rows`` at a time; ExampleGen writes gzipped TFRecord files."""
    compression = "GZIP" if all(f.endswith(".gz") for f in files) else ""
    dataset = tf.data.TFRecordDataset(list(files), compression_type=compression,
                                      num_parallel_reads=min(len(files), 4))
    yield from dataset.batch(rows).prefetch(2)


def _first_values(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(each row's first value, whether the row has one) of a decoded list column."""
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
    present = lengths > 0
    offsets = column.offsets.to_numpy()[:-1][present]
    flat = column.values.to_numpy(zero_copy_only=False)
    values = flat[offsets]
    if values.dtype == object:  # bytes: fixed-width, not one Python object per row
        values = values.astype(bytes)
    full = np.zeros(len(column), dtype=values.dtype)
    full[present] = values
    return full, present


def _prediction(outputs: dict[str, tf.Tensor], spec: tfma.ModelSpec) -> np.ndarray:
    if spec.prediction_key:
        key = spec.prediction_key
    elif len(outputs) == 1:
        key = next(iter(outputs))
    else:
        raise ValueError(f"the serving signature has outputs {sorted(outputs)}: set the model spec's "
                         "prediction_key")
    return outputs[key].numpy().reshape(-1).astype(np.float32)


def evaluate(split_uris: Sequence[str], model_path: str, spec: tfma.ModelSpec,
             features: Sequence[str], batch_rows: int = BATCH_ROWS) -> dict[str, Any]:
    """``{"examples", "overall", "calibration_buckets", "slices": {"feature=value": metrics}}``, every row."""
    model = tf.saved_model.load(model_path)
    serving = model.signatures[spec.signature_name or "serving_default"]
    preprocess = [model.signatures[name] for name in spec.preprocessing_function_names]
    decoder = example_coder.ExamplesToRecordBatchDecoder()
    labels, scores = [], []
    values: dict[str, list[np.ndarray]] = {f: [] for f in features}
    present: dict[str, list[np.ndarray]] = {f: [] for f in features}
    for batch in _batches(_files(split_uris), batch_rows):
        transformed: dict[str, tf.Tensor] = {}
        for function in preprocess:
            transformed.update(function(examples=batch))
        labels.append(transformed[spec.label_key].numpy().reshape(-1).astype(bool))
        scores.append(_prediction(serving(examples=batch), spec))
        record_batch = decoder.DecodeBatch(list(batch.numpy()))
        for feature in features:
            index = record_batch.schema.get_field_index(feature)
            if index < 0:  # no row of this batch has the feature
                values[feature].append(np.zeros(len(batch), dtype=np.int64))
                present[feature].append(np.zeros(len(batch), dtype=bool))
                continue
            column_values, column_present = _first_values(record_batch.column(index))
            values[feature].append(column_values)
            present[feature].append(column_present)
    if not labels:
        raise ValueError(f"no examples under {', '.join(split_uris)}")
    all_labels, all_scores = np.concatenate(labels), np.concatenate(scores)
    return {
        "examples": int(len(all_labels)),
        "overall": evaluator_metrics(all_labels, all_scores),
        "calibration_buckets": calibration_buckets(all_labels, all_scores),
        "slices": evaluator_metrics_by_slice(
            all_labels, all_scores, {f: _concat(values[f]) for f in features},
            {f: np.concatenate(present[f]) for f in features}),
    }


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    """Batches may differ in dtype (no value in one batch, wider strings in another)."""
    if any(p.dtype.kind == "S" for p in parts):
        parts = [p if p.dtype.kind == "S" else np.zeros(len(p), dtype="S1") for p in parts]
    return np.concatenate(parts)
