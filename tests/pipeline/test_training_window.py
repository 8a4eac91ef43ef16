"""The training window: the last N spans ending at the run's span, latest version of each."""

from __future__ import annotations

from tfx.types import standard_artifacts

from pipeline.training_window import window


def _examples(artifact_id: int, span: int, version: int = 0, created: int = 0):
    artifact = standard_artifacts.Examples()
    artifact.id = artifact_id
    artifact.set_int_custom_property("span", span)
    artifact.set_int_custom_property("version", version)
    artifact.mlmd_artifact.create_time_since_epoch = created or artifact_id
    return artifact


def test_the_window_ends_at_the_run_span_not_at_the_newest_in_mlmd():
    candidates = [_examples(i, span) for i, span in enumerate([10, 11, 12, 13, 14], start=1)]
    chosen = window(candidates, current_span=12, num_spans=2)
    assert [a.id for a in chosen] == [3, 2]  # spans 12, 11; 13 and 14 are later data


def test_a_reingested_span_counts_once_with_its_newest_version():
    candidates = [_examples(1, 10), _examples(2, 11), _examples(3, 11, created=99),
                  _examples(4, 11, version=1)]
    assert [a.id for a in window(candidates, 11, 7)] == [4, 1]
    same_version = [_examples(1, 10), _examples(2, 11), _examples(3, 11)]
    assert [a.id for a in window(same_version, 11, 7)] == [3, 1]  # the later ingestion


def test_a_window_longer_than_the_history_takes_what_there_is():
    assert [a.id for a in window([_examples(1, 5)], 5, 7)] == [1]
