"""The local profile runs Beam in process at every size unless EDGE_BEAM_MODE asks for workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import DEFAULT_DATA
from pipeline.pipeline import create_components


def _large_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "large"
    folder.mkdir()
    with (folder / "data.csv").open("wb") as handle:  # sparse: the size is what counts
        handle.truncate(profiles.MULTI_PROCESS_MIN_BYTES)
    return folder


def test_the_shipped_sample_runs_beam_in_process(tmp_path: Path) -> None:
    config = profiles.local(root=tmp_path, data=DEFAULT_DATA)
    assert config.component_beam_args == {}
    assert "--direct_running_mode=in_memory" in config.beam_args


def test_large_data_also_runs_beam_in_process_by_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: 2)
    assert profiles.local(root=tmp_path, data=_large_folder(tmp_path)).component_beam_args == {}


def test_auto_gives_large_data_a_worker_per_core_in_the_heavy_components(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: 2)
    config = profiles.local(root=tmp_path, data=_large_folder(tmp_path), env={"EDGE_BEAM_MODE": "auto"})
    assert set(config.component_beam_args) == set(profiles.HEAVY_BEAM_COMPONENTS)
    components = {c.id: c for c in create_components(config)}
    args = components["Evaluator"].executor_spec.beam_pipeline_args
    assert "--direct_running_mode=multi_processing" in args and "--direct_num_workers=2" in args
    assert components["Trainer"].id == "Trainer"
    assert "--direct_running_mode=multi_processing" not in getattr(
        components["CsvExampleGen"].executor_spec, "beam_pipeline_args", [])


def test_one_core_keeps_beam_in_process(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: 1)
    config = profiles.local(root=tmp_path, data=_large_folder(tmp_path), env={"EDGE_BEAM_MODE": "auto"})
    assert config.component_beam_args == {}


def test_edge_beam_mode_overrides_the_size_rule_either_way(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: 2)
    small = profiles.local(root=tmp_path, data=DEFAULT_DATA, env={"EDGE_BEAM_MODE": "multi_processing"})
    assert set(small.component_beam_args) == set(profiles.HEAVY_BEAM_COMPONENTS)
    large = profiles.local(root=tmp_path, data=_large_folder(tmp_path), env={"EDGE_BEAM_MODE": "in_memory"})
    assert large.component_beam_args == {}


def test_an_unknown_edge_beam_mode_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(profiles.ProfileSettingError, match="auto, in_memory, multi_processing"):
        profiles.local(root=tmp_path, env={"EDGE_BEAM_MODE": "threads"})
