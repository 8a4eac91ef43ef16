"""The curated schema: reviewed constraints that ExampleValidator enforces."""

from __future__ import annotations

import tensorflow_data_validation as tfdv

from pipeline.config import DEFAULT_SCHEMA


def _schema():
    return tfdv.load_schema_text(str(DEFAULT_SCHEMA))


def test_label_source_is_absent_from_the_serving_environment():
    schema = _schema()
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    assert list(tfdv.get_feature(schema, "tips").not_in_environment) == ["SERVING"]


def test_domains_bound_the_categorical_and_numeric_columns():
    schema = _schema()
    hour = tfdv.get_feature(schema, "trip_start_hour").int_domain
    assert (hour.min, hour.max) == (0, 23)
    assert tfdv.get_feature(schema, "fare").float_domain.min == 0.0
    assert "Cash" in tfdv.get_domain(schema, "payment_type").value


def test_the_shipped_sample_has_no_anomalies_against_the_schema():
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.config import DEFAULT_DATA

    stats = tfdv.generate_statistics_from_csv(
        str(DEFAULT_DATA / "data.csv"),
        pipeline_options=PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"]),
    )
    anomalies = tfdv.validate_statistics(stats, _schema())
    assert dict(anomalies.anomaly_info) == {}
