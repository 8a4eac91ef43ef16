"""Resolver strategies as the IR-based runners (local, Airflow) execute them.

TFX's ``LatestArtifactStrategy`` treats "no artifact yet" as an input-resolution
error: on a first run its resolver node is recorded FAILED in MLMD (and logged as an
error) although the run goes on. ``LatestBlessedModelStrategy`` and Kubeflow's
compiled resolver queries resolve to nothing instead. The pipeline factory keeps the
stock class (the Kubeflow v2 compiler accepts only the two stock strategies); the IR
runners swap in the subclass below, which differs only in returning an empty result.
"""

from __future__ import annotations

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.proto.orchestration import pipeline_pb2

STOCK_LATEST = f"{LatestArtifactStrategy.__module__}.{LatestArtifactStrategy.__qualname__}"


class LatestArtifactOrNothingStrategy(LatestArtifactStrategy):
    """The newest artifact per channel, or an empty list when there is none yet."""

    def resolve_artifacts(self, store: mlmd.MetadataStore,
                          input_dict: dict[str, list[types.Artifact]]) -> dict[str, list[types.Artifact]]:
        return self._resolve(input_dict)


def tolerate_empty_latest(ir: pipeline_pb2.Pipeline) -> int:
    """Points every LatestArtifactStrategy op in the IR at the tolerant subclass; returns how many."""
    replaced = 0
    tolerant = f"{LatestArtifactOrNothingStrategy.__module__}.{LatestArtifactOrNothingStrategy.__qualname__}"
    for node in ir.nodes:
        for graph in node.pipeline_node.inputs.input_graphs.values():
            for graph_node in graph.nodes.values():
                if graph_node.HasField("op_node") and graph_node.op_node.op_type == STOCK_LATEST:
                    graph_node.op_node.op_type = tolerant
                    replaced += 1
    return replaced
