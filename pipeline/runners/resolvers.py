"""Resolver strategies as the IR-based runners (local, Airflow) execute them.

TFX's ``LatestArtifactStrategy`` treats "no artifact yet" as an input-resolution
error: on a first run its resolver node is recorded FAILED in MLMD (and logged as an
error) although the run goes on. ``LatestBlessedModelStrategy`` and Kubeflow's
compiled resolver queries resolve to nothing instead. The pipeline factory keeps the
stock class (the Kubeflow v2 compiler accepts only the two stock strategies); the IR
runners swap in the subclass below, which differs only in returning an empty result.
Likewise they give each baseline resolver the candidate its consumer checks, so that the
baseline is never the candidate itself: the latest blessed model is not the model under
evaluation (:class:`LatestBlessedOtherModelStrategy`), the data baseline is not a copy of
the statistics under check (:class:`LatestBaselineOfOtherDataStrategy`). An unchanged
rerun then resolves the first run's inputs, and TFX's cache serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.proto.orchestration import pipeline_pb2
from tfx.types import standard_artifacts
from tfx.types.experimental import simple_artifacts

from pipeline.components.data_baseline import spec as baseline_spec


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


TOLERANT_LATEST = _qualified(LatestArtifactOrNothingStrategy)


def tolerate_empty_latest(ir: pipeline_pb2.Pipeline) -> int:
    """Points every LatestArtifactStrategy op in the IR at the tolerant subclass; returns how many."""
    replaced = 0
    for node in ir.nodes:
        for graph in node.pipeline_node.inputs.input_graphs.values():
            for graph_node in graph.nodes.values():
                if graph_node.HasField("op_node") and graph_node.op_node.op_type == STOCK_LATEST:
                    graph_node.op_node.op_type = TOLERANT_LATEST
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


class LatestBaselineOfOtherDataStrategy(LatestArtifactOrNothingStrategy):
    """The newest data baseline not recorded from the statistics under check (or nothing).

    A run that blesses its model records its data's statistics as the next runs' drift
    baseline. With the stock "latest" strategy, an unchanged rerun (StatisticsGen from
    the cache) is then handed a baseline copied from its own statistics: a new input,
    so the DataGate misses TFX's cache and compares the data with itself. Leaving out
    baselines recorded from the candidate statistics gives the rerun the first run's
    inputs, while new data (new statistics) or a newly blessed model's data (a new
    baseline) still reaches the gate as a change. A baseline accepted by hand
    (``accept-drift``) is never left out: comparing the blocked data with its accepted
    copy is the point of accepting it.
    """

    def resolve_artifacts(self, store: mlmd.MetadataStore,
                          input_dict: dict[str, list[types.Artifact]]) -> dict[str, list[types.Artifact]]:
        inputs = dict(input_dict)
        own_uris = {artifact.uri for artifact in inputs.pop(CANDIDATE_KEY, [])}
        for key, artifacts in inputs.items():
            inputs[key] = [baseline for baseline in artifacts if _accepted(baseline) or
                           baseline.get_string_custom_property(baseline_spec.STATISTICS_URI) not in own_uris]
        return super().resolve_artifacts(store, inputs)


def _accepted(baseline: types.Artifact) -> bool:
    return bool(baseline.get_string_custom_property(baseline_spec.ACCEPTED_RUN))


@dataclass(frozen=True)
class _Baseline:
    """A resolver that picks a baseline for its one consumer, and what the candidate is.

    ``op_types``: the strategies it replaces; ``baseline_type``: the type the resolver
    picks; ``candidate_type``: the type of the consumer's other input, the thing checked
    against the baseline, which the replacing ``strategy`` receives to leave it out.
    """

    op_types: frozenset[str]
    baseline_type: str
    candidate_type: str
    strategy: type


BASELINES = (
    _Baseline(frozenset({STOCK_BLESSED}), "Model", "Model", LatestBlessedOtherModelStrategy),
    # The DataBaseline type is TFX's Statistics (see pipeline/components/data_baseline).
    _Baseline(frozenset({STOCK_LATEST, TOLERANT_LATEST}), simple_artifacts.Statistics.TYPE_NAME,
              "ExampleStatistics", LatestBaselineOfOtherDataStrategy),
)


def _consumers(ir: pipeline_pb2.Pipeline, producer_id: str) -> list[pipeline_pb2.PipelineNode]:
    return [node.pipeline_node for node in ir.nodes
            if any(channel.producer_node_query.id == producer_id
                   for spec in node.pipeline_node.inputs.inputs.values() for channel in spec.channels)]


def _types(spec: pipeline_pb2.InputSpec) -> set[str]:
    return {channel.artifact_query.type.name for channel in spec.channels}


def _candidate_channel(consumer: pipeline_pb2.PipelineNode, resolver_id: str,
                       candidate_type: str) -> pipeline_pb2.InputSpec:
    """The consumer's input of the candidate's type that is not the resolver's baseline."""
    for spec in consumer.inputs.inputs.values():
        producers = {channel.producer_node_query.id for channel in spec.channels}
        if resolver_id not in producers and candidate_type in _types(spec):
            return spec
    raise ValueError(f"{consumer.node_info.id} takes no candidate {candidate_type} beside {resolver_id}'s "
                     "baseline")


