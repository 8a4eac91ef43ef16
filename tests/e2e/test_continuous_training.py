"""Continuous training over small daily spans with the local runner, asserted on what MLMD recorded.

Three days of 600 rows (``YYYY-MM-DD/`` folders), fares x1.3 on day 3, a window of 2
spans. Day 1 trains; day 2 trains on days 2+1; a rerun of day 2 trains nothing new;
day 3 is blocked for drift (through the CLI: exit code 6); ``accept-drift`` records
who, when and why; the rerun of day 3 passes the gate and trains on days 3+2.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from benchmarks.daily_spans import write_daily_spans
from pipeline import profiles, spans
from pipeline.cli.common import ExitCode
from pipeline.config import REPO_ROOT
from pipeline.metadata import open_store
from pipeline.metadata.drift_acceptance import acceptances
from pipeline.metadata.queries import outputs_of, run_executions, run_ids, state_name
from pipeline.metadata.spans import run_spans
from pipeline.runners.local import runner as local

pytestmark = pytest.mark.e2e

ROWS_PER_DAY = 600
TRAIN_STEPS = 30
WINDOW = 2


def _states(store, run_id: str) -> dict[str, str]:
    return {node: state_name(execution) for node, execution in run_executions(store, run_id).items()}


@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    root = tmp_path_factory.mktemp("continuous")
    days = write_daily_spans(root / "data", 3, rows_per_day=ROWS_PER_DAY, shift_from=3)
    config = (profiles.local(root=root / "out", data=root / "data")
              .with_training(train_steps=TRAIN_STEPS, eval_steps=5, window_spans=WINDOW)
              .with_tflite(enabled=False))
    # A tiny model on 800 rows: the gate under test is the data gate, not the AUC floor.
    config = config.with_overrides(evaluation=dataclasses.replace(config.evaluation, auc_floor=0.6))
    span = [spans.date_to_span(day.date) for day in days]
    runs = {}
    runs["day1"] = local.run(config, span=span[0])
    runs["day2"] = local.run(config, span=span[1])
    runs["day2 again"] = local.run(config, span=span[1])
    blocked = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--root", str(root / "out"), "--data", str(root / "data"),
         "--date", days[2].date.isoformat(), "--train-steps", str(TRAIN_STEPS), "--window", str(WINDOW)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    blocked_run = run_ids(open_store(config.metadata))[-1]
    accepted = subprocess.run(
        [sys.executable, "-m", "pipeline", "accept-drift", blocked_run, "--root", str(root / "out"),
         "--data", str(root / "data"), "--by", "ops-oncall", "--reason", "fares up 30% on Jan 3"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    runs["day3 accepted"] = local.run(config, span=span[2])
    return config, span, runs, blocked, blocked_run, accepted


def test_each_run_reads_its_own_span_and_trains_on_a_window_that_moves(simulation):
    config, span, runs, *_ = simulation
    store = open_store(config.metadata)
    assert runs["day1"].succeeded and runs["day2"].succeeded, (runs["day1"].error, runs["day2"].error)
    first, second = run_spans(store, runs["day1"].run_id), run_spans(store, runs["day2"].run_id)
    assert (first.span, first.window) == (span[0], [span[0]])
    assert (second.span, second.window) == (span[1], [span[1], span[0]])
    third = run_spans(store, runs["day3 accepted"].run_id)
    assert (third.span, third.window) == (span[2], [span[2], span[1]])  # day 1 left the window


def test_older_spans_are_not_ingested_again(simulation):
    config, span, runs, *_ = simulation
    store = open_store(config.metadata)
    # Transform's transformed examples are Examples too; the ingested ones are ExampleGen's.
    ingested = [a for a in store.get_artifacts_by_type("Examples") if "/CsvExampleGen/" in a.uri]
    # One Examples artifact per span: day 2's rerun and day 3's reruns re-used theirs.
    assert sorted(int(a.custom_properties["span"].int_value) for a in ingested) == span


def test_a_rerun_of_an_unchanged_span_trains_and_pushes_nothing_new(simulation):
    config, _, runs, *_ = simulation
    store = open_store(config.metadata)
    states = _states(store, runs["day2 again"].run_id)
    assert runs["day2 again"].succeeded, runs["day2 again"].error
    for node in ("CsvExampleGen", "StatisticsGen", "Transform", "Trainer"):
        assert states[node] == "cached", (node, states)
    if states["Pusher"] != "cached":  # re-pushed only as a reuse of the existing push
        pusher = run_executions(store, runs["day2 again"].run_id)["Pusher"]
        [push] = outputs_of(store, pusher.id)["pushed_model"]
        assert "reused_existing_push" in push.custom_properties
        assert push.custom_properties["reused_existing_push"].int_value == 1


def test_the_shifted_day_is_blocked_for_drift_with_an_exit_code_a_scheduler_does_not_retry(simulation):
    config, _, _, blocked, blocked_run, _ = simulation
    assert blocked.returncode == ExitCode.GATE_CLOSED, blocked.stdout[-2000:] + blocked.stderr[-2000:]
    assert "drift" in blocked.stderr and "fare" in blocked.stderr
    states = _states(open_store(config.metadata), blocked_run)
    assert states["DataGate"] == "failed" and "Trainer" not in states


def test_accept_drift_records_who_when_and_why_in_mlmd(simulation):
    config, _, _, _, blocked_run, accepted = simulation
    assert accepted.returncode == 0, accepted.stderr
    record = acceptances(open_store(config.metadata))[blocked_run]
    assert record.accepted_by == "ops-oncall" and record.reason == "fares up 30% on Jan 3"
    assert record.accepted_at.startswith("20") and record.baseline_uri


def test_after_acceptance_the_same_day_passes_the_gate_and_trains(simulation):
    config, _, runs, *_ = simulation
    assert runs["day3 accepted"].succeeded, runs["day3 accepted"].error
    states = _states(open_store(config.metadata), runs["day3 accepted"].run_id)
    assert states["DataGate"] == "complete" and states["Trainer"] == "complete"
