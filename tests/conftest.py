"""Session-wide test settings and fixtures; shared helpers live in :mod:`tests.support`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support.gcs_emulator import GcsEmulator, running_emulator  # noqa: E402
from tests.support.sample import read_sample_rows  # noqa: E402

# TFX's Beam executors parse absl flags from sys.argv (base_beam_executor.py); under
# pytest that is pytest's own command line, where "-v" reads as absl's --verbosity.
# Pytest has parsed its arguments by now, so in-process pipeline runs get a neutral argv.
sys.argv = sys.argv[:1]


@pytest.fixture(scope="session")
def sample_rows() -> tuple[list[str], list[list[str]]]:
    return read_sample_rows()


@pytest.fixture(scope="module")
def gcs(tmp_path_factory) -> Iterator[GcsEmulator]:
    """A local GCS (fake-gcs-server + TLS proxy) for one test module; its env is set in this process
    and ``gcs.env`` passes it to subprocesses. Stopped by PID at the module's end."""
    with running_emulator(tmp_path_factory.mktemp("gcs")) as emulator:
        yield emulator
