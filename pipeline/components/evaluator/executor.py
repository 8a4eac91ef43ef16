"""The Evaluator's executor: TFMA on the overall slice, the other slicings in one numpy pass.

Why: TFMA computes every metric per (slice, example) in Python. With the overall slice,
24 hour slices and the payment types, each example is combined three times, and the
slicings took 62% of the Evaluator's CPU (docs/scale.md). Here TFMA keeps what the
blessing rests on: the thresholded metrics (AUC) with their thresholds and the baseline
comparison, on the whole eval split. The single-feature slicings and the unthresholded
metrics (accuracy, precision, recall, calibration and its plot, ...) are computed by
:mod:`pipeline.components.evaluator.slices` over the same whole split (no sampling), in
one vectorised pass, and written to ``slice_metrics.json`` in the evaluation artifact
(read by :func:`pipeline.metadata.facts.evaluation_metrics`). Slicing specs with several
features or fixed values stay with TFMA.
"""

from __future__ import annotations

import json
import os
from typing import Any

import tensorflow_model_analysis as tfma
from absl import logging
from tfx.components.evaluator import executor as tfx_executor
from tfx.dsl.io import fileio
from tfx.types import Artifact, artifact_utils, standard_component_specs
from tfx.utils import json_utils, path_utils, proto_utils

from pipeline.components.evaluator import slices
from pipeline.components.evaluator.spec import SLICE_METRICS_FILE

# TFMA metrics that pipeline/binary_metrics.py computes under the same names, same definitions.
NUMPY_METRICS = frozenset({"ExampleCount", "AUC", "BinaryAccuracy", "Precision", "Recall", "Calibration",
                           "CalibrationPlot", "MeanLabel", "MeanPrediction"})


def _single_feature(spec: tfma.SlicingSpec) -> bool:
    return len(spec.feature_keys) == 1 and not spec.feature_values and not spec.slice_keys_sql


def _moves_out(metric: tfma.MetricConfig) -> bool:
    """A stock metric with default settings on which no threshold rests: numpy computes it."""
    return (metric.class_name in NUMPY_METRICS and not metric.module and not metric.config
            and not metric.HasField("threshold") and not metric.per_slice_thresholds
            and not metric.cross_slice_thresholds)


def _plain(spec: tfma.MetricsSpec) -> bool:
    """One binary output of one model, no spec-level thresholds: what the numpy pass covers."""
    return not (spec.thresholds or spec.per_slice_thresholds or spec.cross_slice_thresholds
                or spec.HasField("binarize") or spec.HasField("aggregate") or spec.model_names
                or spec.output_names or spec.query_key)


def split_config(eval_config: tfma.EvalConfig) -> tuple[tfma.EvalConfig, list[str]]:
    """(the config TFMA runs, the features sliced here).

    Single-feature slicing specs move out of TFMA, and so do the metrics numpy computes
    alike when no threshold rests on them. What the blessing rests on (the thresholded
    metrics, on their slices) stays in TFMA, as do slicings of several features or values.
    """
    kept = tfma.EvalConfig()
    kept.CopyFrom(eval_config)
    del kept.slicing_specs[:]
    kept.slicing_specs.extend(s for s in eval_config.slicing_specs if not _single_feature(s))
    if not kept.slicing_specs:
        kept.slicing_specs.append(tfma.SlicingSpec())
    for spec in kept.metrics_specs:
        if not _plain(spec):
            continue
        remaining = [m for m in spec.metrics if not _moves_out(m)]
        del spec.metrics[:]
        spec.metrics.extend(remaining or [tfma.MetricConfig(class_name="ExampleCount")])
    return kept, [s.feature_keys[0] for s in eval_config.slicing_specs if _single_feature(s)]


def _candidate_spec(eval_config: tfma.EvalConfig) -> tfma.ModelSpec:
    return next(spec for spec in eval_config.model_specs if not spec.is_baseline)


class Executor(tfx_executor.Executor):
    """TFX's Evaluator executor, with the single-feature slicings computed outside TFMA."""

    def Do(self, input_dict: dict[str, list[Artifact]], output_dict: dict[str, list[Artifact]],
           exec_properties: dict[str, Any]) -> None:
        text = exec_properties.get(standard_component_specs.EVAL_CONFIG_KEY)
        if not text:
            super().Do(input_dict, output_dict, exec_properties)
            return
        eval_config = tfma.EvalConfig()
        proto_utils.json_to_proto(text, eval_config)
        tfma_config, features = split_config(eval_config)
        config_key = standard_component_specs.EVAL_CONFIG_KEY
        tfma_properties = {**exec_properties, config_key: proto_utils.proto_to_json(tfma_config)}
        super().Do(input_dict, output_dict, tfma_properties)
        if tfma_config == eval_config:
            return
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        examples = input_dict[standard_component_specs.EXAMPLES_KEY]
        split_names = json_utils.loads(
            exec_properties.get(standard_component_specs.EXAMPLE_SPLITS_KEY, "null")) or ["eval"]
        uris = [uri for split in split_names for uri in artifact_utils.get_split_uris(examples, split)]
        spec = _candidate_spec(eval_config)
        model_path = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
        result = slices.evaluate(uris, model_path, spec, features)
        output_uri = artifact_utils.get_single_uri(output_dict[standard_component_specs.EVALUATION_KEY])
        with fileio.open(os.path.join(output_uri, SLICE_METRICS_FILE), "w") as handle:
            json.dump({"splits": split_names, "slice_features": features, **result}, handle, indent=1)
        logging.info("Sliced metrics of %d examples by %s written to %s.", result["examples"],
                     ", ".join(features), output_uri)
