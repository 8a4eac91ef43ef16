"""Small, real slices of the shipped taxi sample, for tests that need data on disk."""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.config import DEFAULT_DATA

SAMPLE_CSV = DEFAULT_DATA / "data.csv"


def read_sample_rows() -> tuple[list[str], list[list[str]]]:
    """Header and rows of the shipped sample."""
    with SAMPLE_CSV.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def write_slice(folder: Path, rows: int) -> Path:
    """Writes an evenly spaced slice of ``rows`` rows (all kinds of trips, not just the first)."""
    header, all_rows = read_sample_rows()
    step = max(1, len(all_rows) // rows)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(all_rows[::step][:rows])
    return folder
