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
    "pickup_latitude": tf.io.VarLenFeature(tf.float32),
    "pickup_longitude": tf.io.VarLenFeature(tf.float32),
    "dropoff_latitude": tf.io.VarLenFeature(tf.float32),
    "dropoff_longitude": tf.io.VarLenFeature(tf.float32),
    "trip_start_hour": tf.io.FixedLenFeature([1], tf.int64),
    "trip_start_day": tf.io.FixedLenFeature([1], tf.int64),
    "trip_start_month": tf.io.FixedLenFeature([1], tf.int64),
    "pickup_community_area": tf.io.VarLenFeature(tf.int64),
    "dropoff_community_area": tf.io.VarLenFeature(tf.int64),
    "payment_type": tf.io.FixedLenFeature([1], tf.string),
    "company": tf.io.VarLenFeature(tf.string),
}


# Beam pickles functions by reference to their module, so this list is shared with
# the in-process DirectRunner workers.
_COLLECTED: list[dict] = []


def _collect(row: dict) -> None:
    _COLLECTED.append(row)


def _row(fare, tips=None, payment="Credit Card", company=None, hour=10, area=None, lat=None):
    row = {
        "fare": [fare], "trip_miles": [2.0], "trip_seconds": [600],
        "pickup_latitude": [] if lat is None else [lat], "pickup_longitude": [] if lat is None else [-87.6],
        "dropoff_latitude": [] if lat is None else [lat], "dropoff_longitude": [] if lat is None else [-87.6],
        "trip_start_hour": [hour], "trip_start_day": [3], "trip_start_month": [5],
        "pickup_community_area": [] if area is None else [area], "dropoff_community_area": [],
        "payment_type": [payment.encode()], "company": [] if company is None else [company.encode()],
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


HOUR = features.transformed_name("trip_start_hour")


@pytest.fixture(scope="module")
def transformed():
    """Four rows, returned in input order (each has a distinct hour id to find it by)."""
    rows = [
        _row(10.0, tips=3.0, payment="Credit Card", company="Flash Cab", hour=9, area=8, lat=41.9),
        _row(10.0, tips=1.0, payment="Credit Card", company="Flash Cab", hour=23, area=77, lat=41.8),
        _row(20.0, tips=0.0, payment="Cash", hour=5),
        _row(5.0, tips=2.0, payment="Credit Card", company="Taxi Affiliation", hour=40, area=99, lat=42.0),
    ]
    by_hour = {row[HOUR]: row for row in _transform(rows)}
    # Hour 40 is out of range and must fold into id 0.
    assert sorted(by_hour) == [0, 5, 9, 23]
    return [by_hour[9], by_hour[23], by_hour[5], by_hour[0]]


def test_label_is_tip_above_a_fifth_of_the_fare(transformed):
    assert [row[features.LABEL_KEY] for row in transformed] == [1, 0, 0, 1]


def test_numeric_features_are_z_scored(transformed):
    values = np.array([row[features.transformed_name("fare")] for row in transformed])
    assert abs(values.mean()) < 1e-5
    assert abs(values.std() - 1.0) < 1e-3


def test_missing_coordinates_are_flagged(transformed):
    assert [row["coordinates_missing_xf"] for row in transformed] == [0.0, 0.0, 1.0, 0.0]


def test_integer_categories_fold_missing_and_out_of_range_to_zero(transformed):
    assert [row[features.transformed_name("pickup_community_area")] for row in transformed] == [8, 77, 0, 0]


def test_vocabulary_orders_by_frequency_and_gives_missing_an_id(transformed):
    payment = [row[features.transformed_name("payment_type")] for row in transformed]
    assert payment == [0, 0, 1, 0]  # "Credit Card" is the most frequent value
    company = [row[features.transformed_name("company")] for row in transformed]
    # Missing company is the empty string, a regular (if rare) vocabulary entry.
    assert company[0] == company[1] and len(set(company)) == 3


def test_no_label_without_tips():
    transformed = _transform([_row(10.0), _row(12.0, payment="Cash")], with_label=False)
    assert len(transformed) == 2
    assert features.LABEL_KEY not in transformed[0]
