"""Plain-text tables for the lineage commands (the ``--json`` output is the dataclasses)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.lineage.api import ArtifactInfo, RunDiff, RunInfo, Trace


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A left-aligned text table with a header rule."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _short(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def data_cell(run: RunInfo) -> str:
    """'span 19730 v0, window 7' / 'BLOCKED span ...' / 'accepted' notes, or '-'."""
    parts = []
    if run.span is not None:
        parts.append(f"span {run.span}" + (f" v{run.version}" if run.version is not None else ""))
    if run.window:
        parts.append(f"window {len(run.window)}")
    if run.blocked:
        parts.append("BLOCKED by the data gate")
    if run.drift_accepted:
        parts.append("drift accepted")
    return ", ".join(parts) or "-"


def format_runs(runs: list[RunInfo]) -> str:
    rows = [
        [r.run_id, r.status, r.started, f"{r.seconds:.1f}", data_cell(r), len(r.ran), len(r.cached),
         ", ".join(r.cached) or "-"]
        for r in runs
    ]
    return table(["run id", "status", "started", "seconds", "data", "ran", "cached", "cached components"],
                 rows)


def format_run(run: RunInfo) -> str:
    head = (f"Run {run.run_id} ({run.pipeline}): {run.status}, {run.seconds:.1f} s, "
            f"{run.started} .. {run.ended}")
    if run.span is not None:
        head += f"\n  data: span {run.span}" + (f" version {run.version}" if run.version is not None else "")
        if run.window:
            head += f"; trained on spans {', '.join(str(s) for s in run.window)}"
    if run.blocked:
        head += "\n  blocked by the data gate (python -m pipeline accept-drift to accept drift)"
    if run.drift_accepted:
        head += f"\n  drift accepted {run.drift_accepted}"
    rows = [[c.node_id, c.state, c.execution_id, f"{c.seconds:.1f}"] for c in run.components]
    return head + "\n" + table(["component", "state", "execution", "seconds"], rows)


def _artifact_line(a: ArtifactInfo) -> str:
    producer = f"{a.producer_node}.{a.output_key} (execution {a.producer_execution_id}, run {a.run_id})"
    return f"#{a.id} {a.type} {a.uri}  <- {producer}"


def format_trace(trace: Trace) -> str:
    t = trace.target
    art = trace.artifacts
    lines = [f"Trace of artifact #{t.id} ({t.type}), matched by {trace.matched_by}", f"  uri: {t.uri}"]
    if t.producer_node:
        lines.append(f"  produced by {t.producer_node} (execution {t.producer_execution_id}) "
                     f"in run {t.run_id}")
    lines.append("")
    lines.append("Origin")
    for source in trace.data_sources:
        span = f" (span {source['span']})" if source.get("span") not in (None, 0) else ""
        lines.append(f"  data:           {source['input_base']}{span}")
        lines.append(f"  fingerprint:    {source['input_fingerprint']}")
        lines.append(f"  examples:       {_artifact_line(art[source['examples_artifact_id']])}")
    for i in trace.schemas:
        lines.append(f"  schema:         {_artifact_line(art[i])}")
    for i in trace.statistics:
        lines.append(f"  statistics:     {_artifact_line(art[i])}")
    for i in trace.anomalies:
        lines.append(f"  anomalies:      {_artifact_line(art[i])}")
    for i in trace.transform_graphs:
        lines.append(f"  transform:      {_artifact_line(art[i])}")
    for trainer in trace.trainers:
        lines.append(f"  trainer:        execution {trainer['execution_id']} in run {trainer['run_id']}, "
                     f"run_fn {trainer['run_fn']}")
        lines.append(f"  train/eval:     {_short(trainer['train_args'])} / {_short(trainer['eval_args'])}")
        lines.append(f"  hyperparameters: {_short(trainer['hyperparameters'], 100)}")
    if trace.model is not None:
        lines.append(f"  model:          #{trace.model}")
    lines.append("")
    lines.append("Path (real producers, oldest first; 'reused by' = later runs served from cache)")
    rows = []
    for step in trace.steps:
        inputs = ", ".join(f"{k}={v}" for k, v in step.inputs.items())
        outputs = ", ".join(f"{k}={v}" for k, v in step.outputs.items())
        rows.append([step.node_id, step.execution_id, step.state, step.run_id, _short(inputs, 50),
                     _short(outputs, 50), len(step.reused_by_runs)])
    lines.append(table(["component", "execution", "state", "run", "inputs", "outputs", "reused by"], rows))
    if trace.evaluations or trace.pushes or trace.derived:
        lines.append("")
        lines.append("Forward from the model")
    for e in trace.evaluations:
        baseline = (f", baseline model {e['baseline_model_ids']}" if e["baseline_model_ids"]
                    else ", no baseline")
        lines.append(f"  evaluation #{e['evaluation_artifact_id']} in run {e['run_id']}: "
                     f"{'BLESSED' if e['blessed'] else 'not blessed'} (blessing #{e['blessing_artifact_id']}"
                     f"{baseline})")
    for p in trace.pushes:
        what = "pushed to" if p["pushed"] else "not pushed"
        reused = " (already there: not copied again)" if p["reused_existing_push"] else ""
        lines.append(f"  push #{p['artifact_id']} in run {p['run_id']}: {what} "
                     f"{p['destination'] or ''}{reused}")
    for i in trace.derived:
        lines.append(f"  derived:        {_artifact_line(art[i])}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return _short(value, 60) if value is not None else "-"


def format_diff(diff: RunDiff, show_all: bool = False) -> str:
    rows = diff.rows if show_all else diff.changed
    head = (f"Diff of runs A={diff.run_a} and B={diff.run_b}: "
            f"{len(diff.changed)} of {len(diff.rows)} facts differ")
    if not rows:
        return head
    return head + "\n" + table(["fact", "A", "B", ""],
                               [[r.key, _cell(r.a), _cell(r.b), "*" if r.changed else ""] for r in rows])
