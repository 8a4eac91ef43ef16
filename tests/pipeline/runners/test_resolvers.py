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
    # The one "latest" resolver picks the data baseline: the tolerant subclass that leaves out
    # the run's own statistics.
    assert "pipeline.runners.resolvers.LatestBaselineOfOtherDataStrategy" in op_types
    assert issubclass(resolvers.LatestBaselineOfOtherDataStrategy, resolvers.LatestArtifactOrNothingStrategy)
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


def _models_and_blessings(blessed_ids):
    from tfx.types import standard_artifacts

    models, blessings = [], []
    for model_id in (1, 2, 3):
        model = standard_artifacts.Model()
        model.id = model_id
        models.append(model)
        if model_id in blessed_ids:
            blessing = standard_artifacts.ModelBlessing()
            blessing.id = 10 + model_id
            blessing.set_int_custom_property("blessed", 1)
            blessing.set_int_custom_property("current_model_id", model_id)
            blessings.append(blessing)
    return models, blessings


def test_the_baseline_is_the_last_blessed_model_other_than_the_candidate():
    models, blessings = _models_and_blessings({1, 3})
    strategy = resolvers.LatestBlessedOtherModelStrategy()
    [candidate] = [m for m in models if m.id == 3]
    resolved = strategy.resolve_artifacts(
        _store(), {"model": models, "model_blessing": blessings, resolvers.CANDIDATE_KEY: [candidate]})
    assert [m.id for m in resolved["model"]] == [1]
    # Rerunning the first model alone: nothing else is blessed, so no baseline (as on its first run).
    resolved = strategy.resolve_artifacts(
        _store(), {"model": models[:1], "model_blessing": blessings[:1], resolvers.CANDIDATE_KEY: models[:1]})
    assert resolved["model"] == []


def test_compiled_ir_feeds_the_evaluators_candidate_to_the_baseline_resolver(tmp_path: Path):
    compiled = ir.compile_pipeline(create_pipeline(profiles.local(root=tmp_path)))
    [resolver] = [n.pipeline_node for n in compiled.nodes
                  if n.pipeline_node.node_info.id == "latest_blessed_model_resolver"]
    [evaluator] = [n.pipeline_node for n in compiled.nodes if n.pipeline_node.node_info.id == "Evaluator"]
    op_types = {graph_node.op_node.op_type for graph in resolver.inputs.input_graphs.values()
                for graph_node in graph.nodes.values() if graph_node.HasField("op_node")}
    assert op_types == {"pipeline.runners.resolvers.LatestBlessedOtherModelStrategy"}
    candidate = resolver.inputs.inputs["_latest_blessed_model_resolver_candidate"]
    assert candidate.hidden and list(candidate.channels) == list(evaluator.inputs.inputs["model"].channels)
    assert "Trainer" in resolver.upstream_nodes
    assert resolvers.exclude_candidate_from_baseline(compiled) == 0  # nothing left to replace


def _baselines_from(statistics_uris: dict[int, str]) -> list:
    baselines = []
    for artifact_id, uri in statistics_uris.items():
        baseline = simple_artifacts.Statistics()
        baseline.id = artifact_id
        baseline.set_string_custom_property("statistics_uri", uri)
        baselines.append(baseline)
    return baselines


def _statistics(uri: str):
    from tfx.types import standard_artifacts

    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = uri
    return statistics


def test_the_data_baseline_is_the_newest_not_copied_from_the_statistics_under_check():
    baselines = _baselines_from({1: "/stats/run1", 2: "/stats/run2"})
    strategy = resolvers.LatestBaselineOfOtherDataStrategy()
    resolved = strategy.resolve_artifacts(
        _store(), {"baseline": baselines, resolvers.CANDIDATE_KEY: [_statistics("/stats/run2")]})
    assert [b.id for b in resolved["baseline"]] == [1]
    # New data: the newest baseline, as the stock strategy picks it.
    resolved = strategy.resolve_artifacts(
        _store(), {"baseline": baselines, resolvers.CANDIDATE_KEY: [_statistics("/stats/run3")]})
    assert [b.id for b in resolved["baseline"]] == [2]
    # Rerunning the first run's data alone: no other baseline, so none (as on its first run).
    resolved = strategy.resolve_artifacts(
        _store(), {"baseline": baselines[:1], resolvers.CANDIDATE_KEY: [_statistics("/stats/run1")]})
    assert resolved == {"baseline": []}


def test_a_baseline_accepted_by_hand_is_kept_even_when_copied_from_the_statistics_under_check():
    """accept-drift makes the blocked data the baseline: its rerun must compare with that copy."""
    baselines = _baselines_from({1: "/stats/run1", 2: "/stats/blocked"})
    baselines[1].set_string_custom_property("accepted_run", "blocked-run-id")
    resolved = resolvers.LatestBaselineOfOtherDataStrategy().resolve_artifacts(
        _store(), {"baseline": baselines, resolvers.CANDIDATE_KEY: [_statistics("/stats/blocked")]})
    assert [b.id for b in resolved["baseline"]] == [2]


def test_compiled_ir_feeds_the_data_gates_statistics_to_the_data_baseline_resolver(tmp_path: Path):
    compiled = ir.compile_pipeline(create_pipeline(profiles.local(root=tmp_path)))
    nodes = {n.pipeline_node.node_info.id: n.pipeline_node for n in compiled.nodes}
    resolver, gate = nodes["latest_data_baseline_resolver"], nodes["DataGate"]
    candidate = resolver.inputs.inputs["_latest_data_baseline_resolver_candidate"]
    assert candidate.hidden and list(candidate.channels) == list(gate.inputs.inputs["statistics"].channels)
    assert "StatisticsGen" in resolver.upstream_nodes
    [op] = [graph_node.op_node for graph in resolver.inputs.input_graphs.values()
            for graph_node in graph.nodes.values() if graph_node.HasField("op_node")]
    assert op.op_type == "pipeline.runners.resolvers.LatestBaselineOfOtherDataStrategy"
