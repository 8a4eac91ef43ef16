"""Span layouts and span selection: pure functions over folder names and dates."""

from __future__ import annotations

import datetime
import json

import pytest

from pipeline import spans
from tests.support.sample import write_slice


def test_a_date_span_is_days_since_1970_as_tfx_numbers_it():
    from tfx.components.example_gen import utils

    day = datetime.date(2024, 1, 5)
    assert spans.date_to_span(day) == utils.date_to_span_number(2024, 1, 5) == 19727
    assert spans.span_to_date(19727) == day


def test_the_layout_is_detected_from_the_sub_folders(tmp_path):
    write_slice(tmp_path / "dates" / "2024-01-02", 20)
    write_slice(tmp_path / "numbers" / "span-3", 20)
    write_slice(tmp_path / "flat", 20)
    assert spans.detect_layout(tmp_path / "dates") == "date"
    assert spans.detect_layout(tmp_path / "numbers") == "span"
    assert spans.detect_layout(tmp_path / "flat") == "single"


def test_the_newest_span_with_csv_files_is_chosen_by_default(tmp_path):
    write_slice(tmp_path / "2024-01-02", 20)
    write_slice(tmp_path / "2024-01-03", 20)
    (tmp_path / "2024-01-04").mkdir()  # announced but empty: not a span yet
    assert spans.check_span(tmp_path, "date", None) == spans.date_to_span(datetime.date(2024, 1, 3))


def test_a_date_without_a_folder_is_a_clear_error_naming_the_folder(tmp_path):
    write_slice(tmp_path / "2024-01-02", 20)
    with pytest.raises(spans.SpanNotFound, match=r"no data for 2024-01-09 .*2024-01-09 is missing"):
        spans.check_span(tmp_path, "date", spans.select_span(date="2024-01-09"))


def test_the_span_parameter_is_a_tfx_range_config_for_one_span():
    from google.protobuf import json_format
    from tfx.proto import range_config_pb2

    config = json_format.Parse(spans.range_config_json(19727), range_config_pb2.RangeConfig())
    assert (config.static_range.start_span_number, config.static_range.end_span_number) == (19727, 19727)
    newest = json_format.Parse(spans.range_config_json(None), range_config_pb2.RangeConfig())
    assert newest.rolling_range.num_spans == 1
    assert json.loads(spans.range_config_json(4))["staticRange"]["startSpanNumber"] == 4


def test_span_and_date_cannot_both_be_given_and_a_bad_date_is_named():
    with pytest.raises(ValueError, match="not both"):
        spans.select_span(span=3, date="2024-01-01")
    with pytest.raises(ValueError, match="not a date"):
        spans.select_span(date="yesterday")
    assert spans.select_span(date="2024-01-05T00:00:00+00:00") == 19727  # an Airflow logical date
