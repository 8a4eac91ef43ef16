"""Input checks before heavy work: each kind of broken file gets a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import DEFAULT_DATA, DEFAULT_SCHEMA
from pipeline.preflight import InputDataError, check_csv_folder, load_columns
from tests.support import bad_data


@pytest.mark.parametrize("kind", sorted(bad_data.PREFLIGHT_KINDS))
def test_bad_input_is_rejected_with_a_clear_message(kind: str, tmp_path: Path):
    make, expected = bad_data.PREFLIGHT_KINDS[kind]
    folder = make(tmp_path / kind)
    with pytest.raises(InputDataError) as error:
        check_csv_folder(folder, DEFAULT_SCHEMA, "tips")
    assert expected in str(error.value)


def test_the_shipped_sample_passes():
    assert check_csv_folder(DEFAULT_DATA, DEFAULT_SCHEMA, "tips") == 1


def test_gzip_csv_that_is_whole_passes(tmp_path: Path):
    import gzip

    folder = tmp_path / "gz"
    folder.mkdir()
    (folder / "data.csv.gz").write_bytes(gzip.compress((DEFAULT_DATA / "data.csv").read_bytes()))
    assert check_csv_folder(folder, DEFAULT_SCHEMA, "tips") == 1


def test_value_level_problems_are_left_to_the_data_gate(tmp_path: Path):
    """Legal CSV with out-of-domain values passes preflight (TFDV judges values)."""
    folder = bad_data.unknown_payment_type(tmp_path / "values")
    assert check_csv_folder(folder, DEFAULT_SCHEMA, "tips") == 1


def test_schema_columns_are_typed():
    columns = {c.name: c.kind for c in load_columns(DEFAULT_SCHEMA)}
    assert columns["fare"] == "FLOAT" and columns["trip_start_hour"] == "INT"
    assert columns["payment_type"] == "BYTES"
