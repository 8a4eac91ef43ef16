"""The variant gate and the metrics it relies on."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from pipeline.components.tflite_converter.gate import (
    GatePolicy,
    VariantResult,
    accuracy,
    apply_gate,
    auc,
    expected_calibration_error,
    slice_metrics,
)

POLICY = GatePolicy(auc_budget=0.005, slice_auc_budget=0.02, min_slice_examples=100, min_agreement=0.98)


def test_auc_matches_scikit_learn_including_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + labels * 0.3, 1)  # many ties
    assert abs(auc(labels, scores) - roc_auc_score(labels, scores)) < 1e-12
    assert np.isnan(auc(np.ones(3), np.array([0.1, 0.2, 0.3])))
    assert accuracy(np.array([1, 0, 1]), np.array([0.9, 0.6, 0.2])) == 1 / 3


def test_calibration_error_is_zero_when_probabilities_match_observed_rates():
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    calibrated = np.array([0.25] * 4 + [0.75] * 4)  # 1 of 4, then 3 of 4 positive
    assert expected_calibration_error(labels, calibrated) < 1e-12
    assert abs(expected_calibration_error(labels, np.full(8, 0.9)) - 0.4) < 1e-12


def test_slices_are_computed_per_feature_value():
    labels = np.array([1, 0, 1, 0, 1, 0])
    scores = np.array([0.9, 0.1, 0.2, 0.8, 0.7, 0.3])
    slices = slice_metrics(labels, scores, {"payment_type": np.array(["Cash", "Cash", "Card", "Card", "Card",
                                                                      "Card"])})
    assert slices["payment_type=Cash"].auc == 1.0 and slices["payment_type=Cash"].examples == 2
    assert slices["payment_type=Card"].auc == roc_auc_score([1, 0, 1, 0], [0.2, 0.8, 0.7, 0.3])


def _variant(name, size, auc_value, converted=True, agreement=0.99):
    return VariantResult(name=name, converted=converted, size_bytes=size, auc=auc_value,
                         label_agreement=agreement, error="" if converted else "boom")


def test_the_smallest_variant_within_the_budget_is_chosen_and_every_variant_says_why():
    results = [_variant("float32", 14000, 0.950), _variant("float16", 9000, 0.948),
               _variant("int8", 7000, 0.940), _variant("dynamic_range", 8000, 0.9452)]
    chosen = apply_gate(results, reference_auc=0.950, policy=POLICY)
    assert chosen.name == "dynamic_range" and chosen.reason.startswith("chosen")
    int8 = results[2]
    assert not int8.qualifies and "below 0.9450" in int8.reason
    assert results[0].reason.startswith("not chosen: dynamic_range is smaller")


def test_failed_conversions_and_low_agreement_never_qualify():
    results = [_variant("int8", 10, float("nan"), converted=False), _variant("float32", 100, 0.90),
               _variant("float16", 50, 0.951, agreement=0.97)]
    assert apply_gate(results, reference_auc=0.95, policy=POLICY) is None
    assert results[0].reason == "conversion failed: boom"
    assert "below" in results[1].reason
    assert "agrees with the SavedModel on 0.9700" in results[2].reason


def test_a_slice_regression_blocks_a_variant_whose_overall_auc_is_fine_but_small_slices_do_not():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 1000)
    reference = np.clip(labels * 0.3 + rng.random(1000) * 0.7, 0, 1)
    group = np.where(np.arange(1000) < 150, "A", np.where(np.arange(1000) < 200, "tiny", "B"))
    degraded = reference.copy()
    degraded[group == "A"] = rng.permutation(degraded[group == "A"])  # slice A loses its ranking
    noisy_tiny = reference.copy()
    noisy_tiny[group == "tiny"] = rng.permutation(noisy_tiny[group == "tiny"])  # 50 rows: below the minimum
    reference_slices = slice_metrics(labels, reference, {"g": group})
    results = []
    for name, scores in (("degraded_on_a", degraded), ("degraded_on_tiny", noisy_tiny)):
        result = _variant(name, 10 if name == "degraded_on_a" else 20, auc(labels, scores))
        result.slices = slice_metrics(labels, scores, {"g": group})
        results.append(result)
    policy = GatePolicy(auc_budget=0.05, slice_auc_budget=0.02, min_slice_examples=100, min_agreement=0.0)
    # The construction: both within the overall budget; slice A loses far more than 0.02.
    assert all(r.auc >= auc(labels, reference) - policy.auc_budget for r in results)
    assert reference_slices["g=A"].auc - results[0].slices["g=A"].auc > 0.1
    chosen = apply_gate(results, auc(labels, reference), policy, reference_slices)
    assert chosen.name == "degraded_on_tiny"
    assert not results[0].qualifies and "g=A" in results[0].reason and results[0].worst_slice == "g=A"


def test_a_compressed_bundle_ranks_variants_by_their_gzip_bytes():
    # int8 is the smaller file, but the pruned model's zeros compress better.
    results = [_variant("int8", 7352, 0.9452), _variant("pruned_int8", 7376, 0.9455)]
    results[0].gzip_bytes, results[1].gzip_bytes = 4539, 3032
    assert apply_gate(results, reference_auc=0.9458, policy=POLICY).name == "int8"
    for result in results:
        result.shipped_bytes = result.gzip_bytes
    assert apply_gate(results, reference_auc=0.9458, policy=POLICY).name == "pruned_int8"
    assert results[0].reason.startswith("not chosen: pruned_int8 is smaller")
