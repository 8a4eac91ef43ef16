"""The Evaluator's TFMA configuration: metrics, slices and the blessing thresholds.

A model is blessed only if its AUC clears an absolute floor and is not worse than
the last blessed model's by more than a small tolerance (on the first run there is
no baseline and only the floor applies).

Who computes what (``EvaluationConfig.slice_engine``): on one machine TFMA computes the
thresholded AUC on the whole eval split (the blessing), and the Evaluator's executor
(pipeline/components/evaluator) computes the single-feature slices and the other metrics
below in one numpy pass over the same split; on a Beam cluster TFMA computes all of it.
"""

from __future__ import annotations

import tensorflow_model_analysis as tfma
from google.protobuf import wrappers_pb2

from models import features
from pipeline.config import EvaluationConfig

REPORTED_METRICS = (
    "ExampleCount",
    "BinaryAccuracy",
    "Precision",
    "Recall",
    "Calibration",
    "CalibrationPlot",
    "MeanLabel",
    "MeanPrediction",
)


def eval_config(settings: EvaluationConfig) -> tfma.EvalConfig:
    """Builds the EvalConfig: overall plus one slice per configured feature."""
    # The gate applies to the whole eval split only: small slices (a payment type
    # with a handful of rows) are reported, not used to refuse a model.
    auc = tfma.MetricConfig(
        class_name="AUC",
        per_slice_thresholds=[
            tfma.PerSliceMetricThreshold(
                slicing_specs=[tfma.SlicingSpec()],
                threshold=tfma.MetricThreshold(
                    value_threshold=tfma.GenericValueThreshold(
                        lower_bound={"value": settings.auc_floor}
                    ),
                    change_threshold=tfma.GenericChangeThreshold(
                        direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                        absolute={"value": -settings.max_auc_regression},
                    ),
                ),
            )
        ],
    )
    metrics = [auc, *(tfma.MetricConfig(class_name=name) for name in REPORTED_METRICS)]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=features.LABEL_KEY,
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[key]) for key in settings.slice_features],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
        # The model's compiled Keras metrics (loss, auc, accuracy) would be computed a second
        # time for every slice through Keras; the metrics above already cover them.
        options=tfma.Options(include_default_metrics=wrappers_pb2.BoolValue(value=False)),
    )
