"""The CLI's up-to-date check: skip only when nothing a run depends on has changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.runners.local import up_to_date
from tests.support.sample import write_slice


@pytest.fixture()
def config(tmp_path: Path):
    data = write_slice(tmp_path / "data", 50)
    config = profiles.local(root=tmp_path / "out", data=data)
    Path(config.metadata.path).parent.mkdir(parents=True)
    Path(config.metadata.path).write_bytes(b"store")
    return config


def test_no_record_means_run(config):
    assert up_to_date.unchanged_run(config) is None


def test_unchanged_inputs_are_recognised(config):
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "summary text", pushed=None)
    record = up_to_date.unchanged_run(config)
    assert record and record["run_id"] == "run-1" and record["summary"] == "summary text"


def test_touched_data_file_means_run(config):
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=None)
    data_file = Path(config.data.path) / "data.csv"
    stat = data_file.stat()
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert up_to_date.unchanged_run(config) is None


def test_new_data_file_means_run(config):
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=None)
    (Path(config.data.path) / "more.csv").write_text("x\n")
    assert up_to_date.unchanged_run(config) is None


def test_changed_configuration_means_run(config):
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=None)
    assert up_to_date.unchanged_run(config.with_training(train_steps=7)) is None


def test_missing_store_or_pushed_model_means_run(config, tmp_path: Path):
    pushed = str(tmp_path / "serving" / "1")
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=pushed)
    assert up_to_date.unchanged_run(config) is None  # the pushed folder does not exist
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=None)
    Path(config.metadata.path).unlink()
    assert up_to_date.unchanged_run(config) is None


def test_failed_run_forgets_the_record(config):
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=None)
    up_to_date.forget(config)
    assert up_to_date.unchanged_run(config) is None
