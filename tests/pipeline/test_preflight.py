"""Input checks before heavy work: each kind of broken file gets a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import DEFAULT_DATA, DEFAULT_SCHEMA
from pipeline.preflight import InputDataError, check_csv_folder, load_columns
from tests.support import bad_data
from tests.support.sample import read_sample_rows


@pytest.mark.parametrize("kind", sorted(bad_data.PREFLIGHT_KINDS))
def test_bad_input_is_rejected_with_a_clear_message(kind: str, tmp_path: Path):
    make, expected = bad_data.PREFLIGHT_KINDS[kind]
    folder = make(tmp_path / kind)
    with pytest.raises(InputDataError) as error:
        check_csv_folder(folder, DEFAULT_SCHEMA, "tips")
    assert expected in str(error.value)


def test_the_shipped_sample_passes():
    assert len(check_csv_folder(DEFAULT_DATA, DEFAULT_SCHEMA, "tips").files) == 1


def test_gzip_csv_that_is_whole_passes(tmp_path: Path):
    import gzip

    folder = tmp_path / "gz"
    folder.mkdir()
    (folder / "data.csv.gz").write_bytes(gzip.compress((DEFAULT_DATA / "data.csv").read_bytes()))
    assert len(check_csv_folder(folder, DEFAULT_SCHEMA, "tips").files) == 1


def test_value_level_problems_are_left_to_the_data_gate(tmp_path: Path):
    """Legal CSV with out-of-domain values passes preflight (TFDV judges values)."""
    folder = bad_data.unknown_payment_type(tmp_path / "values")
    assert len(check_csv_folder(folder, DEFAULT_SCHEMA, "tips").files) == 1


def test_schema_columns_are_typed():
    columns = {c.name: c.kind for c in load_columns(DEFAULT_SCHEMA)}
    assert columns["fare"] == "FLOAT" and columns["trip_start_hour"] == "INT"
    assert columns["payment_type"] == "BYTES"


def test_the_checks_stop_at_the_row_cap_and_say_so(tmp_path: Path):
    """Rows past the cap are not read: a bad value there is ExampleGen's to find, not preflight's."""
    header, rows = read_sample_rows()
    rows = [list(r) for r in rows[:50]]
    rows[30][header.index("fare")] = "twelve dollars"
    folder = bad_data.write_rows(tmp_path / "capped", header, rows)
    summary = check_csv_folder(folder, DEFAULT_SCHEMA, "tips", max_rows=10)
    assert summary.rows_checked == 10 and summary.files[0].capped
    assert "the first 10 rows of each file" in summary.describe()
    with pytest.raises(InputDataError, match="twelve dollars"):
        check_csv_folder(folder, DEFAULT_SCHEMA, "tips", max_rows=40)


def test_a_file_without_newlines_is_refused_without_reading_it_whole(tmp_path: Path):
    folder = tmp_path / "one-line"
    folder.mkdir()
    (folder / "data.csv").write_bytes(b"fare," * 600_000)
    with pytest.raises(InputDataError, match="line 1: longer than"):
        check_csv_folder(folder, DEFAULT_SCHEMA, "tips")


def test_bzip2_and_xz_files_are_read_like_gzip(tmp_path: Path):
    import bz2
    import lzma

    folder = tmp_path / "compressed"
    folder.mkdir()
    raw = (DEFAULT_DATA / "data.csv").read_bytes()
    (folder / "a.csv.bz2").write_bytes(bz2.compress(raw))
    (folder / "b.csv.xz").write_bytes(lzma.compress(raw))
    summary = check_csv_folder(folder, DEFAULT_SCHEMA, "tips")
    rows = len(read_sample_rows()[1])
    assert [f.rows_checked for f in summary.files] == [rows, rows]
