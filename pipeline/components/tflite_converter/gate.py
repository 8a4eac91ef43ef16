"""Metrics per variant and the gate that picks which variant (if any) is pushed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count half); NaN when only one class is present."""
    labels = np.asarray(labels).reshape(-1).astype(bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # Average ranks over ties.
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(scores)]])
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean((np.asarray(scores).reshape(-1) > threshold) == np.asarray(labels).reshape(-1)))


@dataclass
class VariantResult:
    """What the component measured for one variant (or why it has no numbers)."""

    name: str
    converted: bool
    error: str = ""
    size_bytes: int = 0
    weight_bytes: int = 0
    auc: float = float("nan")
    accuracy: float = float("nan")
    max_abs_diff: float = float("nan")
    label_agreement: float = float("nan")
    single_row_ms: float = float("nan")
    batch_ms: float = float("nan")
    qualifies: bool = False
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def apply_gate(results: Sequence[VariantResult], reference_auc: float, budget: float) -> VariantResult | None:
    """Marks each variant qualifying or not; returns the smallest qualifying one.

    A variant qualifies when it converted and its AUC is at least the SavedModel's AUC
    minus ``budget``.
    """
    floor = reference_auc - budget
    for result in results:
        if not result.converted:
            result.qualifies, result.reason = False, f"conversion failed: {result.error}"
        elif not result.auc >= floor:  # also rejects NaN
            result.qualifies = False
            result.reason = (f"AUC {result.auc:.4f} below {floor:.4f} "
                             f"(SavedModel {reference_auc:.4f} - budget {budget})")
        else:
            result.qualifies, result.reason = True, "within the AUC budget"
    qualifying = [r for r in results if r.qualifies]
    return min(qualifying, key=lambda r: (r.size_bytes, r.name)) if qualifying else None
