"""The shared measuring code: a measured process tree's CPU and memory are attributed correctly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.measure import cpu_between, run_interleaved, run_measured

# A parent that starts a child; both spin for a while, so CPU time sits in two processes.
_BURN = """
import subprocess, sys, time
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
CHILD = "import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass"
child = subprocess.Popen([sys.executable, "-c", CHILD])
spin(0.6)
child.wait()
"""


def test_run_measured_counts_the_cpu_time_of_reaped_children(tmp_path: Path) -> None:
    stats = run_measured([sys.executable, "-c", _BURN], tmp_path, tmp_path / "log.txt")
    assert stats.returncode == 0
    assert stats.cpu_s >= 1.1  # 0.6 s in the parent + 0.6 s in the child, plus start-up
    assert stats.peak_rss_mib > 1
    assert stats.samples and stats.samples[-1][1] >= stats.samples[0][1]


def test_cpu_between_reports_busy_cores_in_a_window() -> None:
    # Two seconds of samples in which the tree used 3 CPU seconds: 1.5 cores busy.
    samples = [(100.0, 10.0, 2**30), (101.0, 11.5, 2**31), (102.0, 13.0, 2**30)]
    window = cpu_between(samples, 100.0, 102.0)
    assert window["cores"] == 1.5
    assert window["peak_rss_mib"] == 2048


def test_cpu_between_is_zero_for_a_window_without_two_samples() -> None:
    assert cpu_between([(100.0, 1.0, 1)], 99.0, 101.0)["cores"] == 0.0


def test_run_interleaved_alternates_the_two_sides_and_compares_them_pair_by_pair() -> None:
    calls: list[str] = []
    ours = [{"wall_s": 10.0, "cpu_s": 5.0}, {"wall_s": 30.0, "cpu_s": 6.0}, {"wall_s": 12.0, "cpu_s": 4.0}]
    theirs = [{"wall_s": 20.0, "cpu_s": 10.0}, {"wall_s": 40.0, "cpu_s": 10.0},
              {"wall_s": 48.0, "cpu_s": 10.0}]

    def first(i: int) -> dict[str, float]:
        calls.append(f"a{i}")
        return ours[i]

    def second(i: int) -> dict[str, float]:
        calls.append(f"b{i}")
        return {**theirs[i], "only_here": 1.0}

    paired = run_interleaved(first, second, pairs=3)
    assert calls == ["a0", "b0", "a1", "b1", "a2", "b2"]
    assert set(paired) == {"wall_s", "cpu_s"}  # measures one side lacks are not paired
    wall = paired["wall_s"]
    assert wall.ratios == (0.5, 0.75, 0.25)
    assert wall.median_ratio == 0.5
    assert (wall.median_first_s, wall.median_second_s) == (12.0, 40.0)
    assert paired["cpu_s"].median_ratio == 0.5 and len(wall.loads) == 3


def test_run_interleaved_refuses_zero_pairs() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_interleaved(lambda i: {"wall_s": 1.0}, lambda i: {"wall_s": 1.0}, pairs=0)
