"""The lineage commands as a user runs them: clear one-line errors, never a stack trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.config import REPO_ROOT
from tests.support.mlmd_builder import StoreBuilder, two_run_store


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_clear_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_store_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere" / "metadata.sqlite"
    assert_clear_error(cli("runs", "--store", str(missing)), f"no MLMD store at {missing}")
    assert not missing.parent.exists(), "reading must not create the store"
    assert_clear_error(cli("trace", "--root", str(tmp_path / "nowhere"), "1"), "no MLMD store at")


@pytest.mark.parametrize("initialised", [False, True], ids=["zero-bytes", "no-runs"])
def test_an_empty_store(tmp_path, initialised):
    path = tmp_path / "metadata.sqlite"
    if initialised:
        StoreBuilder(path)
    else:
        path.touch()
    for command in (("runs",), ("diff", "latest", "latest"), ("report",)):
        result = cli(*command, "--store", str(path))
        assert_clear_error(result, "empty" if not initialised else "no pipeline runs recorded")


def test_unknown_run_and_artifact_ids(tmp_path):
    path = tmp_path / "metadata.sqlite"
    two_run_store(path)
    assert_clear_error(cli("runs", "--store", str(path), "2030-01-01"), "no pipeline run '2030-01-01'")
    assert_clear_error(cli("diff", "--store", str(path), "latest", "42"), "no pipeline run '42'")
    assert_clear_error(cli("trace", "--store", str(path), "4242"), "no artifact with id 4242")
    picture = str(tmp_path / "g.svg")
    assert_clear_error(cli("lineage-graph", "--store", str(path), "--run", "x", "-o", picture),
                       "no pipeline run 'x'")
    assert_clear_error(cli("lineage-graph", "--store", str(path), "-o", str(tmp_path / "g.gif")),
                       "must end in .svg or .png")


def test_runs_and_trace_answer_on_a_small_store(tmp_path):
    path = tmp_path / "metadata.sqlite"
    ids = two_run_store(path)
    runs = json.loads(cli("runs", "--store", str(path), "--json").stdout)
    assert [r["run_id"] for r in runs] == ids["runs"]
    assert sorted(runs[1]["cached"]) == ["CsvExampleGen", "Trainer"] and runs[1]["ran"] == ["Evaluator"]
    trace = cli("trace", "--store", str(path), "/srv/serving/17", "--graph", str(tmp_path / "t.png"))
    assert trace.returncode == 0, trace.stderr
    assert "data:           /data/taxi" in trace.stdout
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