def _candidate_key(resolver: pipeline_pb2.PipelineNode) -> str:
    return f"_{resolver.node_info.id}_{CANDIDATE_KEY}"


def _baseline_of(resolver: pipeline_pb2.PipelineNode, op_type: str) -> _Baseline | None:
    """Which of :data:`BASELINES` a resolver op is, from its strategy and the types it reads."""
    picked = set().union(*(_types(spec) for key, spec in resolver.inputs.inputs.items()
                           if key != _candidate_key(resolver)))
    return next((b for b in BASELINES if op_type in b.op_types and b.baseline_type in picked), None)


def exclude_candidate_from_baseline(ir: pipeline_pb2.Pipeline) -> int:
    """Feeds each baseline resolver (:data:`BASELINES`) its consumer's candidate, to leave it out.

    Returns how many resolver ops changed. The candidate is the other input of the
    node that consumes the resolver's output (the Evaluator's ``model``, the DataGate's
    ``statistics``), resolved in the same pipeline run. The resolver must run after the
    candidate's producer (the factory declares it), else the candidate is not there yet
    and an unchanged rerun would compare the candidate with itself.
    """
    changed = 0
    for node in ir.nodes:
        resolver = node.pipeline_node
        for graph in resolver.inputs.input_graphs.values():
            ops = [(graph_node.op_node, baseline) for graph_node in graph.nodes.values()
                   if graph_node.HasField("op_node")
                   and (baseline := _baseline_of(resolver, graph_node.op_node.op_type))]
            if not ops:
                continue
            resolver_id = resolver.node_info.id
            consumers = _consumers(ir, resolver_id)
            if len(consumers) != 1:
                raise ValueError(f"{resolver_id} should feed exactly one node that checks a candidate")
            for op, baseline in ops:
                candidate = _candidate_channel(consumers[0], resolver_id, baseline.candidate_type)
                producers = {channel.producer_node_query.id for channel in candidate.channels}
                if not producers <= set(resolver.upstream_nodes):
                    raise ValueError(f"{resolver_id} must run after {sorted(producers)}, the candidate's"
                                     " producer")
                hidden_key = _candidate_key(resolver)
                spec = resolver.inputs.inputs[hidden_key]
                spec.channels.extend(candidate.channels)
                spec.hidden = True
                dict_node = graph.nodes[op.args[0].node_id].dict_node
                input_node_id = f"input_{hidden_key}"
                graph.nodes[input_node_id].output_data_type = pipeline_pb2.InputGraph.DataType.ARTIFACT_LIST
                graph.nodes[input_node_id].input_node.input_key = hidden_key
                dict_node.node_ids[CANDIDATE_KEY] = input_node_id
                op.op_type = _qualified(baseline.strategy)
                changed += 1
    return changed
