"""A component that runs for minutes says so: the local runner's heartbeat lines."""

from __future__ import annotations

import time

import pytest

from pipeline.runners.local import runner


def test_a_long_running_block_logs_a_line_per_period_and_stops_when_it_ends(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="pipeline.progress")
    with runner.heartbeat("Evaluator", every=0.05):
        time.sleep(0.3)
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.progress"]
    assert len(lines) >= 3, lines
    assert all(line.startswith("Evaluator: running for ") and "CPU s" in line for line in lines)
    time.sleep(0.15)
    assert len([r for r in caplog.records if r.name == "pipeline.progress"]) == len(lines)


def test_a_short_block_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="pipeline.progress")
    with runner.heartbeat("ImportSchemaGen", every=5.0):
        pass
    assert not [r for r in caplog.records if r.name == "pipeline.progress"]
