"""The Evaluator's per-slice pass: streamed batches of a real SavedModel's predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from pipeline.binary_metrics import evaluator_metrics, evaluator_metrics_by_slice
from pipeline.components.evaluator import slices

ROWS = 40
PAYMENTS = ["Cash", "Credit Card", "Mobile"]


class _Model(tf.Module):
    """The two signatures TFMA uses: a label from the preprocessing one, a probability from serving."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples: tf.Tensor) -> dict[str, tf.Tensor]:
        fare = tf.io.parse_example(examples, {"fare": tf.io.FixedLenFeature([], tf.float32)})["fare"]
        return {"outputs": tf.sigmoid(fare - 10.0)[:, None]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform(self, examples: tf.Tensor) -> dict[str, tf.Tensor]:
        spec = {"fare": tf.io.FixedLenFeature([], tf.float32), "tips": tf.io.FixedLenFeature([], tf.float32)}
        parsed = tf.io.parse_example(examples, spec)
        return {"big_tipper": tf.cast(parsed["tips"] > 0.2 * parsed["fare"], tf.int64)}


def _example(fare: float, tips: float, hour: int, payment: str | None) -> bytes:
    feature = {"fare": tf.train.Feature(float_list=tf.train.FloatList(value=[fare])),
               "tips": tf.train.Feature(float_list=tf.train.FloatList(value=[tips])),
               "trip_start_hour": tf.train.Feature(int64_list=tf.train.Int64List(value=[hour]))}
    if payment is not None:
        feature["payment_type"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[payment.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.fixture(scope="module")
def eval_split(tmp_path_factory):
    """A SavedModel and an eval split in two gzipped files; the first rows lack payment_type."""
    root = tmp_path_factory.mktemp("slices")
    model = _Model()
    tf.saved_model.save(model, str(root / "model"),
                        signatures={"serving_default": model.serve, "transform_features": model.transform})
    rng = np.random.default_rng(5)
    fares = rng.uniform(2, 20, ROWS).astype(np.float32)
    tips = (fares * rng.uniform(0, 0.4, ROWS)).astype(np.float32)
    hours = rng.integers(0, 24, ROWS)
    payments = [None] * 4 + [PAYMENTS[i] for i in rng.integers(0, 3, ROWS - 4)]
    split = root / "Split-eval"
    split.mkdir()
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for part, rows in enumerate((range(0, 25), range(25, ROWS))):
        with tf.io.TFRecordWriter(str(split / f"data_tfrecord-0000{part}-of-00002.gz"), options) as writer:
            for i in rows:
                writer.write(_example(float(fares[i]), float(tips[i]), int(hours[i]), payments[i]))
    labels = tips > np.float32(0.2) * fares
    scores = 1 / (1 + np.exp(-(fares.astype(np.float64) - 10.0)))
    return root, labels, scores, hours, payments


def _spec() -> tfma.ModelSpec:
    return tfma.ModelSpec(signature_name="serving_default", label_key="big_tipper",
                          preprocessing_function_names=["transform_features"])


def test_every_row_is_evaluated_in_small_batches_and_sliced_like_tfma(eval_split):
    root, labels, scores, hours, payments = eval_split
    result = slices.evaluate([str(root / "Split-eval")], str(root / "model"), _spec(),
                             ["payment_type", "trip_start_hour"], batch_rows=3)
    assert result["examples"] == ROWS
    overall = evaluator_metrics(labels, scores)
    assert result["overall"]["example_count"] == ROWS
    assert math.isclose(result["overall"]["auc"], overall["auc"], abs_tol=1e-6)
    present = np.array([p is not None for p in payments])
    values = np.array([(p or "").encode() for p in payments])
    expected = evaluator_metrics_by_slice(labels, scores, {"payment_type": values, "trip_start_hour": hours},
                                          {"payment_type": present, "trip_start_hour": np.ones(ROWS, bool)})
    assert sorted(result["slices"]) == sorted(expected)
    assert {name.split("=")[0] for name in result["slices"]} == {"payment_type", "trip_start_hour"}
    assert sum(result["slices"][f"payment_type={p}"]["example_count"] for p in PAYMENTS
               if f"payment_type={p}" in result["slices"]) == ROWS - 4
    for name, metrics in expected.items():
        for metric, value in metrics.items():
            mine = result["slices"][name][metric]
            assert (math.isnan(value) and math.isnan(mine)) or math.isclose(mine, value, abs_tol=1e-6), (
                name, metric)


def test_an_empty_split_is_an_error_not_empty_metrics(tmp_path, eval_split):
    root, *_ = eval_split
    (tmp_path / "Split-eval").mkdir()
    with pytest.raises(FileNotFoundError, match="no example files"):
        slices.evaluate([str(tmp_path / "Split-eval")], str(root / "model"), _spec(), ["payment_type"])
