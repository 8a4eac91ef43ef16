"""The numpy metrics shared by the TFLite gate and the Evaluator's slices."""

from __future__ import annotations

import itertools
import math

import numpy as np

from pipeline.binary_metrics import auc, evaluator_metrics, evaluator_metrics_by_slice


def _pairwise_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC by definition: the share of (positive, negative) pairs ranked right, ties half."""
    pairs = list(itertools.product(scores[labels], scores[~labels]))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


def test_auc_counts_ties_half_like_the_pairwise_definition():
    rng = np.random.default_rng(7)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.random(300) * 0.5 + labels * 0.3, 1)  # rounded: many ties
    assert math.isclose(auc(labels, scores), _pairwise_auc(labels, scores), abs_tol=1e-12)


def test_evaluator_metrics_follow_tfmas_definitions():
    labels = np.array([1, 1, 0, 0, 1], dtype=bool)
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.7])
    metrics = evaluator_metrics(labels, scores)
    assert metrics["example_count"] == 5
    assert metrics["binary_accuracy"] == 3 / 5  # 0.9 and 0.7 right, 0.1 right; 0.4 and 0.6 wrong
    assert metrics["precision"] == 2 / 3 and metrics["recall"] == 2 / 3
    assert math.isclose(metrics["calibration"], 2.7 / 3)
    assert metrics["mean_label"] == 3 / 5 and math.isclose(metrics["mean_prediction"], 2.7 / 5)


def test_precision_is_nan_when_no_row_is_predicted_positive():
    metrics = evaluator_metrics(np.array([True, False]), np.array([0.2, 0.1]))
    assert math.isnan(metrics["precision"]) and metrics["recall"] == 0.0


def test_each_slice_gets_the_metrics_of_its_rows_and_rows_without_the_feature_none():
    rng = np.random.default_rng(3)
    rows = 2000
    labels = rng.random(rows) < 0.4
    scores = rng.random(rows)
    hours = rng.integers(0, 24, rows)
    payments = np.array([b"Cash", b"Credit Card", b"No Charge"])[rng.integers(0, 3, rows)]
    has_payment = rng.random(rows) < 0.9
    by_slice = evaluator_metrics_by_slice(
        labels, scores, {"trip_start_hour": hours, "payment_type": payments},
        {"trip_start_hour": np.ones(rows, dtype=bool), "payment_type": has_payment})
    assert len(by_slice) == 24 + 3
    for hour in (0, 13, 23):
        mask = hours == hour
        assert by_slice[f"trip_start_hour={hour}"] == evaluator_metrics(labels[mask], scores[mask])
    mask = (payments == b"Credit Card") & has_payment
    assert by_slice["payment_type=Credit Card"] == evaluator_metrics(labels[mask], scores[mask])
    assert sum(by_slice[f"payment_type={p}"]["example_count"]
               for p in ("Cash", "Credit Card", "No Charge")) == has_payment.sum()
