"""The end-of-run summary: what ran or came from cache, metrics, blessing, push.

Everything is read back from MLMD and the artifacts it points to, so the summary
shows what was recorded, not what the runner believes happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml_metadata import metadata_store

from pipeline import mlmd_queries
from pipeline.runners.ir import NodeResult

OUTPUT_EVENTS = mlmd_queries.OUTPUT_EVENTS


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


def outputs_of(store: metadata_store.MetadataStore, execution_id: int) -> dict[str, list[Any]]:
    """Output artifacts of an execution keyed by output name (e.g. 'blessing')."""
    return mlmd_queries.artifacts_by_key(store, execution_id, OUTPUT_EVENTS)


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
    return summary


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
