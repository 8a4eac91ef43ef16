"""Publication into a versioned serving folder: whole or invisible, once per model, race-safe.

Every test runs twice: on a local folder (staging + atomic rename) and on gs:// in the test GCS
emulator (no atomic rename: the completion marker written last is the commit).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path

import pytest
from tfx.dsl.io import fileio

from pipeline.components import publish
from pipeline.components.publish import MARKER_FILE, complete_versions, find_existing, publish_dir


@pytest.fixture(params=["local", "gs"])
def serving_root(request, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "serving")
    gcs = request.getfixturevalue("gcs")
    return gcs.create_bucket("serving") + f"/{uuid.uuid4().hex[:8]}/models"


def _model(folder: Path, content: str = "weights") -> str:
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "variables.index").write_text(content)
    (folder / "variables" / "variables.data-00000-of-00001").write_text(content * 100)
    (folder / "saved_model.pb").write_text("graph")
    return str(folder)


def _read(path: str) -> str:
    with fileio.open(path, "r") as handle:
        return handle.read()


def _numeric_folders(root: str) -> list[str]:
    return sorted(n.rstrip("/") for n in fileio.listdir(root) if n.rstrip("/").isdigit())


def test_publish_creates_a_complete_numeric_version_with_its_marker(serving_root: str, tmp_path: Path):
    publication = publish_dir(_model(tmp_path / "model"), serving_root, source_uri="uri-1",
                              last_file="saved_model.pb")
    assert publication.version.isdigit() and not publication.reused
    assert _read(os.path.join(publication.path, "saved_model.pb")) == "graph"
    assert _read(os.path.join(publication.path, "variables", "variables.index")) == "weights"
    assert json.loads(_read(os.path.join(publication.path, MARKER_FILE)))["source_uri"] == "uri-1"
    assert _numeric_folders(serving_root) == [publication.version]
    assert complete_versions(serving_root) == [publication.version]


def test_the_loader_file_then_the_marker_are_written_last(serving_root: str, tmp_path: Path, monkeypatch):
    written: list[str] = []
    copy, write = fileio.copy, publish.io_utils.write_string_file
    monkeypatch.setattr(fileio, "copy",
                        lambda src, dst, *a, **k: (written.append(dst), copy(src, dst, *a, **k)))
    monkeypatch.setattr(publish.io_utils, "write_string_file",
                        lambda path, text: (written.append(path), write(path, text)))
    publish_dir(_model(tmp_path / "model"), serving_root, source_uri="uri-1", last_file="saved_model.pb")
    assert [os.path.basename(p) for p in written[-2:]] == ["saved_model.pb", MARKER_FILE]
    assert len(written) == 4


def test_same_model_is_not_pushed_twice(serving_root: str, tmp_path: Path):
    source = _model(tmp_path / "model")
    first = publish_dir(source, serving_root, source_uri="uri-1")
    again = publish_dir(source, serving_root, source_uri="uri-1")
    assert again.reused and again.path == first.path
    assert complete_versions(serving_root) == [first.version]
    assert find_existing(serving_root, "uri-2") is None


def test_new_model_gets_a_strictly_newer_version(serving_root: str, tmp_path: Path):
    first = publish_dir(_model(tmp_path / "a"), serving_root, source_uri="a")
    second = publish_dir(_model(tmp_path / "b"), serving_root, source_uri="b")
    assert int(second.version) > int(first.version)
    assert complete_versions(serving_root) == [first.version, second.version]


def test_a_failure_mid_copy_leaves_no_new_version_and_the_previous_one_serving(
        serving_root: str, tmp_path: Path, monkeypatch):
    previous = publish_dir(_model(tmp_path / "old", "old"), serving_root, source_uri="old")
    copy, calls = fileio.copy, []

    def copy_then_fail(src: str, dst: str, *args, **kwargs) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("injected: storage went away mid-copy")
        copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(fileio, "copy", copy_then_fail)
    with pytest.raises(OSError, match="injected"):
        publish_dir(_model(tmp_path / "new", "new"), serving_root, source_uri="new",
                    last_file="saved_model.pb")
    monkeypatch.setattr(fileio, "copy", copy)

    assert len(calls) == 2  # the failure really happened mid-copy
    assert _numeric_folders(serving_root) == [previous.version]  # the partial copy was removed
    assert complete_versions(serving_root) == [previous.version]
    assert _read(os.path.join(previous.path, "variables", "variables.index")) == "old"
    assert not fileio.listdir(os.path.join(serving_root, publish.MODEL_CLAIMS))  # claim released
    retried = publish_dir(_model(tmp_path / "new2", "new"), serving_root, source_uri="new")
    assert complete_versions(serving_root) == [previous.version, retried.version]


def test_a_push_killed_before_its_marker_stays_invisible_and_is_passed_over(
        serving_root: str, tmp_path: Path, monkeypatch):
    previous = publish_dir(_model(tmp_path / "old"), serving_root, source_uri="old")

    def die(path: str, text: str) -> None:  # the process "dies" before the marker; no cleanup runs
        raise SystemExit("killed")

    monkeypatch.setattr(publish.io_utils, "write_string_file", die)
    monkeypatch.setattr(fileio, "rmtree", lambda *a, **k: None)
    with pytest.raises(SystemExit):
        publish_dir(_model(tmp_path / "new"), serving_root, source_uri="new")
    monkeypatch.undo()
    # What the dead pusher left: a numeric folder without marker on gs://, a hidden staging folder locally.
    [leftover] = [n.rstrip("/") for n in fileio.listdir(serving_root)
                  if n.rstrip("/") not in (previous.version, publish.MODEL_CLAIMS, publish.VERSION_CLAIMS)]
    assert fileio.exists(os.path.join(serving_root, leftover, "variables", "variables.index"))
    assert not fileio.exists(os.path.join(serving_root, leftover, MARKER_FILE))
    partial = leftover if leftover.isdigit() else leftover.split("-")[1]

    assert complete_versions(serving_root) == [previous.version]
    assert find_existing(serving_root, "new") is None
    fileio.rmtree(os.path.join(serving_root, publish.MODEL_CLAIMS))  # the dead pusher's claim
    again = publish_dir(_model(tmp_path / "new2"), serving_root, source_uri="new")
    assert int(again.version) > int(partial)
    assert complete_versions(serving_root) == [previous.version, again.version]


def _race(*pushes) -> list:
    barrier, results = threading.Barrier(len(pushes)), [None] * len(pushes)

    def run(index: int, push) -> None:
        barrier.wait()
        try:
            results[index] = push()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            error.add_note("".join(__import__("traceback").format_tb(error.__traceback__)))
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(pushes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def test_two_pushers_of_the_same_model_publish_it_once(serving_root: str, tmp_path: Path):
    sources = [_model(tmp_path / "a"), _model(tmp_path / "b")]
    results = _race(*(lambda s=s: publish_dir(s, serving_root, source_uri="same") for s in sources))
    assert all(isinstance(r, publish.Publication) for r in results), results
    assert sorted(r.reused for r in results) == [False, True]
    assert results[0].path == results[1].path
    assert _numeric_folders(serving_root) == complete_versions(serving_root) == [results[0].version]


def test_two_pushers_of_different_models_in_the_same_second_get_distinct_versions(
        serving_root: str, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(publish.time, "time", lambda: 1_900_000_000.0)  # both want the same number
    sources = [_model(tmp_path / "a", "a"), _model(tmp_path / "b", "b")]
    results = _race(*(lambda s=s, u=u: publish_dir(s, serving_root, source_uri=u)
                      for s, u in zip(sources, ["a", "b"], strict=True)))
    assert all(isinstance(r, publish.Publication) for r in results), results
    versions = sorted(r.version for r in results)
    assert versions == ["1900000000", "1900000001"]
    assert complete_versions(serving_root) == versions
    for result, content in zip(results, ["a", "b"], strict=True):
        assert _read(os.path.join(result.path, "variables", "variables.index")) == content


def test_directory_creation_is_an_atomic_create_if_absent(serving_root: str):
    fileio.makedirs(serving_root)
    claim = os.path.join(serving_root, "claim")
    assert publish._create_if_absent(claim) is True
    assert publish._create_if_absent(claim) is False
