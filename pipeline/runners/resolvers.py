"""Resolver strategies as the IR-based runners (local, Airflow) execute them.

TFX's ``LatestArtifactStrategy`` treats "no artifact yet" as an input-resolution
error: on a first run its resolver node is recorded FAILED in MLMD (and logged as an
error) although the run goes on. ``LatestBlessedModelStrategy`` and Kubeflow's
compiled resolver queries resolve to nothing instead. The pipeline factory keeps the
stock class (the Kubeflow v2 compiler accepts only the two stock strategies); the IR
runners swap in the subclass below, which differs only in returning an empty result.
Likewise they give the latest-blessed-model resolver the candidate model, so that the
baseline is never the candidate itself (see :class:`LatestBlessedOtherModelStrategy`).
"""

from __future__ import annotations

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.proto.orchestration import pipeline_pb2
from tfx.types import standard_artifacts


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


STOCK_LATEST = _qualified(LatestArtifactStrategy)
STOCK_BLESSED = _qualified(LatestBlessedModelStrategy)
CANDIDATE_KEY = "candidate"


class LatestArtifactOrNothingStrategy(LatestArtifactStrategy):
    """The newest artifact per channel, or an empty list when there is none yet."""

    def resolve_artifacts(self, store: mlmd.MetadataStore,
                          input_dict: dict[str, list[types.Artifact]]) -> dict[str, list[types.Artifact]]:
        return self._resolve(input_dict)


def tolerate_empty_latest(ir: pipeline_pb2.Pipeline) -> int:
    """Points every LatestArtifactStrategy op in the IR at the tolerant subclass; returns how many."""
    replaced = 0
    tolerant = _qualified(LatestArtifactOrNothingStrategy)
    for node in ir.nodes:
        for graph in node.pipeline_node.inputs.input_graphs.values():
            for graph_node in graph.nodes.values():
                if graph_node.HasField("op_node") and graph_node.op_node.op_type == STOCK_LATEST:
                    graph_node.op_node.op_type = tolerant
                    replaced += 1
    return replaced


class LatestBlessedOtherModelStrategy(LatestBlessedModelStrategy):
    """The newest blessed model that is not the candidate under evaluation.

    TFX's stock strategy returns the newest blessed model, which on a rerun with
    unchanged inputs is the candidate itself (the Trainer came from the cache, and
    the last run blessed it). The Evaluator then sees a new baseline, misses TFX's
    cache and re-evaluates; the TFLiteConverter and the Pusher follow. Leaving the
    candidate out gives the rerun exactly the first run's inputs, while a run with a
    new model still compares against the last blessed one.
    """

    def resolve_artifacts(self, store: mlmd.MetadataStore,
                          input_dict: dict[str, list[types.Artifact]]) -> dict[str, list[types.Artifact]]:
        inputs = dict(input_dict)
        candidate_ids = {artifact.id for artifact in inputs.pop(CANDIDATE_KEY, [])}
        for key, artifacts in inputs.items():
            if artifacts and isinstance(artifacts[0], standard_artifacts.Model):
                inputs[key] = [model for model in artifacts if model.id not in candidate_ids]
        return super().resolve_artifacts(store, inputs)


def _consumers(ir: pipeline_pb2.Pipeline, producer_id: str) -> list[pipeline_pb2.PipelineNode]:
    return [node.pipeline_node for node in ir.nodes
            if any(channel.producer_node_query.id == producer_id
                   for spec in node.pipeline_node.inputs.inputs.values() for channel in spec.channels)]


def _candidate_channel(consumer: pipeline_pb2.PipelineNode, resolver_id: str) -> pipeline_pb2.InputSpec:
    """The consumer's other Model input: the model it evaluates."""
    for spec in consumer.inputs.inputs.values():
        producers = {channel.producer_node_query.id for channel in spec.channels}
        if resolver_id not in producers and any(
                channel.artifact_query.type.name == "Model" for channel in spec.channels):
            return spec
    raise ValueError(f"{consumer.node_info.id} takes no candidate model beside {resolver_id}'s baseline")


def exclude_candidate_from_baseline(ir: pipeline_pb2.Pipeline) -> int:
    """Feeds each latest-blessed-model resolver the candidate model, to leave it out; returns how many.

    The candidate is the Model input of the node that consumes the resolver's output
    (the Evaluator's ``model``), resolved in the same pipeline run. The resolver must
    run after the candidate's producer (the factory declares it), else the candidate
    is not there yet and the rerun would compare the model with itself.
    """
    changed = 0
    for node in ir.nodes:
        resolver = node.pipeline_node
        for graph in resolver.inputs.input_graphs.values():
            ops = [graph_node.op_node for graph_node in graph.nodes.values()
                   if graph_node.HasField("op_node") and graph_node.op_node.op_type == STOCK_BLESSED]
            if not ops:
                continue
            resolver_id = resolver.node_info.id
            consumers = _consumers(ir, resolver_id)
            if len(consumers) != 1:
                raise ValueError(f"{resolver_id} should feed exactly one evaluating node")
            candidate = _candidate_channel(consumers[0], resolver_id)
            producers = {channel.producer_node_query.id for channel in candidate.channels}
            if not producers <= set(resolver.upstream_nodes):
                raise ValueError(f"{resolver_id} must run after {sorted(producers)}, the candidate's"
                                 " producer")
            hidden_key = f"_{resolver_id}_{CANDIDATE_KEY}"
            spec = resolver.inputs.inputs[hidden_key]
            spec.channels.extend(candidate.channels)
            spec.hidden = True
            for op in ops:
                dict_node = graph.nodes[op.args[0].node_id].dict_node
                input_node_id = f"input_{hidden_key}"
                graph.nodes[input_node_id].output_data_type = pipeline_pb2.InputGraph.DataType.ARTIFACT_LIST
                graph.nodes[input_node_id].input_node.input_key = hidden_key
                dict_node.node_ids[CANDIDATE_KEY] = input_node_id
                op.op_type = _qualified(LatestBlessedOtherModelStrategy)
                changed += 1
    return changed
