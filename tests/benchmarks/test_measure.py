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
    ours = [10.0, 30.0, 12.0]
    theirs = [20.0, 40.0, 48.0]

    def first(i: int) -> float:
        calls.append(f"a{i}")
        return ours[i]

    def second(i: int) -> float:
        calls.append(f"b{i}")
        return theirs[i]

    paired = run_interleaved(first, second, pairs=3)
    assert calls == ["a0", "b0", "a1", "b1", "a2", "b2"]
    assert paired.ratios == (0.5, 0.75, 0.25)
    assert paired.median_ratio == 0.5
    assert (paired.median_first_s, paired.median_second_s) == (12.0, 40.0)
    assert len(paired.loads) == 3


def test_run_interleaved_refuses_zero_pairs() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_interleaved(lambda i: 1.0, lambda i: 1.0, pairs=0)
