"""The variant gate and the metrics it relies on."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from pipeline.components.tflite_converter.gate import VariantResult, accuracy, apply_gate, auc


def test_auc_matches_scikit_learn_including_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + labels * 0.3, 1)  # many ties
    assert abs(auc(labels, scores) - roc_auc_score(labels, scores)) < 1e-12
    assert np.isnan(auc(np.ones(3), np.array([0.1, 0.2, 0.3])))
    assert accuracy(np.array([1, 0, 1]), np.array([0.9, 0.6, 0.2])) == 1 / 3


def _variant(name, size, auc_value, converted=True):
    return VariantResult(name=name, converted=converted, size_bytes=size, auc=auc_value,
                         error="" if converted else "boom")


def test_the_smallest_variant_within_the_budget_is_chosen():
    results = [_variant("float32", 14000, 0.950), _variant("float16", 9000, 0.948),
               _variant("int8", 7000, 0.940), _variant("dynamic_range", 8000, 0.9452)]
    chosen = apply_gate(results, reference_auc=0.950, budget=0.005)
    assert chosen.name == "dynamic_range"
    int8 = results[2]
    assert not int8.qualifies and "below 0.9450" in int8.reason


def test_failed_conversions_never_qualify_and_no_qualifier_means_none():
    results = [_variant("int8", 10, float("nan"), converted=False), _variant("float32", 100, 0.90)]
    assert apply_gate(results, reference_auc=0.95, budget=0.005) is None
    assert results[0].reason == "conversion failed: boom"
    assert "below" in results[1].reason
