"""The IR runners resolve "latest artifact" to nothing, not to an error, before any exists."""

from __future__ import annotations

from pathlib import Path

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.types.experimental import simple_artifacts

from pipeline import profiles
from pipeline.pipeline import create_pipeline
from pipeline.runners import ir, resolvers


def test_compiled_ir_uses_the_tolerant_strategy_only(tmp_path: Path):
    compiled = ir.compile_pipeline(create_pipeline(profiles.local(root=tmp_path)))
    op_types = [graph_node.op_node.op_type
                for node in compiled.nodes for graph in node.pipeline_node.inputs.input_graphs.values()
                for graph_node in graph.nodes.values() if graph_node.HasField("op_node")]
    assert resolvers.STOCK_LATEST not in op_types
    assert "pipeline.runners.resolvers.LatestArtifactOrNothingStrategy" in op_types
    assert resolvers.tolerate_empty_latest(compiled) == 0  # nothing left to replace


def _store() -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.fake_database.SetInParent()
    return metadata_store.MetadataStore(config)


def test_empty_channel_resolves_to_an_empty_list_where_tfx_returns_none():
    from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy

    assert LatestArtifactStrategy().resolve_artifacts(_store(), {"baseline": []}) is None
    assert resolvers.LatestArtifactOrNothingStrategy().resolve_artifacts(_store(), {"baseline": []}) == {
        "baseline": []}


def test_the_newest_artifact_still_wins():
    artifacts = []
    for artifact_id in (3, 9, 5):
        artifact = simple_artifacts.Statistics()
        artifact.id = artifact_id
        artifacts.append(artifact)
    strategy = resolvers.LatestArtifactOrNothingStrategy()
    resolved = strategy.resolve_artifacts(_store(), {"baseline": artifacts})
    assert [a.id for a in resolved["baseline"]] == [9]
