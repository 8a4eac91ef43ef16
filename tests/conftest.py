"""Shared fixtures: small, real slices of the shipped taxi sample."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline.config import DEFAULT_DATA  # noqa: E402
from tests.support.gcs_emulator import GcsEmulator, running_emulator  # noqa: E402

# TFX's Beam executors parse absl flags from sys.argv (base_beam_executor.py); under
# pytest that is pytest's own command line, where "-v" reads as absl's --verbosity.
# Pytest has parsed its arguments by now, so in-process pipeline runs get a neutral argv.
sys.argv = sys.argv[:1]

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


@pytest.fixture(scope="session")
def sample_rows() -> tuple[list[str], list[list[str]]]:
    return read_sample_rows()



@pytest.fixture(scope="module")
def gcs(tmp_path_factory) -> Iterator[GcsEmulator]:
    """A local GCS (fake-gcs-server + TLS proxy) for one test module; its env is set in this process
    and ``gcs.env`` passes it to subprocesses. Stopped by PID at the module's end."""
    with running_emulator(tmp_path_factory.mktemp("gcs")) as emulator:
        yield emulator
