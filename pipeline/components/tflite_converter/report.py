"""The variant table as JSON (for tools and the HTML run report) and Markdown (for people).

``report.json`` keeps one flat row per variant under ``variants`` (the HTML report's
``variant_tables`` renders it as is); the per-slice metrics, the gate's policy, the
teacher and the fine-tuning hyperparameters sit beside it under their own keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.components.tflite_converter.gate import GatePolicy, SliceMetrics, VariantResult, gated_slice

COLUMNS = (
    ("variant", "name", "{}"),
    ("technique", "technique", "{}"),
    ("conversion", "conversion", "{}"),
    ("size (bytes)", "size_bytes", "{:,}"),
    ("gzip (bytes)", "gzip_bytes", "{:,}"),
    ("params (non-zero)", "nonzero_params", "{:,}"),
    ("AUC", "auc", "{:.4f}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("ECE", "calibration_error", "{:.4f}"),
    ("agreement", "label_agreement", "{:.4f}"),
    ("max abs diff", "max_abs_diff", "{:.2e}"),
    ("worst slice", "worst_slice", "{}"),
    ("its AUC drop", "worst_slice_drop", "{:+.4f}"),
    ("1-row (ms)", "single_row_ms", "{:.4f}"),
    ("batch (ms)", "batch_ms", "{:.3f}"),
    ("gate", "reason", "{}"),
)


def _cell(template: str, value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return template.format(value)


def markdown_table(results: Sequence[VariantResult], reference: Mapping[str, Any]) -> str:
    lines = [
        "| " + " | ".join(title for title, _, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    saved = {"name": "SavedModel", "technique": "teacher", "conversion": "-",
             "nonzero_params": reference.get("params"), "auc": reference["auc"],
             "accuracy": reference["accuracy"], "calibration_error": reference.get("calibration_error"),
             "label_agreement": 1.0, "max_abs_diff": 0.0, "single_row_ms": reference["single_row_ms"],
             "reason": "reference"}
    lines.append("| " + " | ".join(_cell(fmt, saved.get(key)) for _, key, fmt in COLUMNS) + " |")
    for result in results:
        row = result.as_dict()
        lines.append("| " + " | ".join(_cell(fmt, row[key]) for _, key, fmt in COLUMNS) + " |")
    return "\n".join(lines)


def slice_table(results: Sequence[VariantResult], reference_slices: Mapping[str, Mapping[str, Any]],
                policy: Mapping[str, Any]) -> str:
    """AUC per slice with enough rows to be listed: the SavedModel's, and each variant's drop."""
    names = [r.name for r in results if r.converted]
    lines = ["| slice | examples | positives | gated | SavedModel AUC | " + " | ".join(names) + " |",
             "|" + "---|" * (5 + len(names))]
    for key, ref in reference_slices.items():
        if ref["examples"] < policy.get("min_slice_examples", 0):
            continue
        gated = gated_slice(SliceMetrics(**ref), GatePolicy(**policy)) if policy else True
        drops = []
        for result in results:
            if result.converted:
                mine = result.slices.get(key)
                drops.append("-" if mine is None or math.isnan(mine.auc) or math.isnan(ref["auc"])
                             else f"{ref['auc'] - mine.auc:+.4f}")
        lines.append(f"| {key} | {ref['examples']} | {ref['positives']} | {'yes' if gated else 'no'} | "
                     f"{_cell('{:.4f}', ref['auc'])} | "
                     + " | ".join(drops) + " |")
    return "\n".join(lines)


def markdown(summary: Mapping[str, object], results: Sequence[VariantResult],
             reference: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    extra = extra or {}
    policy = extra.get("policy", {})
    compressed = bool(extra.get("compress_model"))
    shipped = ("the gzip of the file: the bundle ships model.tflite.gz, which the edge client decompresses "
               "in memory" if compressed else "the plain .tflite file (gzip is reported, not counted)")
    parts = [
        "# TFLite variants",
        "",
        f"Status: **{summary['status']}**: {summary['reason']}",
        "",
        f"Measured on {reference['eval_rows']} eval rows on {reference.get('runtime', 'TFLite')}; latency = "
        f"median of single-row calls (SavedModel: serving_default on one raw tf.Example) and of "
        f"{reference['batch_size']}-row calls. Size = the .tflite file the interpreter loads; gzip = that "
        f"file gzip-compressed. The gate counts {shipped}. ECE = expected calibration error (10 bins).",
        "",
    ]
    if policy:
        counted = "gzip" if compressed else "file"
        parts += [f"Gate: the smallest variant ({counted} bytes) with overall AUC drop <= "
                  f"{policy['auc_budget']}, "
                  f"no slice of >= {policy['min_slice_examples']} examples "
                  f"(>= {policy['min_slice_class_examples']} of each class) dropping more than "
                  f"{policy['slice_auc_budget']} AUC, and label agreement >= {policy['min_agreement']}.", ""]
    parts += [markdown_table(results, reference), ""]
    if extra.get("saved_model_slices"):
        parts += ["## AUC drop by slice (SavedModel minus variant)", "",
                  slice_table(results, extra["saved_model_slices"], policy), ""]
    if extra.get("fine_tuning"):
        teacher = extra.get("teacher", {})
        parts += ["## Fine-tuning (TFMOT) and distillation", "",
                  f"Teacher: Model artifact {teacher.get('model_artifact_id')} "
                  f"({teacher.get('model_uri')}).", "",
                  "| hyperparameter | value |", "|---|---|"]
        parts += [f"| {key} | {value} |" for key, value in extra["fine_tuning"].items()]
        parts.append("")
    return "\n".join(parts)


def to_json(summary: Mapping[str, object], results: Sequence[VariantResult],
            reference: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    def clean(value: object) -> object:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return json.dumps({
        **summary,
        "reference": clean(dict(reference)),
        "variants": [{k: clean(v) for k, v in r.as_dict().items()} for r in results],
        "slices": {r.name: clean(r.slices_dict()) for r in results},
        **{key: clean(value) for key, value in (extra or {}).items()},
    }, indent=2)
