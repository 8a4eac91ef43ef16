"""Raw rows <-> serialized ``tf.Example``s, typed by Transform's raw feature spec.

The edge client speaks raw rows (CSV cells); the SavedModel and the Transform graph
speak serialized ``tf.Example``s. These two functions translate between them so the
component (and the tests) can feed both the same trips.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import tensorflow as tf
from tfx.dsl.io import fileio


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def row_to_example(row: Mapping[str, Any], raw_spec: Mapping[str, Any]) -> bytes:
    """One raw row as a serialized tf.Example; missing cells are left out, as CsvExampleGen does."""
    feature = {}
    for name, spec in raw_spec.items():
        value = row.get(name)
        if _is_missing(value):
            continue
        if spec.dtype == tf.string:
            data = value if isinstance(value, bytes) else str(value).encode("utf-8")
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
        elif spec.dtype == tf.int64:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(float(value))]))
        else:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def rows_to_examples(rows: Iterable[Mapping[str, Any]], raw_spec: Mapping[str, Any]) -> list[bytes]:
    return [row_to_example(row, raw_spec) for row in rows]


def example_to_row(serialized: bytes) -> dict[str, Any]:
    """A tf.Example as a raw row: one value per present feature (strings decoded)."""
    example = tf.train.Example.FromString(serialized)
    row: dict[str, Any] = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        if not values:
            continue
        value = values[0]
        row[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    return row


def read_split(examples_uri: str, split: str, limit: int) -> list[bytes]:
    """Up to ``limit`` serialized examples of one split of an Examples artifact (ExampleGen layout)."""
    files = sorted(fileio.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise FileNotFoundError(f"no files for split {split!r} under {examples_uri}")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit)
    return [record.numpy() for record in dataset]


def batched(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
