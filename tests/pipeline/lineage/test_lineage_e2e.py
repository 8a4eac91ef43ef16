"""Lineage, diff and the run report on real pipeline runs (one shared fixture, three runs).

Run 1 trains and pushes; run 2 is an unchanged rerun (everything up to the Trainer from
the cache); run 3 goes through the CLI with fewer training steps, so its end-of-run
summary must point to a report and a diff with run 2 must show the steps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import REPO_ROOT
from pipeline.lineage.api import Lineage
from pipeline.metadata.facts import evaluation_metrics
from pipeline.metadata.queries import outputs_of, run_executions
from pipeline.metadata.read_only import open_read_only
from pipeline.report.build import write_report
from pipeline.runners.local import runner as local
from tests.support.sample import write_slice

pytestmark = pytest.mark.e2e

ROWS = 3000
STEPS, OTHER_STEPS = 150, 120


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lineage")
    data = write_slice(root / "data", ROWS)
    config = profiles.local(root=root / "out", data=data).with_training(train_steps=STEPS, eval_steps=10)
    first = local.run(config)
    assert first.succeeded, first.error
    store = open_read_only(config.metadata)
    [pushed] = outputs_of(store, run_executions(store, first.run_id)["Pusher"].id)["pushed_model"]
    destination = pushed.custom_properties["pushed_destination"].string_value
    trace_before_rerun = Lineage(store).trace(destination)
    second = local.run(config)
    assert second.succeeded, second.error
    third = cli("run", "--root", str(root / "out"), "--data", str(data), "--train-steps", str(OTHER_STEPS))
    assert third.returncode == 0, third.stderr[-3000:]
    lineage = Lineage(open_read_only(config.metadata))
    return {
        "config": config, "data": data, "root": root, "first": first, "second": second, "third": third,
        "destination": destination, "trace_before_rerun": trace_before_rerun, "lineage": lineage,
        "run_ids": lineage.run_ids(),
    }


def _path(trace):
    return [(s.node_id, s.execution_id, s.state) for s in trace.steps]


def test_trace_of_pushed_model_reaches_the_exact_examplegen_artifact_and_input_path(runs):
    trace = runs["trace_before_rerun"]
    lineage, config = runs["lineage"], runs["config"]
    executions = run_executions(lineage.store, runs["first"].run_id)
    [examples] = outputs_of(lineage.store, executions["CsvExampleGen"].id)["examples"]
    [model] = outputs_of(lineage.store, executions["Trainer"].id)["model"]
    assert trace.target.type == "PushedModel" and trace.matched_by == "pushed_destination"
    [source] = trace.data_sources
    assert source["examples_artifact_id"] == examples.id
    assert source["input_base"] == str(runs["data"])
    assert source["input_fingerprint"].startswith("split:single_split,num_files:1")
    assert trace.model == model.id
    [trainer] = trace.trainers
    assert trainer["train_args"] == {"num_steps": STEPS}
    assert trainer["hyperparameters"] == config.training.hyperparameters()
    assert [trace.artifacts[i].type for i in trace.schemas] == ["Schema"]
    assert {trace.artifacts[i].producer_node for i in trace.statistics} >= {"StatisticsGen"}
    assert {trace.artifacts[i].producer_node for i in trace.anomalies} >= {"ExampleValidator"}
    assert [trace.artifacts[i].type for i in trace.transform_graphs] == ["TransformGraph"]
    assert [e["blessed"] for e in trace.evaluations] == [True]
    assert [p["destination"] for p in trace.pushes] == [runs["destination"]]


def test_trace_is_the_same_after_a_cached_rerun(runs):
    lineage = runs["lineage"]
    before, after = runs["trace_before_rerun"], lineage.trace(runs["destination"])
    assert _path(after) == _path(before)
    nodes = [s.node_id for s in after.steps]
    assert len(nodes) == len(set(nodes)), "a node appears twice on the path"
    assert all(s.state == "complete" and s.run_id == runs["first"].run_id for s in after.steps)
    assert after.data_sources == before.data_sources
    trainer = next(s for s in after.steps if s.node_id == "Trainer")
    assert runs["second"].run_id in trainer.reused_by_runs
    # The rerun's own PushedModel traces back to the very same origin.
    second = run_executions(lineage.store, runs["second"].run_id)
    [pushed_again] = outputs_of(lineage.store, second["Pusher"].id)["pushed_model"]
    again = lineage.trace(str(pushed_again.id))
    assert again.model == before.model
    assert again.data_sources[0]["examples_artifact_id"] == before.data_sources[0]["examples_artifact_id"]
    assert [t["execution_id"] for t in again.trainers] == [t["execution_id"] for t in before.trainers]


def test_a_file_path_inside_an_artifact_or_a_pushed_folder_resolves_to_that_artifact(runs):
    lineage = runs["lineage"]
    target, how = lineage.resolve_artifact(os.path.join(runs["destination"], "saved_model.pb"))
    assert (target.type, how) == ("PushedModel", "pushed_destination")
    model = lineage.artifact(runs["trace_before_rerun"].model)
    inside = os.path.join(model.uri, "Format-Serving", "model.tflite")  # any file under the artifact
    assert lineage.resolve_artifact(inside)[0].id == model.id


def test_runs_lists_status_and_what_came_from_the_cache(runs):
    infos = runs["lineage"].runs()
    assert [r.run_id for r in infos] == runs["run_ids"] and len(infos) == 3
    assert all(r.status == "complete" for r in infos)
    assert {"CsvExampleGen", "Transform", "Trainer"} <= set(infos[1].cached)
    assert "Trainer" in infos[2].ran and "Trainer" in infos[0].ran


def test_diff_shows_the_training_steps_and_nothing_for_an_unchanged_rerun(runs):
    lineage = runs["lineage"]
    run_1, run_2, run_3 = runs["run_ids"]
    changed = {row.key: (row.a, row.b) for row in lineage.diff(run_2, run_3).changed}
    assert changed["hyperparameters.train_steps"] == (STEPS, OTHER_STEPS)
    assert "data.input_fingerprint" not in changed and "schema.sha256" not in changed
    assert "model.artifact" in changed
    unchanged = {row.key for row in lineage.diff(run_1, run_2).changed}
    assert not any(key.startswith(("hyperparameters.", "data.", "schema.", "model.")) for key in unchanged)
    result = cli("diff", "--root", str(runs["root"] / "out"), run_2, "latest", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {row["key"]: row for row in json.loads(result.stdout)["rows"]}
    assert (rows["hyperparameters.train_steps"]["a"], rows["hyperparameters.train_steps"]["b"]) == (150, 120)


def test_cli_trace_prints_the_origin_and_json(runs):
    out = str(runs["root"] / "out")
    text = cli("trace", "--root", out, runs["destination"])
    assert text.returncode == 0, text.stderr[-2000:]
    assert f"data:           {runs['data']}" in text.stdout
    assert "Trainer" in text.stdout and "BLESSED" in text.stdout
    as_json = cli("trace", "--root", out, runs["destination"], "--json")
    assert json.loads(as_json.stdout)["data_sources"][0]["input_base"] == str(runs["data"])


def test_cli_run_summary_points_to_the_report_of_that_run(runs):
    match = re.search(r"^  report: (.+\.html)$", runs["third"].stdout, re.MULTILINE)
    assert match, runs["third"].stdout[-2000:]
    page = Path(match.group(1)).read_text()
    assert runs["run_ids"][-1] in page


def test_unknown_run_and_artifact_on_a_real_store_are_clear_errors(runs):
    out = str(runs["root"] / "out")
    for args, message in [(("diff", "--root", out, "1999-01-01", "latest"), "no pipeline run '1999-01-01'"),
                          (("trace", "--root", out, "99999"), "no artifact with id 99999"),
                          (("trace", "--root", out, "/nowhere/model.tflite"), "no artifact in")]:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is missing: run `make system-deps`"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=180)


def test_report_renders_in_chromium_with_the_runs_real_metrics(runs, tmp_path):
    lineage = runs["lineage"]
    run_id = runs["run_ids"][0]
    path = write_report(lineage, run_id, folder=str(tmp_path))
    evaluator = run_executions(lineage.store, run_id)["Evaluator"]
    [evaluation] = outputs_of(lineage.store, evaluator.id)["evaluation"]
    metrics = evaluation_metrics(evaluation.uri)
    dom = _chromium("--dump-dom", f"file://{path}", profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for section in ("timing", "statistics", "anomalies", "metrics", "blessing", "tflite", "lineage"):
        assert f'id="{section}"' in html, section
    assert html.count("<svg") >= 4  # slice plots, calibration, lineage (+ histograms)
    assert "metrics by payment_type" in html and "metrics by trip_start_hour" in html
    assert f"{metrics['overall']['auc']:.4f}" in html
    assert f"{metrics['trip_start_hour=12']['auc']:.4f}" in html
    assert "BLESSED" in html and "Could not read" not in html
    shot = tmp_path / "report.png"
    _chromium("--window-size=1300,2600", f"--screenshot={shot}", f"file://{path}",
              profile=tmp_path / "profile-shot")
    assert shot.is_file() and shot.stat().st_size > 50_000
    if os.environ.get("REPORT_SCREENSHOT"):
        shutil.copy(shot, os.environ["REPORT_SCREENSHOT"])


def test_the_evaluation_read_for_summary_and_report_is_tfmas_own_but_for_the_sliced_plots(runs):
    import tensorflow_model_analysis as tfma

    from pipeline.metadata import facts

    lineage = runs["lineage"]
    evaluators = [run_executions(lineage.store, run_id)["Evaluator"].id for run_id in runs["run_ids"]]
    uris = {outputs_of(lineage.store, evaluator)["evaluation"][0].uri for evaluator in evaluators}
    model_names = {facts.candidate_model_name(uri) for uri in uris}
    assert None in model_names and len(model_names) == 2  # without and with a baseline model
    for uri in uris:
        ours = facts.load_eval_result(uri)
        theirs = tfma.load_eval_result(uri, model_name=facts.candidate_model_name(uri))
        # The local Evaluator keeps only the blessing's overall slice in TFMA (the rest is numpy's).
        assert ours.slicing_metrics == theirs.slicing_metrics and len(ours.slicing_metrics) >= 1
        assert (ours.config, ours.model_location, ours.data_location) == \
            (theirs.config, theirs.model_location, theirs.data_location)
        assert ours.plots == [plot for plot in theirs.plots if not plot[0]] and len(ours.plots) == 1
