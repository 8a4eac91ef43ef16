"""The end-of-run summary: what ran or came from cache, data drift, metrics, blessing, push.

Everything is read back from MLMD and the artifacts it points to, so the summary
shows what was recorded, not what the runner believes happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ml_metadata import metadata_store

from pipeline.components.data_gate.drift import SUMMARY_FILE, DriftMeasurement
from pipeline.metadata import queries

OUTPUT_EVENTS = queries.OUTPUT_EVENTS


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


# The data gate's drift check publishes a ``drift_report`` artifact holding drift.SUMMARY_FILE.
DRIFT_REPORT_KEY = "drift_report"
DRIFT_FILE = SUMMARY_FILE


@dataclass
class DriftFacts:
    """The data gate's drift check in one run: its artifact's properties and drift.json."""

    artifact_id: int | None  # None: the gate failed before publishing its drift report
    enabled: bool  # False: drift checks are switched off in the configuration
    checked: bool  # False: no baseline yet (no model blessed), or not enabled
    action: str | None = None  # "block" or "warn"
    baseline_uri: str | None = None
    findings: int | None = None
    measurements: list[DriftMeasurement] | None = None  # None: drift.json not read (or not written)
    failed_execution: int | None = None

    @property
    def drifted(self) -> list[DriftMeasurement]:
        return [m for m in self.measurements or [] if m.drifted]

    @property
    def reason(self) -> str | None:
        """Why there are no measurements, or None when drift was checked."""
        if self.failed_execution is not None:
            return "the data gate failed before publishing its drift report"
        if not self.enabled:
            return "drift checks disabled"
        if not self.checked:
            return "no blessed model yet, so no data baseline to compare with"
        return None


def drift_facts(artifact: Any) -> DriftFacts:
    """The drift check as recorded in the ``drift_report`` artifact's custom properties.

    The gate records ``drift_action`` only when drift checks are enabled.
    """
    action = queries.property_value(artifact, "drift_action")
    findings = queries.property_value(artifact, "drift_findings")
    return DriftFacts(
        artifact_id=artifact.id,
        enabled=action is not None,
        checked=queries.property_value(artifact, "drift_checked") == 1,
        action=action,  # type: ignore[arg-type]
        baseline_uri=queries.property_value(artifact, "baseline_uri"),  # type: ignore[arg-type]
        findings=findings,  # type: ignore[arg-type]
    )


def read_drift_file(facts: DriftFacts, uri: str) -> None:
    """Adds drift.json's measurements to ``facts`` (and whatever the properties lacked).

    With drift checks disabled the gate writes no file, and nothing is added; an
    enabled check without the file raises FileNotFoundError.
    """
    import json
    import os

    from tfx.dsl.io import fileio

    path = os.path.join(uri, DRIFT_FILE)
    if not fileio.exists(path):
        if facts.enabled:
            raise FileNotFoundError(f"{path} not found")
        return
    with fileio.open(path, "r") as handle:
        recorded = json.loads(handle.read())
    facts.enabled = True
    facts.checked = facts.checked or bool(recorded.get("checked"))
    facts.action = facts.action or recorded.get("action")
    facts.baseline_uri = facts.baseline_uri or recorded.get("baseline_uri")
    facts.measurements = [DriftMeasurement.from_json(row) for row in recorded.get("measurements") or []]
    if facts.findings is None:
        facts.findings = len(facts.drifted)


def outputs_of(store: metadata_store.MetadataStore, execution_id: int) -> dict[str, list[Any]]:
    """Output artifacts of an execution keyed by output name (e.g. 'blessing')."""
    return queries.artifacts_by_key(store, execution_id, OUTPUT_EVENTS)


def _int_property(artifact: Any, name: str) -> int | None:
    if name in artifact.custom_properties:
        return artifact.custom_properties[name].int_value
    return None


def slice_name(slice_key: tuple) -> str:
    """'overall' for the whole eval split, else 'feature=value'."""
    if not slice_key:
        return "overall"
    return ", ".join(f"{name}={value}" for name, value in slice_key)


def candidate_model_name(uri: str) -> str | None:
    """The evaluated (non-baseline) model's name when TFMA compared several models, else None.

    With a baseline, TFMA stores results per model name; naming the candidate reads its
    metrics and plots without TFMA warning that an unnamed model has no plots.
    """
    import json
    import os

    from tfx.dsl.io import fileio

    path = os.path.join(uri, "eval_config.json")
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as handle:
        specs = json.loads(handle.read()).get("evalConfig", {}).get("modelSpecs", [])
    if len(specs) < 2:
        return None
    return next((s.get("name") for s in specs if not s.get("isBaseline")), None)


def evaluation_metrics(uri: str) -> dict[str, dict[str, float]]:
    """Scalar metrics per slice from a TFMA evaluation artifact (the candidate's, with a baseline)."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(uri, model_name=candidate_model_name(uri))
    by_slice: dict[str, dict[str, float]] = {}
    for slice_key, metrics in result.slicing_metrics:
        values: dict[str, float] = {}
        for sub_key_metrics in metrics.values():
            for metric_map in sub_key_metrics.values():
                for name, value in metric_map.items():
                    if isinstance(value, dict) and "doubleValue" in value:
                        values[name] = float(value["doubleValue"])
        by_slice[slice_name(slice_key)] = values
    return by_slice


def summarise(store: metadata_store.MetadataStore, run_id: str, nodes: list[NodeResult]) -> RunSummary:
    """Collects blessing, push and metrics for the nodes of one run."""
    summary = RunSummary(run_id=run_id, nodes=nodes)
    for node in nodes:
        if node.execution_id is None:
            continue
        outputs = outputs_of(store, node.execution_id)
        if "blessing" in outputs:
            summary.blessed = _int_property(outputs["blessing"][0], "blessed") == 1
        if "evaluation" in outputs:
            summary.metrics_by_slice = evaluation_metrics(outputs["evaluation"][0].uri)
            summary.metrics = summary.metrics_by_slice.get("overall", {})
        if "pushed_model" in outputs:
            pushed = outputs["pushed_model"][0]
            summary.pushed = _int_property(pushed, "pushed") == 1
            if summary.pushed and "pushed_destination" in pushed.custom_properties:
                summary.pushed_destination = pushed.custom_properties["pushed_destination"].string_value
        if "tflite_models" in outputs:
            summary.edge = _edge_line(outputs["tflite_models"][0])
        if DRIFT_REPORT_KEY in outputs:
            summary.drift = _drift_line(outputs[DRIFT_REPORT_KEY][0])
    return summary


def _drift_line(artifact: Any) -> str:
    """'checked against baseline <uri>: 0 of 8 measurements over their limits (action block)'."""
    facts = drift_facts(artifact)
    unreadable = ""
    try:
        read_drift_file(facts, artifact.uri)
    except Exception as error:  # noqa: BLE001 - the properties still say what happened
        unreadable = f"; {DRIFT_FILE} unreadable: {error}"
    if facts.reason:
        return f"not checked ({facts.reason}){unreadable}"
    if facts.measurements is None:
        counted = f"{facts.findings} measurement(s) over their limits"
    else:
        counted = f"{len(facts.drifted)} of {len(facts.measurements)} measurements over their limits"
    line = f"checked against baseline {facts.baseline_uri}: {counted} (action {facts.action})"
    if facts.drifted:
        splits: dict[str, list[str]] = {}
        for row in facts.drifted:
            splits.setdefault(row.feature, []).append(row.split)
        line += "; drifted: " + ", ".join(f"{feature} ({', '.join(names)})"
                                          for feature, names in splits.items())
    return line + unreadable


def _edge_line(artifact: Any) -> str:
    """'int8 (7352 bytes, AUC 0.9452) -> <folder>' or why nothing was pushed."""
    props = artifact.custom_properties

    def text(name: str) -> str:
        return props[name].string_value if name in props else ""

    if text("status") != "pushed":
        return f"nothing pushed ({text('status') or 'unknown'}: {text('reason')})"
    variant = text("chosen_variant")
    size = props[f"{variant}_size_bytes"].int_value if f"{variant}_size_bytes" in props else 0
    auc = props[f"{variant}_auc"].double_value if f"{variant}_auc" in props else float("nan")
    return f"{variant} ({size} bytes, AUC {auc:.4f}) -> {text('pushed_destination')}"


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
    return "\n".join(lines)
