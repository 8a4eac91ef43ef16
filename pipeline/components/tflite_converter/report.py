"""The variant table as JSON (for tools) and Markdown (for people)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

from pipeline.components.tflite_converter.gate import VariantResult

COLUMNS = (
    ("variant", "name", "{}"),
    ("size (bytes)", "size_bytes", "{:,}"),
    ("weights (bytes)", "weight_bytes", "{:,}"),
    ("AUC", "auc", "{:.4f}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("max abs diff vs SavedModel", "max_abs_diff", "{:.2e}"),
    ("label agreement", "label_agreement", "{:.4f}"),
    ("1-row (ms)", "single_row_ms", "{:.4f}"),
    ("batch (ms)", "batch_ms", "{:.3f}"),
    ("gate", "reason", "{}"),
)


def _cell(template: str, value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return template.format(value)


def markdown_table(results: Sequence[VariantResult], reference: Mapping[str, float]) -> str:
    lines = [
        "| " + " | ".join(title for title, _, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines.append(
        f"| SavedModel | - | - | {reference['auc']:.4f} | {reference['accuracy']:.4f} | 0 | 1 | "
        f"{reference['single_row_ms']:.4f} | - | reference |"
    )
    for result in results:
        row = result.as_dict()
        lines.append("| " + " | ".join(_cell(fmt, row[key]) for _, key, fmt in COLUMNS) + " |")
    return "\n".join(lines)


def markdown(summary: Mapping[str, object], results: Sequence[VariantResult],
             reference: Mapping[str, float]) -> str:
    return "\n".join([
        "# TFLite variants",
        "",
        f"Status: **{summary['status']}**: {summary['reason']}",
        "",
        f"Measured on {reference['eval_rows']} eval rows; latency = median of single-row calls "
        f"(TFLite interpreter invoke; SavedModel: serving_default on one raw tf.Example) and of "
        f"{reference['batch_size']}-row calls.",
        "",
        markdown_table(results, reference),
        "",
    ])


def to_json(summary: Mapping[str, object], results: Sequence[VariantResult],
            reference: Mapping[str, float]) -> str:
    def clean(value: object) -> object:
        return None if isinstance(value, float) and math.isnan(value) else value

    return json.dumps({
        **summary,
        "reference": reference,
        "variants": [{k: clean(v) for k, v in r.as_dict().items()} for r in results],
    }, indent=2)
