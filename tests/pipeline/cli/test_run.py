"""The command line as a user runs it (subprocesses, real exit codes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.cli.common import build_config
from pipeline.config import REPO_ROOT


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_the_run_options():
    result = _cli("run", "--help")
    assert result.returncode == 0
    assert "--data" in result.stdout and "--root" in result.stdout and "--profile" in result.stdout


def test_parsing_arguments_does_not_import_tensorflow():
    code = ("import sys; from pipeline import cli; cli.build_parser().parse_args(['run']); "
            "print(sorted(m for m in ('tensorflow', 'tfx', 'apache_beam') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_missing_data_folder_is_a_clear_error(tmp_path: Path):
    result = _cli("run", "--data", str(tmp_path / "nope"), "--root", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_profile_is_rejected(tmp_path: Path):
    result = _cli("run", "--profile", "moon", "--root", str(tmp_path))
    assert result.returncode == 2 and "moon" in result.stderr


@pytest.mark.parametrize(("flag", "enabled", "action"), [
    ([], True, "block"), (["--drift", "warn"], True, "warn"), (["--drift", "off"], False, "block"),
])
def test_drift_flag_sets_the_drift_action(tmp_path: Path, flag, enabled, action):
    args = cli.build_parser().parse_args(["run", "--root", str(tmp_path), *flag])
    drift = build_config(args).data_gate.drift
    assert (drift.enabled, drift.action) == (enabled, action)
