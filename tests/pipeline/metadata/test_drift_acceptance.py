"""accept-drift on a small hand-built MLMD store: what it records, what it refuses, what `runs` shows."""

from __future__ import annotations

import datetime

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from pipeline.lineage.api import Lineage
from pipeline.lineage.text import format_runs
from pipeline.metadata.drift_acceptance import AcceptanceError, accept, acceptances
from tests.support.mlmd_builder import PIPELINE, StoreBuilder

NOW = datetime.datetime(2024, 1, 8, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture
def blocked(tmp_path):
    """Run 'day7' passed the gate; run 'day8' was blocked by it (span 19730, fares up)."""
    builder = StoreBuilder(tmp_path / "mlmd.sqlite")
    for run_id, span, state in (("day7", 19729, pb.Execution.COMPLETE), ("day8", 19730, pb.Execution.FAILED)):
        stats_dir = tmp_path / run_id / "statistics"
        for split in ("train", "eval"):
            (stats_dir / f"Split-{split}").mkdir(parents=True)
            (stats_dir / f"Split-{split}" / "FeatureStats.pb").write_bytes(b"stats of " + run_id.encode())
        examples = builder.artifact("Examples", f"/x/{run_id}/examples", span=span)
        statistics = builder.artifact("ExampleStatistics", str(stats_dir))
        builder.execution(run_id, "CsvExampleGen", {}, {"examples": [examples]})
        builder.execution(run_id, "StatisticsGen", {"examples": [examples]}, {"statistics": [statistics]})
        builder.execution(run_id, "DataGate", {"statistics": [statistics]}, {}, state=state)
    return builder, tmp_path


def test_accepting_a_blocked_run_records_who_when_why_and_a_new_baseline(blocked):
    builder, root = blocked
    record = accept(builder.store, PIPELINE, str(root / "pipeline"), "day8", accepted_by="ana",
                    reason="price rise", now=NOW)
    assert (record.accepted_by, record.accepted_at, record.reason) == ("ana", "2024-01-08T09:30:00+00:00",
                                                                       "price rise")
    assert acceptances(builder.store)["day8"] == record
    [baseline] = builder.store.get_artifacts_by_type("Statistics")
    assert baseline.uri == record.baseline_uri
    assert (root / "pipeline" / "DriftAcceptance").exists()
    copied = sorted(p.relative_to(baseline.uri).as_posix() for p in
                    __import__("pathlib").Path(baseline.uri).rglob("*.pb"))
    assert copied == ["Split-eval/FeatureStats.pb", "Split-train/FeatureStats.pb"]
    # The baseline resolver queries by type within the pipeline context: it must be there.
    pipeline_context = builder.store.get_context_by_type_and_name("pipeline", PIPELINE)
    assert baseline.id in [a.id for a in builder.store.get_artifacts_by_context(pipeline_context.id)]


def test_a_run_the_gate_let_through_or_an_unknown_run_cannot_be_accepted(blocked):
    builder, root = blocked
    with pytest.raises(AcceptanceError, match="not blocked by the data gate"):
        accept(builder.store, PIPELINE, str(root), "day7", accepted_by="ana", reason="x")
    with pytest.raises(AcceptanceError, match="no pipeline run"):
        accept(builder.store, PIPELINE, str(root), "day99", accepted_by="ana", reason="x")
    with pytest.raises(AcceptanceError, match="say why"):
        accept(builder.store, PIPELINE, str(root), "day8", accepted_by="ana", reason=" ")


def test_a_run_is_accepted_once(blocked):
    builder, root = blocked
    accept(builder.store, PIPELINE, str(root), "day8", accepted_by="ana", reason="price rise", now=NOW)
    with pytest.raises(AcceptanceError, match="already accepted by ana"):
        accept(builder.store, PIPELINE, str(root), "day8", accepted_by="bo", reason="again")


def test_runs_show_the_span_the_blocked_run_and_the_acceptance(blocked):
    builder, root = blocked
    accept(builder.store, PIPELINE, str(root), "day8", accepted_by="ana", reason="price rise", now=NOW)
    runs = {run.run_id: run for run in Lineage(builder.store).runs()}
    assert (runs["day7"].span, runs["day7"].blocked, runs["day7"].drift_accepted) == (19729, False, None)
    assert runs["day8"].blocked and runs["day8"].drift_accepted.startswith("by ana at 2024-01-08")
    table = format_runs(list(runs.values()))
    assert "span 19730, BLOCKED by the data gate, drift accepted" in table
