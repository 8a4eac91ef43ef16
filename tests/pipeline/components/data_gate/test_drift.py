"""Drift checks on real TFDV statistics of slices of the shipped sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from pipeline.components.data_gate import drift
from pipeline.config import DEFAULT_SCHEMA, DriftCheck, DriftConfig
from tests.support.sample import SAMPLE_CSV

H = statistics_pb2.Histogram


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """Disjoint random slices of the sample: a 3,000-row baseline and 1,000-row new data."""
    data = pd.read_csv(SAMPLE_CSV)
    order = np.random.default_rng(7).permutation(len(data))
    return {"baseline": data.iloc[order[:3000]], "same": data.iloc[order[3000:4000]]}


@pytest.fixture(scope="module")
def schema() -> schema_pb2.Schema:
    return text_format.Parse(DEFAULT_SCHEMA.read_text(), schema_pb2.Schema())


def stats(frame: pd.DataFrame) -> statistics_pb2.DatasetFeatureStatisticsList:
    return tfdv.generate_statistics_from_dataframe(frame)


def by_feature(result: drift.DriftResult) -> dict[str, drift.DriftMeasurement]:
    return {m.feature: m for m in result.measurements}


def test_same_distribution_passes_every_default_check(frames, schema):
    result = drift.measure_drift({"train": stats(frames["same"])}, {"train": stats(frames["baseline"])},
                                 schema, DriftConfig())
    measured = by_feature(result)
    assert set(measured) == {"fare", "trip_miles", "trip_seconds", "payment_type"}
    assert result.drifted == [], [str(m) for m in result.measurements]
    assert all(m.value < 0.02 for name, m in measured.items() if name != "payment_type")


@pytest.mark.parametrize(("column", "change", "comparator"), [
    ("fare", lambda s: s * 1.3, "Jensen-Shannon"),
    ("trip_seconds", lambda s: s / 60, "Jensen-Shannon"),  # seconds recorded as minutes
])
def test_a_shifted_numeric_feature_drifts(frames, schema, column, change, comparator):
    shifted = frames["same"].copy()
    shifted[column] = change(shifted[column])
    result = drift.measure_drift({"train": stats(shifted)}, {"train": stats(frames["baseline"])},
                                 schema, DriftConfig())
    assert [m.feature for m in result.drifted] == [column]
    [finding] = result.drifted
    assert finding.comparator == comparator and finding.value > 0.02
    assert column in result.anomalies["train"].anomaly_info
    assert f"[train] {column}: {comparator}" in drift.describe(result, "block")


def test_a_changed_payment_mix_drifts(frames, schema):
    shifted = frames["same"].copy()
    card = (shifted["payment_type"] == "Credit Card").to_numpy()
    shifted.loc[card & (np.arange(len(shifted)) % 10 < 7), "payment_type"] = "Cash"
    result = drift.measure_drift({"train": stats(shifted)}, {"train": stats(frames["baseline"])},
                                 schema, DriftConfig())
    assert [(m.feature, m.comparator) for m in result.drifted] == [("payment_type", "L-infinity")]


def test_tfdv_equal_width_histograms_would_flag_same_distribution_data(frames, schema):
    """Why the histograms are rebuilt: on the raw equal-width ones, noise looks like drift."""
    config = DriftConfig(checks=(DriftCheck("trip_seconds", 0.02),))
    raw = tfdv.validate_statistics(stats(frames["same"]), drift.drift_schema(schema, config),
                                   previous_statistics=stats(frames["baseline"]))
    [info] = raw.drift_skew_info
    rebuilt = drift.measure_drift({"train": stats(frames["same"])}, {"train": stats(frames["baseline"])},
                                  schema, config)
    assert info.drift_measurements[0].value > 0.02 > rebuilt.measurements[0].value


def test_example_count_ratio_is_checked_when_configured(frames, schema):
    config = DriftConfig(min_examples_ratio=0.5, max_examples_ratio=2.0)
    result = drift.measure_drift({"train": stats(frames["same"])}, {"train": stats(frames["baseline"])},
                                 schema, config)
    count = by_feature(result)[drift.DATASET]
    assert count.value == pytest.approx(1000 / 3000) and count.drifted
    assert count.threshold == "0.5..2"


def test_only_splits_present_on_both_sides_are_compared(frames, schema):
    result = drift.measure_drift({"train": stats(frames["same"]), "eval": stats(frames["same"])},
                                 {"train": stats(frames["baseline"])}, schema, DriftConfig())
    assert {m.split for m in result.measurements} == {"train"}


def test_a_check_on_an_unknown_feature_fails_clearly(schema):
    with pytest.raises(ValueError, match="no such feature in the schema"):
        drift.drift_schema(schema, DriftConfig(checks=(DriftCheck("tip_percent", 0.1),)))


def test_share_below_reads_a_quantiles_histogram_with_a_point_mass():
    buckets = [H.Bucket(low_value=0, high_value=0, sample_count=30),
               H.Bucket(low_value=0, high_value=10, sample_count=50),
               H.Bucket(low_value=10, high_value=100, sample_count=20)]
    assert drift.share_below(buckets, -1) == 0
    assert drift.share_below(buckets, 0) == pytest.approx(0.3)
    assert drift.share_below(buckets, 5) == pytest.approx(0.55)
    assert drift.share_below(buckets, 100) == pytest.approx(1.0)


def test_config_round_trips_through_the_component_parameter():
    config = DriftConfig(action="warn", checks=(DriftCheck("fare", 0.05),), min_examples_ratio=0.25)
    assert drift.config_from_json(drift.config_to_json(config)) == config
