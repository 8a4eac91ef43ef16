"""The TFLite component: spec (typed inputs, output, parameters) and its class."""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from pipeline.components.tflite_converter import executor, spec
from pipeline.config import TFLiteConfig


class TFLiteModels(types.Artifact):
    """The converted variants, their measurements, and the edge bundle (if one was pushed)."""

    # Kubeflow v2 encodes a custom artifact type as the schema title "module.Class"
    # (one dot, a short top-level module) and imports that path inside the container to
    # rebuild the artifact; ``pipeline`` re-exports this class lazily for that reason.
    TYPE_NAME = "pipeline.TFLiteModels"


class TFLiteConverterSpec(types.ComponentSpec):
    """Inputs: the trained model, its blessing, the Transform graph and ExampleGen's examples."""

    PARAMETERS = {
        "variants": ExecutionParameter(type=str),
        "auc_budget": ExecutionParameter(type=float),
        "eval_rows": ExecutionParameter(type=int),
        "representative_rows": ExecutionParameter(type=int),
        "latency_rows": ExecutionParameter(type=int),
        "batch_size": ExecutionParameter(type=int),
        "int8_io": ExecutionParameter(type=int),
        "push_root": ExecutionParameter(type=str),
    }
    INPUTS = {
        spec.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        spec.BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
        spec.TRANSFORM_GRAPH_KEY: ChannelParameter(type=standard_artifacts.TransformGraph),
        spec.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {spec.OUTPUT_KEY: ChannelParameter(type=TFLiteModels)}


def exec_properties(config: TFLiteConfig, push_root: str) -> dict[str, object]:
    """The component's parameters from the pipeline configuration."""
    return {
        "variants": ",".join(config.variants),
        "auc_budget": float(config.auc_budget),
        "eval_rows": config.eval_rows,
        "representative_rows": config.representative_rows,
        "latency_rows": config.latency_rows,
        "batch_size": config.batch_size,
        "int8_io": int(config.int8_io),
        "push_root": push_root,
    }


class TFLiteConverter(base_component.BaseComponent):
    """Converts a blessed model to TFLite variants, measures them, and pushes the best edge bundle."""

    SPEC_CLASS = TFLiteConverterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 transform_graph: types.BaseChannel, examples: types.BaseChannel,
                 config: TFLiteConfig, push_root: str) -> None:
        super().__init__(spec=TFLiteConverterSpec(**{
            spec.MODEL_KEY: model, spec.BLESSING_KEY: model_blessing,
            spec.TRANSFORM_GRAPH_KEY: transform_graph, spec.EXAMPLES_KEY: examples,
            spec.OUTPUT_KEY: types.Channel(type=TFLiteModels),
        }, **exec_properties(config, push_root)))
