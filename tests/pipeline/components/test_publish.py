"""Atomic, idempotent publication into a versioned serving folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.components.publish import MARKER_FILE, find_existing, publish_dir


def _model(folder: Path, content: str = "weights") -> Path:
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "variables.index").write_text(content)
    (folder / "saved_model.pb").write_text("graph")
    return folder


def test_publish_creates_a_complete_numeric_version(tmp_path: Path):
    source = _model(tmp_path / "model")
    publication = publish_dir(
        str(source), str(tmp_path / "serving"), source_uri="uri-1", last_file="saved_model.pb"
    )
    version = Path(publication.path)
    assert version.name.isdigit() and not publication.reused
    assert (version / "saved_model.pb").read_text() == "graph"
    assert json.loads((version / MARKER_FILE).read_text())["source_uri"] == "uri-1"
    assert [p.name for p in (tmp_path / "serving").iterdir()] == [version.name]


def test_same_model_is_not_pushed_twice(tmp_path: Path):
    source = _model(tmp_path / "model")
    first = publish_dir(str(source), str(tmp_path / "serving"), source_uri="uri-1")
    again = publish_dir(str(source), str(tmp_path / "serving"), source_uri="uri-1")
    assert again.reused and again.path == first.path
    assert len(list((tmp_path / "serving").iterdir())) == 1
    assert find_existing(str(tmp_path / "serving"), "uri-2") is None


def test_new_model_gets_a_strictly_newer_version(tmp_path: Path):
    first = publish_dir(str(_model(tmp_path / "a")), str(tmp_path / "serving"), source_uri="a")
    second = publish_dir(str(_model(tmp_path / "b")), str(tmp_path / "serving"), source_uri="b")
    assert int(second.version) > int(first.version)


def test_failed_copy_of_a_vanishing_source_leaves_no_partial_version(tmp_path: Path):
    """A source that breaks mid-copy (a dangling link) fails the push and leaves nothing behind."""
    source = _model(tmp_path / "model")
    (source / "variables" / "zz-broken").symlink_to(tmp_path / "missing")
    with pytest.raises(OSError):
        publish_dir(str(source), str(tmp_path / "serving"), source_uri="x", last_file="saved_model.pb")
    assert [p for p in (tmp_path / "serving").iterdir()] == []
