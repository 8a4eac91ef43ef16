"""preprocessing_fn on a few hand-written rows, through the real TFT Beam implementation."""

from __future__ import annotations

import tempfile

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from apache_beam.options.pipeline_options import PipelineOptions
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from models import features
from models.preprocessing import preprocessing_fn

FEATURE_SPEC = {
    "fare": tf.io.FixedLenFeature([1], tf.float32),
    "trip_miles": tf.io.FixedLenFeature([1], tf.float32),
    "trip_seconds": tf.io.VarLenFeature(tf.int64),
    "payment_type": tf.io.FixedLenFeature([1], tf.string),
}


# Beam pickles functions by reference to their module, so this list is shared with
# the in-process DirectRunner workers.
_COLLECTED: list[dict] = []


def _collect(row: dict) -> None:
    _COLLECTED.append(row)


def _row(fare, miles, tips=None, payment="Credit Card", seconds=600):
    row = {
        "fare": [fare], "trip_miles": [miles], "trip_seconds": [] if seconds is None else [seconds],
        "payment_type": [payment.encode()],
    }
    if tips is not None:
        row["tips"] = [tips]
    return row


def _transform(rows, with_label=True):
    spec = dict(FEATURE_SPEC)
    if with_label:
        spec["tips"] = tf.io.FixedLenFeature([1], tf.float32)
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    _COLLECTED.clear()
    # The DirectRunner is named: Beam's default would first try to fetch Prism.
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])
    with (
        tempfile.TemporaryDirectory() as temp_dir,
        tft_beam.Context(temp_dir=temp_dir),
        beam.Pipeline(options=options) as p,
    ):
        data = p | beam.Create(rows, reshuffle=False)
        (transformed, _), _ = (data, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False
        )
        _ = transformed | beam.Map(_collect)
    return list(_COLLECTED)


@pytest.fixture(scope="module")
def transformed():
    """Four rows, returned in input order (sorted by their distinct trip_miles)."""
    rows = [
        _row(10.0, 1.0, tips=3.0),
        _row(10.0, 2.0, tips=1.0),
        _row(20.0, 3.0, tips=0.0, payment="Cash", seconds=None),
        _row(5.0, 4.0, tips=2.0),
    ]
    return sorted(_transform(rows), key=lambda row: row[features.transformed_name("trip_miles")])


def test_label_is_tip_above_a_fifth_of_the_fare(transformed):
    assert [row[features.LABEL_KEY] for row in transformed] == [1, 0, 0, 1]


def test_numeric_features_are_log_z_scored_with_population_std(transformed):
    fares = np.log1p(np.array([10.0, 10.0, 20.0, 5.0]))
    expected = (fares - fares.mean()) / fares.std()  # ddof=0, as tft.scale_to_z_score
    values = np.array([row[features.transformed_name("fare")] for row in transformed])
    np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_missing_trip_seconds_count_as_zero(transformed):
    seconds = np.log1p(np.array([600.0, 600.0, 0.0, 600.0]))
    expected = (seconds - seconds.mean()) / seconds.std()
    values = np.array([row[features.transformed_name("trip_seconds")] for row in transformed])
    np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_vocabulary_orders_by_frequency(transformed):
    payment = [row[features.transformed_name("payment_type")] for row in transformed]
    assert payment == [0, 0, 1, 0]  # "Credit Card" is the most frequent value


def test_no_label_without_tips():
    transformed = _transform([_row(10.0, 1.0), _row(12.0, 2.0, payment="Cash")], with_label=False)
    assert len(transformed) == 2
    assert features.LABEL_KEY not in transformed[0]
