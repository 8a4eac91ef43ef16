"""The Evaluator's blessing rule."""

from __future__ import annotations

from pipeline.config import EvaluationConfig
from pipeline.evaluation import eval_config


def test_auc_gate_applies_to_the_whole_eval_split_only():
    config = eval_config(EvaluationConfig(auc_floor=0.93, max_auc_regression=0.002))
    [auc] = [m for m in config.metrics_specs[0].metrics if m.class_name == "AUC"]
    [gate] = auc.per_slice_thresholds
    assert [s.feature_keys for s in gate.slicing_specs] == [[]]
    assert gate.threshold.value_threshold.lower_bound.value == 0.93
    assert gate.threshold.change_threshold.absolute.value == -0.002
    assert not auc.HasField("threshold")


def test_metrics_are_sliced_by_payment_type_and_hour():
    config = eval_config(EvaluationConfig())
    assert [list(s.feature_keys) for s in config.slicing_specs] == [[], ["payment_type"], ["trip_start_hour"]]
    names = {m.class_name for m in config.metrics_specs[0].metrics}
    assert {"AUC", "BinaryAccuracy", "Precision", "Recall", "Calibration", "ExampleCount"} <= names


def test_the_models_compiled_keras_metrics_are_not_computed_a_second_time():
    config = eval_config(EvaluationConfig())
    assert config.options.HasField("include_default_metrics")
    assert config.options.include_default_metrics.value is False
