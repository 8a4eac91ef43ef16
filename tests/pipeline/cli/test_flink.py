"""``python -m pipeline flink``: one clear line when there is nothing to talk to or Flink is not installed."""

from __future__ import annotations

import subprocess
import sys

from pipeline.config import REPO_ROOT
from pipeline.flink.cluster import free_port


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "flink", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_status_without_a_cluster_says_the_rest_api_does_not_answer(tmp_path):
    port = free_port()
    result = _cli("status", "--state", str(tmp_path), "--rest-port", str(port))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: Flink REST API at http://127.0.0.1:{port} does not answer")
    assert "Traceback" not in result.stderr


def test_down_without_a_cluster_stops_nothing(tmp_path):
    result = _cli("down", "--state", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.strip() == f"no Flink cluster running from {tmp_path.resolve()}"


def test_up_without_the_jars_names_the_setup_target(tmp_path):
    result = _cli("up", "--state", str(tmp_path / "state"), "--home", str(tmp_path / "no-flink"))
    assert result.returncode == 1
    assert "run `make flink-setup`" in result.stderr and len(result.stderr.strip().splitlines()) == 1
