"""Metrics per variant and the gate that picks which variant (if any) is pushed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from pipeline.binary_metrics import SliceMetrics, accuracy, auc, expected_calibration_error, slice_metrics
from pipeline.config import TFLiteConfig

# Re-exported: the gate's callers and tests import the shared metrics from here.
__all__ = ["GatePolicy", "SliceMetrics", "VariantResult", "accuracy", "apply_gate", "auc",
           "expected_calibration_error", "gated_slice", "slice_drops", "slice_metrics"]

# One source for the gate's defaults: the pipeline configuration.
_DEFAULTS = TFLiteConfig()


@dataclass(frozen=True)
class GatePolicy:
    """What a variant must satisfy to be pushable (see :func:`apply_gate`)."""

    auc_budget: float = _DEFAULTS.auc_budget
    slice_auc_budget: float = _DEFAULTS.slice_auc_budget
    min_slice_examples: int = _DEFAULTS.min_slice_examples
    # A slice's AUC rests on its rarer class: with 3 positives (cash trips: tips paid in
    # cash are not recorded) one re-ordered row moves it by 0.3. Slices with fewer
    # positives or negatives than this are reported but not gated.
    min_slice_class_examples: int = _DEFAULTS.min_slice_class_examples
    min_agreement: float = _DEFAULTS.min_agreement


@dataclass
class VariantResult:
    """What the component measured for one variant (or why it has no numbers).

    ``technique`` is the model the variant was converted from (``base``: the blessed
    model itself; else a TFMOT technique or the distilled ``student``), ``conversion``
    the TFLite conversion applied to it.
    """

    name: str
    converted: bool
    error: str = ""
    technique: str = "base"
    conversion: str = ""
    size_bytes: int = 0
    gzip_bytes: int = 0
    # What the bundle ships: ``gzip_bytes`` when the bundle is compressed, else ``size_bytes``.
    shipped_bytes: int = 0
    weight_bytes: int = 0
    params: int = 0
    nonzero_params: int = 0
    auc: float = float("nan")
    accuracy: float = float("nan")
    calibration_error: float = float("nan")
    mean_probability: float = float("nan")
    max_abs_diff: float = float("nan")
    label_agreement: float = float("nan")
    single_row_ms: float = float("nan")
    batch_ms: float = float("nan")
    worst_slice: str = ""
    worst_slice_drop: float = float("nan")
    qualifies: bool = False
    reason: str = ""
    slices: dict[str, SliceMetrics] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict:
        """The flat row (one value per column); the per-slice metrics are :meth:`slices_dict`."""
        row = asdict(self)
        row.pop("slices")
        return row

    def slices_dict(self) -> dict[str, dict]:
        return {name: asdict(metrics) for name, metrics in self.slices.items()}


def gated_slice(metrics: SliceMetrics, policy: GatePolicy) -> bool:
    """Whether a slice is large enough, in rows and in each class, for its AUC to be gated."""
    rarer = min(metrics.positives, metrics.examples - metrics.positives)
    return metrics.examples >= policy.min_slice_examples and rarer >= policy.min_slice_class_examples


def slice_drops(result: VariantResult, reference: Mapping[str, SliceMetrics], policy: GatePolicy
                ) -> dict[str, float]:
    """AUC drop (reference - variant) of every gated slice (see :func:`gated_slice`)."""
    drops = {}
    for name, ref in reference.items():
        mine = result.slices.get(name)
        if not gated_slice(ref, policy) or mine is None or math.isnan(ref.auc):
            continue
        drops[name] = ref.auc - mine.auc if not math.isnan(mine.auc) else float("inf")
    return drops


def _failures(result: VariantResult, reference_auc: float, reference_slices: Mapping[str, SliceMetrics],
              policy: GatePolicy) -> list[str]:
    floor = reference_auc - policy.auc_budget
    failures = []
    if not result.auc >= floor:  # also rejects NaN
        failures.append(f"AUC {result.auc:.4f} below {floor:.4f} "
                        f"(SavedModel {reference_auc:.4f} - budget {policy.auc_budget})")
    drops = slice_drops(result, reference_slices, policy)
    if drops:
        worst = max(drops, key=drops.get)
        result.worst_slice, result.worst_slice_drop = worst, float(drops[worst])
        over = {k: v for k, v in drops.items() if v > policy.slice_auc_budget}
        if over:
            listed = ", ".join(f"{k} -{v:.4f}" for k, v in sorted(over.items(), key=lambda kv: -kv[1])[:3])
            failures.append(f"{len(over)} slice(s) of >= {policy.min_slice_examples} examples drop more than "
                            f"{policy.slice_auc_budget} AUC ({listed})")
    if not result.label_agreement >= policy.min_agreement:
        failures.append(f"agrees with the SavedModel on {result.label_agreement:.4f} of labels "
                        f"(< {policy.min_agreement})")
    return failures


def shipped_bytes(result: VariantResult) -> int:
    """The bytes the bundle ships for a variant (its file size unless told otherwise)."""
    return result.shipped_bytes or result.size_bytes


def apply_gate(results: Sequence[VariantResult], reference_auc: float, policy: GatePolicy,
               reference_slices: Mapping[str, SliceMetrics] | None = None) -> VariantResult | None:
    """Marks each variant qualifying or not (with the reason); returns the smallest qualifying one.

    A variant qualifies when it converted, its overall AUC is within ``policy.auc_budget``
    of the SavedModel's, no slice with at least ``policy.min_slice_examples`` examples
    (and ``policy.min_slice_class_examples`` of each class) loses more than
    ``policy.slice_auc_budget`` AUC, and it predicts
    the SavedModel's label on at least ``policy.min_agreement`` of the rows. Size is
    :func:`shipped_bytes` (gzip bytes when the bundle ships the model compressed); ties
    in size go to the name (deterministic).
    """
    for result in results:
        if not result.converted:
            result.qualifies, result.reason = False, f"conversion failed: {result.error}"
            continue
        failures = _failures(result, reference_auc, reference_slices or {}, policy)
        result.qualifies = not failures
        result.reason = "; ".join(failures) if failures else (
            f"passes: AUC {result.auc:.4f} (drop {reference_auc - result.auc:+.4f}), worst slice "
            f"{result.worst_slice or '-'} {result.worst_slice_drop:+.4f}, "
            f"agreement {result.label_agreement:.4f}")
    qualifying = [r for r in results if r.qualifies]
    chosen = min(qualifying, key=lambda r: (shipped_bytes(r), r.name)) if qualifying else None
    for result in qualifying:
        if result is chosen:
            result.reason = f"chosen, the smallest that passes ({result.reason})"
        else:
            result.reason = f"not chosen: {chosen.name} is smaller and passes too ({result.reason})"
    return chosen
