"""Session-wide test settings and fixtures; shared helpers live in :mod:`tests.support`."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support.sample import read_sample_rows  # noqa: E402

# TFX's Beam executors parse absl flags from sys.argv (base_beam_executor.py); under
# pytest that is pytest's own command line, where "-v" reads as absl's --verbosity.
# Pytest has parsed its arguments by now, so in-process pipeline runs get a neutral argv.
sys.argv = sys.argv[:1]


@pytest.fixture(scope="session")
def sample_rows() -> tuple[list[str], list[list[str]]]:
    return read_sample_rows()
