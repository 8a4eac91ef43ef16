"""Real bad input files, made from the shipped sample, one function per kind.

Shared by the preflight unit tests and the end-to-end reliability tests. Each maker
writes into an empty folder and returns the folder to pass as ``--data``.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from pathlib import Path

from tests.support.sample import read_sample_rows

ROWS = 400


def _rows(count: int = ROWS) -> tuple[list[str], list[list[str]]]:
    header, rows = read_sample_rows()
    step = len(rows) // count
    return header, [list(r) for r in rows[::step][:count]]


def _write(folder: Path, header: list[str], rows: list[list[str]], name: str = "data.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def write_rows(folder: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A folder holding one CSV file with these rows."""
    return _write(folder, header, rows)


def _with_value(column: str, value: str, every: int = 1) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        header, rows = _rows()
        index = header.index(column)
        for row in rows[::every]:
            row[index] = value
        return _write(folder, header, rows)

    return make


def missing_folder(folder: Path) -> Path:
    return folder / "does-not-exist"


def empty_file(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "data.csv").write_bytes(b"")
    return folder


def header_only(folder: Path) -> Path:
    header, _ = _rows()
    return _write(folder, header, [])


def missing_column(folder: Path) -> Path:
    header, rows = _rows()
    index = header.index("trip_miles")
    return _write(folder, header[:index] + header[index + 1:], [r[:index] + r[index + 1:] for r in rows])


def extra_column(folder: Path) -> Path:
    header, rows = _rows()
    return _write(folder, [*header, "driver_rating"], [[*r, "5"] for r in rows])


def label_missing(folder: Path) -> Path:
    header, rows = _rows()
    index = header.index("tips")
    return _write(folder, header[:index] + header[index + 1:], [r[:index] + r[index + 1:] for r in rows])


def text_in_numeric_column(folder: Path) -> Path:
    return _with_value("fare", "twelve dollars", every=50)(folder)


def non_utf8_bytes(folder: Path) -> Path:
    header, rows = _rows()
    _write(folder, header, rows)
    path = folder / "data.csv"
    path.write_bytes(path.read_bytes().replace(b"Credit Card", b"Cr\xe9dit Card", 3))
    return folder


def corrupt_gzip(folder: Path) -> Path:
    header, rows = _rows()
    _write(folder, header, rows)
    payload = gzip.compress((folder / "data.csv").read_bytes())
    (folder / "data.csv").unlink()
    (folder / "data.csv.gz").write_bytes(payload[: len(payload) // 2])
    return folder


def ragged_rows(folder: Path) -> Path:
    header, rows = _rows()
    for row in rows[::40]:
        row.append("oops")
    return _write(folder, header, rows)


# Legal CSV whose values break the curated schema: the data gate's job.
unknown_payment_type = _with_value("payment_type", "Bitcoin", every=3)
hour_out_of_range = _with_value("trip_start_hour", "31", every=5)
negative_fare = _with_value("fare", "-12.5", every=4)
missing_required_fare = _with_value("fare", "", every=6)

def scaled_column(source: Path, column: str, factor: float) -> Callable[[Path], Path]:
    """A copy of ``source``'s CSV with one numeric column multiplied: legal data that has drifted.

    E.g. fares recorded in another currency, or trip times in minutes instead of seconds.
    """
    def make(folder: Path) -> Path:
        with (source / "data.csv").open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = [list(r) for r in reader]
        index = header.index(column)
        for row in rows:
            if row[index]:
                scaled = float(row[index]) * factor
                # Integer columns stay integers (the schema's type holds; only the distribution moves).
                row[index] = f"{scaled:g}" if "." in row[index] else str(round(scaled))
        return _write(folder, header, rows)

    return make


PREFLIGHT_KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing_folder": (missing_folder, "does not exist"),
    "empty_file": (empty_file, "empty file"),
    "header_only": (header_only, "header only"),
    "missing_column": (missing_column, "columns missing from the header: trip_miles"),
    "extra_column": (extra_column, "columns not in the schema: driver_rating"),
    "label_missing": (label_missing, "label's source column 'tips' is missing"),
    "text_in_numeric_column": (
        text_in_numeric_column, "column fare (FLOAT): 'twelve dollars' is not a number"
    ),
    "non_utf8_bytes": (non_utf8_bytes, "not UTF-8"),
    "corrupt_gzip": (corrupt_gzip, "not a readable gzip file"),
    "ragged_rows": (ragged_rows, "fields, the header has"),
}
GATE_KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "unknown_payment_type": (unknown_payment_type, "payment_type"),
    "hour_out_of_range": (hour_out_of_range, "trip_start_hour"),
    "negative_fare": (negative_fare, "fare"),
    "missing_required_fare": (missing_required_fare, "fare"),
}
