"""The recorder copies a run's statistics into a DataBaseline, through TFX's own executor."""

from __future__ import annotations

import json
from pathlib import Path

from tfx.types import artifact_utils, standard_artifacts

from pipeline.components.data_baseline.component import DataBaseline, DataBaselineRecorder
from pipeline.components.data_gate import artifact_io


def test_statistics_are_copied_split_by_split(tmp_path: Path):
    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = str(tmp_path / "statistics")
    statistics.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split in ("train", "eval"):
        folder = tmp_path / "statistics" / f"Split-{split}"
        folder.mkdir(parents=True)
        (folder / "FeatureStats.pb").write_bytes(f"stats of {split}".encode())
    baseline = DataBaseline()
    baseline.uri = str(tmp_path / "baseline")

    executor = DataBaselineRecorder.EXECUTOR_SPEC.executor_class()
    executor.Do({"statistics": [statistics]}, {"baseline": [baseline]}, {})

    for split in ("train", "eval"):
        copied = tmp_path / "baseline" / f"Split-{split}" / "FeatureStats.pb"
        assert copied.read_bytes() == f"stats of {split}".encode()
    assert json.loads(baseline.get_string_custom_property("split_names")) == ["train", "eval"]
    assert artifact_io.split_names(baseline) == ["train", "eval"]
    assert baseline.get_string_custom_property("statistics_uri") == statistics.uri
