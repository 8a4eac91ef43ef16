"""Binary-classification metrics over numpy arrays, overall and per slice, in one vectorised pass.

The TFLite gate compares its variants with these, and the Evaluator computes its per-slice
metrics with them (TFMA's per-example Python combiners cost about 1 CPU ms per example and
slice, so 24 hour slices and the payment types tripled the Evaluator's time). Names and
definitions follow TFMA's: a prediction counts as positive when it is above 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count half); NaN when only one class is present."""
    labels = np.asarray(labels).reshape(-1).astype(bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    # Average ranks over ties: every member of a run of equal scores gets the run's mean rank.
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(scores)]])
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean((np.asarray(scores).reshape(-1) > threshold) == np.asarray(labels).reshape(-1)))


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Mean |observed positive rate - mean probability| over equal-width bins, weighted by rows."""
    labels = np.asarray(labels, np.float64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if not len(labels):
        return float("nan")
    which = np.minimum((scores * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(labels[mask].mean() - scores[mask].mean())
    return float(total / len(labels))


@dataclass
class SliceMetrics:
    """One slice (``feature=value``) of the eval split."""

    examples: int
    positives: int
    auc: float
    accuracy: float


def slice_metrics(labels: np.ndarray, scores: np.ndarray, slices: Mapping[str, np.ndarray]
                  ) -> dict[str, SliceMetrics]:
    """Metrics per ``feature=value`` for every slicing feature (values as the Evaluator slices them)."""
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores).reshape(-1)
    out = {}
    for feature, values in slices.items():
        values = np.asarray(values).reshape(-1)
        for value in sorted(set(values.tolist()), key=str):
            mask = values == value
            out[f"{feature}={value}"] = SliceMetrics(
                examples=int(mask.sum()), positives=int(labels[mask].sum()),
                auc=auc(labels[mask], scores[mask]), accuracy=accuracy(labels[mask], scores[mask]))
    return out


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def evaluator_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The Evaluator's scalar metrics under TFMA's names (``auc``, ``binary_accuracy``, ...)."""
    labels = np.asarray(labels).reshape(-1).astype(bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    predicted = scores > threshold
    true_positives = int((predicted & labels).sum())
    positives = int(labels.sum())
    return {
        "example_count": float(len(labels)),
        "auc": auc(labels, scores),
        "binary_accuracy": _ratio(int((predicted == labels).sum()), len(labels)),
        "precision": _ratio(true_positives, int(predicted.sum())),
        "recall": _ratio(true_positives, positives),
        "calibration": _ratio(float(scores.sum()), positives),
        "mean_label": _ratio(positives, len(labels)),
        "mean_prediction": _ratio(float(scores.sum()), len(labels)),
    }


def calibration_buckets(labels: np.ndarray, scores: np.ndarray, buckets: int = 100) -> list[dict[str, float]]:
    """Sums of prediction and label and the row count per equal-width prediction bucket.

    Named as in TFMA's calibration histogram (``lowerThresholdInclusive``, ...), so that
    one reader turns either into the report's calibration plot. Empty buckets are left out.
    """
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    which = np.clip((scores * buckets).astype(np.int64), 0, buckets - 1)
    counts = np.bincount(which, minlength=buckets)
    predictions = np.bincount(which, weights=scores, minlength=buckets)
    positives = np.bincount(which, weights=labels, minlength=buckets)
    return [{"lowerThresholdInclusive": i / buckets, "upperThresholdExclusive": (i + 1) / buckets,
             "numWeightedExamples": float(counts[i]), "totalWeightedLabel": float(positives[i]),
             "totalWeightedRefinedPrediction": float(predictions[i])}
            for i in np.flatnonzero(counts)]


def slice_value(value: object) -> str:
    """A slice value as TFMA names it: bytes decoded, numpy scalars as plain numbers."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value.item() if isinstance(value, np.generic) else value)


def evaluator_metrics_by_slice(labels: np.ndarray, scores: np.ndarray, slices: Mapping[str, np.ndarray],
                               present: Mapping[str, np.ndarray] | None = None
                               ) -> dict[str, dict[str, float]]:
    """:func:`evaluator_metrics` per ``feature=value``, each slicing feature in one sort.

    ``present[feature]`` marks the rows that have the feature; like TFMA, a row without it
    belongs to none of that feature's slices.
    """
    labels = np.asarray(labels).reshape(-1).astype(bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    out: dict[str, dict[str, float]] = {}
    for feature, values in slices.items():
        values = np.asarray(values).reshape(-1)
        rows = np.arange(len(values)) if present is None else np.flatnonzero(present[feature])
        distinct, codes = np.unique(values[rows], return_inverse=True)
        order = np.argsort(codes, kind="stable")
        groups = np.split(rows[order], np.cumsum(np.bincount(codes, minlength=len(distinct)))[:-1])
        for value, members in zip(distinct, groups, strict=True):
            out[f"{feature}={slice_value(value)}"] = evaluator_metrics(labels[members], scores[members])
    return out
