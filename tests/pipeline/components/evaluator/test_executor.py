"""What the Evaluator leaves to TFMA and what it computes in numpy."""

from __future__ import annotations

import tensorflow_model_analysis as tfma

from pipeline.components.evaluator.executor import NUMPY_METRICS, split_config
from pipeline.config import EvaluationConfig
from pipeline.evaluation import eval_config


def test_single_feature_slicings_leave_tfma_and_the_rest_stays():
    config = tfma.EvalConfig(slicing_specs=[
        tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["payment_type"]),
        tfma.SlicingSpec(feature_keys=["trip_start_hour"]),
        tfma.SlicingSpec(feature_keys=["payment_type", "trip_start_hour"]),
        tfma.SlicingSpec(feature_values={"payment_type": "Cash"})])
    kept, mine = split_config(config)
    assert mine == ["payment_type", "trip_start_hour"]
    assert [list(s.feature_keys) for s in kept.slicing_specs] == [[], ["payment_type", "trip_start_hour"], []]
    assert dict(kept.slicing_specs[2].feature_values) == {"payment_type": "Cash"}


def test_tfma_keeps_the_overall_slice_when_every_slicing_moves_out():
    config = tfma.EvalConfig(slicing_specs=[tfma.SlicingSpec(feature_keys=["payment_type"])])
    kept, mine = split_config(config)
    assert mine == ["payment_type"] and [list(s.feature_keys) for s in kept.slicing_specs] == [[]]


def test_the_blessing_metric_stays_in_tfma_and_unthresholded_stock_metrics_move_out():
    config = eval_config(EvaluationConfig())
    kept, _ = split_config(config)
    [spec] = kept.metrics_specs
    [auc] = spec.metrics
    assert auc.class_name == "AUC" and auc.per_slice_thresholds  # the blessing's threshold
    moved = {m.class_name for m in config.metrics_specs[0].metrics} - {"AUC"}
    assert moved and moved <= NUMPY_METRICS


def test_metrics_with_a_threshold_or_settings_of_their_own_stay_in_tfma():
    config = tfma.EvalConfig(metrics_specs=[tfma.MetricsSpec(metrics=[
        tfma.MetricConfig(class_name="Precision", config='{"thresholds": [0.3]}'),
        tfma.MetricConfig(class_name="BinaryAccuracy", threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.8}))),
        tfma.MetricConfig(class_name="MeanLabel")])])
    kept, _ = split_config(config)
    assert [m.class_name for m in kept.metrics_specs[0].metrics] == ["Precision", "BinaryAccuracy"]
