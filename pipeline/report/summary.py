"""The end-of-run summary: what ran or came from cache, data drift, metrics, blessing, push.

Everything is read back from MLMD and the artifacts it points to (through
:mod:`pipeline.metadata.facts`), so the summary shows what was recorded, not what the
runner believes happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ml_metadata import metadata_store

from pipeline.components.data_gate.spec import SUMMARY_FILE
from pipeline.metadata import facts as run_facts


class NodeResult(Protocol):
    """What a runner reports about one node (``pipeline.runners.ir.NodeResult`` has this shape).

    A protocol, so that reading the store never imports the runners (and TFX with them).
    """

    node_id: str
    state: str
    seconds: float
    execution_id: int | None


@dataclass
class RunSummary:
    """Facts about one run, ready to print or serialise."""

    run_id: str
    nodes: list[NodeResult]
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_by_slice: dict[str, dict[str, float]] = field(default_factory=dict)
    blessed: bool | None = None
    pushed: bool | None = None
    pushed_destination: str | None = None
    edge: str | None = None  # one line on the TFLite component's outcome
    drift: str | None = None  # one line on the data gate's drift check
    problems: list[str] = field(default_factory=list)  # facts that could not be read (drift aside)


def summarise(store: metadata_store.MetadataStore, run_id: str, nodes: list[NodeResult]) -> RunSummary:
    """Collects drift, metrics, blessing and pushes for the nodes the runner reports."""
    ids = {node.execution_id: node.node_id for node in nodes if node.execution_id is not None}
    executions = {ids[e.id]: e for e in store.get_executions_by_id(sorted(ids))}
    facts = run_facts.read_run(store, run_id, executions)
    summary = RunSummary(run_id=run_id, nodes=nodes, metrics=facts.metrics,
                         metrics_by_slice=facts.metrics_by_slice, blessed=facts.blessed)
    if facts.push is not None:
        summary.pushed = facts.push.pushed
        summary.pushed_destination = facts.push.destination if facts.push.pushed else None
    if facts.edge is not None:
        summary.edge = _edge_line(facts.edge)
    if facts.drift is not None and facts.drift.failed_execution is None:
        summary.drift = _drift_line(facts.drift)
    summary.problems = [p for p in facts.problems if not p.startswith("drift report:")]
    return summary


def _drift_line(drift: run_facts.DriftFacts) -> str:
    """'checked against baseline <uri>: 0 of 8 measurements over their limits (action block)'."""
    unreadable = f"; {SUMMARY_FILE} unreadable: {drift.unreadable}" if drift.unreadable else ""
    if drift.reason:
        return f"not checked ({drift.reason}){unreadable}"
    if drift.measurements is None:
        counted = f"{drift.findings} measurement(s) over their limits"
    else:
        counted = f"{len(drift.drifted)} of {len(drift.measurements)} measurements over their limits"
    line = f"checked against baseline {drift.baseline_uri}: {counted} (action {drift.action})"
    if drift.drifted:
        splits: dict[str, list[str]] = {}
        for row in drift.drifted:
            splits.setdefault(row.feature, []).append(row.split)
        line += "; drifted: " + ", ".join(f"{feature} ({', '.join(names)})"
                                          for feature, names in splits.items())
    return line + unreadable


def _edge_line(edge: run_facts.EdgeFacts) -> str:
    """'int8 (7352 bytes, AUC 0.9452) -> <folder>' or why nothing was pushed, then every variant's reason."""
    reasons = "".join(f"\n    {variant}: {reason}" for variant, reason in edge.variant_reasons.items())
    return edge_outcome(edge) + reasons


def edge_outcome(edge: run_facts.EdgeFacts) -> str:
    """'int8 (7352 bytes, AUC 0.9452) -> <folder>' or why nothing was pushed (also in the HTML report)."""
    if edge.variant is None:
        return f"nothing pushed ({edge.status or 'unknown'}: {edge.reason})"
    auc = edge.auc if edge.auc is not None else float("nan")
    return (f"{edge.variant} ({edge.size_bytes or 0} bytes, AUC {auc:.4f}{teacher_note(edge)}) -> "
            f"{edge.push.destination or ''}")


def teacher_note(edge: run_facts.EdgeFacts) -> str:
    """', a student distilled from model #12' when the pushed variant is a student, else ''."""
    if edge.technique != "student":
        return ""
    return f", a student distilled from model #{edge.teacher_model_id} ({edge.teacher_model_uri})"


def format_summary(summary: RunSummary) -> str:
    """A short, human-readable block for the end of a CLI run."""
    lines = [f"Run {summary.run_id}"]
    for node in summary.nodes:
        lines.append(f"  {node.node_id:<32} {node.state:<9} {node.seconds:7.1f} s")
    if summary.drift:
        lines.append(f"  drift: {summary.drift}")
    if summary.metrics:
        shown = ("auc", "binary_accuracy", "precision", "recall", "calibration", "example_count")
        metrics = ", ".join(f"{k}={summary.metrics[k]:.4f}" for k in shown if k in summary.metrics)
        lines.append(f"  metrics (eval split): {metrics}")
    if summary.blessed is not None:
        lines.append(f"  blessed: {'yes' if summary.blessed else 'no'}")
    if summary.pushed:
        lines.append(f"  pushed model: {summary.pushed_destination}")
    elif summary.pushed is False:
        lines.append("  pushed model: nothing pushed (model not blessed)")
    if summary.edge:
        lines.append(f"  edge bundle: {summary.edge}")
    for problem in summary.problems:
        lines.append(f"  not readable: {problem}")
    return "\n".join(lines)
