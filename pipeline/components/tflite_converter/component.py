"""The TFLite component: spec (typed inputs, output, parameters) and its class."""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from pipeline.components.tflite_converter import executor, spec
from pipeline.config import EvaluationConfig, TFLiteConfig


class TFLiteModels(types.Artifact):
    """The converted variants, their measurements, and the edge bundle (if one was pushed)."""

    # Kubeflow v2 encodes a custom artifact type as the schema title "module.Class"
    # (one dot, a short top-level module) and imports that path inside the container to
    # rebuild the artifact; ``pipeline`` re-exports this class lazily for that reason.
    TYPE_NAME = spec.ARTIFACT_TYPE


class TFLiteConverterSpec(types.ComponentSpec):
    """Inputs: the trained model, its blessing, the Transform graph and ExampleGen's examples."""

    PARAMETERS = {
        "variants": ExecutionParameter(type=str),
        "auc_budget": ExecutionParameter(type=float),
        "slice_auc_budget": ExecutionParameter(type=float),
        "min_slice_examples": ExecutionParameter(type=int),
        "min_slice_class_examples": ExecutionParameter(type=int),
        "min_agreement": ExecutionParameter(type=float),
        "slice_features": ExecutionParameter(type=str),
        "eval_rows": ExecutionParameter(type=int),
        "representative_rows": ExecutionParameter(type=int),
        "latency_rows": ExecutionParameter(type=int),
        "batch_size": ExecutionParameter(type=int),
        "int8_io": ExecutionParameter(type=int),
        "compress_model": ExecutionParameter(type=int),
        "push_root": ExecutionParameter(type=str),
        # TFMOT fine-tuning hyperparameters (recorded in MLMD with the execution).
        "techniques": ExecutionParameter(type=str),
        "technique_conversions": ExecutionParameter(type=str),
        "finetune_rows": ExecutionParameter(type=int),
        "finetune_steps": ExecutionParameter(type=int),
        "finetune_batch_size": ExecutionParameter(type=int),
        "finetune_learning_rate": ExecutionParameter(type=float),
        "pruning_sparsity": ExecutionParameter(type=float),
        "clusters": ExecutionParameter(type=int),
        "distillation_temperature": ExecutionParameter(type=float),
        "distillation_label_weight": ExecutionParameter(type=float),
        "distillation_steps": ExecutionParameter(type=int),
        "student_hidden_units": ExecutionParameter(type=str),
        "student_embedding_dim": ExecutionParameter(type=int),
    }
    INPUTS = {
        spec.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        spec.BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
        spec.TRANSFORM_GRAPH_KEY: ChannelParameter(type=standard_artifacts.TransformGraph),
        spec.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {spec.OUTPUT_KEY: ChannelParameter(type=TFLiteModels)}


def exec_properties(config: TFLiteConfig, push_root: str,
                    slice_features: tuple[str, ...] = EvaluationConfig().slice_features) -> dict[str, object]:
    """The component's parameters from the pipeline configuration.

    ``slice_features``: the Evaluator's slices, used unless ``config.slice_features`` is set.
    """
    return {
        "variants": ",".join(config.variants),
        "auc_budget": float(config.auc_budget),
        "slice_auc_budget": float(config.slice_auc_budget),
        "min_slice_examples": config.min_slice_examples,
        "min_slice_class_examples": config.min_slice_class_examples,
        "min_agreement": float(config.min_agreement),
        "slice_features": ",".join(config.slice_features if config.slice_features is not None
                                   else slice_features),
        "eval_rows": config.eval_rows,
        "representative_rows": config.representative_rows,
        "latency_rows": config.latency_rows,
        "batch_size": config.batch_size,
        "int8_io": int(config.int8_io),
        "compress_model": int(config.compress_model),
        "push_root": push_root,
        "techniques": ",".join(config.techniques),
        "technique_conversions": ",".join(config.technique_conversions),
        "finetune_rows": config.finetune_rows,
        "finetune_steps": config.finetune_steps,
        "finetune_batch_size": config.finetune_batch_size,
        "finetune_learning_rate": float(config.finetune_learning_rate),
        "pruning_sparsity": float(config.pruning_sparsity),
        "clusters": config.clusters,
        "distillation_temperature": float(config.distillation_temperature),
        "distillation_label_weight": float(config.distillation_label_weight),
        "distillation_steps": config.distillation_steps,
        "student_hidden_units": ",".join(str(u) for u in config.student_hidden_units),
        "student_embedding_dim": config.student_embedding_dim,
    }


class TFLiteConverter(base_component.BaseComponent):
    """Converts a blessed model to TFLite variants, measures them, and pushes the best edge bundle."""

    SPEC_CLASS = TFLiteConverterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 transform_graph: types.BaseChannel, examples: types.BaseChannel,
                 config: TFLiteConfig, push_root: str,
                 slice_features: tuple[str, ...] = EvaluationConfig().slice_features) -> None:
        super().__init__(spec=TFLiteConverterSpec(**{
            spec.MODEL_KEY: model, spec.BLESSING_KEY: model_blessing,
            spec.TRANSFORM_GRAPH_KEY: transform_graph, spec.EXAMPLES_KEY: examples,
            spec.OUTPUT_KEY: types.Channel(type=TFLiteModels),
        }, **exec_properties(config, push_root, slice_features)))
