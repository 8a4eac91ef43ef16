"""One small real pipeline run shared by the end-to-end modules (CI time is a budget)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import REPO_ROOT, PipelineConfig
from pipeline.metadata import open_store
from pipeline.metadata.queries import run_ids
from tests.support.sample import write_slice

SMALL_ROWS = 3000
SMALL_TRAIN_STEPS = 150


@dataclass(frozen=True)
class SmallRun:
    """A completed CLI run of the whole pipeline on a 3,000-row slice."""

    config: PipelineConfig
    run_id: str
    cli: subprocess.CompletedProcess


def cli_run(data: Path, root: Path, *extra: str) -> subprocess.CompletedProcess:
    """``python -m pipeline run`` as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--data", str(data), "--root", str(root),
         "--train-steps", str(SMALL_TRAIN_STEPS), *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800,
    )


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> SmallRun:
    root = tmp_path_factory.mktemp("small-run")
    data = write_slice(root / "data", SMALL_ROWS)
    # Few steps, but the production gate: the model must clear the real AUC floor.
    config = profiles.local(root=root / "out", data=data).with_training(train_steps=SMALL_TRAIN_STEPS)
    result = cli_run(data, root / "out")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [run_id] = run_ids(open_store(config.metadata))
    return SmallRun(config, run_id, result)
