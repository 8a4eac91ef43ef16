"""The CLI's up-to-date check: skip only when nothing a run depends on has changed."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import REPO_ROOT, BigQuerySource
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


def _record_now(config) -> None:
    up_to_date.save_record(config, up_to_date.fingerprint(config), "run-1", "s", pushed=None)


def test_data_rewritten_with_the_same_size_and_mtime_means_run(config):
    _record_now(config)
    data_file = Path(config.data.path) / "data.csv"
    stat = data_file.stat()
    content = data_file.read_bytes()
    data_file.write_bytes(content.replace(b"1", b"2", 1))  # same size
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data_file.stat().st_size == stat.st_size and data_file.stat().st_mtime_ns == stat.st_mtime_ns
    assert up_to_date.unchanged_run(config) is None


def test_changed_schema_means_run(config, tmp_path: Path):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text(Path(config.schema_path).read_text())
    config = dataclasses.replace(config, schema_path=str(schema))
    _record_now(config)
    schema.write_text(schema.read_text() + "\n# edited\n")
    assert up_to_date.unchanged_run(config) is None


def test_any_file_copied_from_the_sources_counts_not_only_python(config, tmp_path: Path, monkeypatch):
    project = tmp_path / "project"
    requirements = project / "pipeline" / "components" / "tflite_converter" / "edge_requirements.txt"
    requirements.parent.mkdir(parents=True)
    requirements.write_text("numpy==1.26.4\n")
    (project / "models").mkdir()
    monkeypatch.setattr(up_to_date, "REPO_ROOT", project)
    _record_now(config)
    assert up_to_date.unchanged_run(config) is not None
    requirements.write_text("numpy==2.0.0\n")
    assert up_to_date.unchanged_run(config) is None


def test_changed_lock_file_means_run(config, tmp_path: Path, monkeypatch):
    lock = tmp_path / "uv.lock"
    lock.write_text(up_to_date.LOCK_FILE.read_text())
    monkeypatch.setattr(up_to_date, "LOCK_FILE", lock)
    _record_now(config)
    assert up_to_date.unchanged_run(config) is not None
    lock.write_text(lock.read_text() + "\n# relocked\n")
    assert up_to_date.unchanged_run(config) is None


def _lock_pinning(tmp_path: Path, name: str, version: str) -> Path:
    lock = tmp_path / "uv.lock"
    lock.write_text(f'version = 1\n\n[[package]]\nname = "{name}"\nversion = "{version}"\n\n'
                    '[[package]]\nname = "taxi-edge"\nsource = { editable = "." }\n')
    return lock


def test_installed_versions_are_compared_with_the_lock(tmp_path: Path):
    installed = importlib.metadata.version("PyYAML")
    assert up_to_date.environment_mismatches(_lock_pinning(tmp_path, "pyyaml", installed)) == []
    [mismatch] = up_to_date.environment_mismatches(_lock_pinning(tmp_path, "pyyaml", "0.0.1"))
    assert mismatch == f"pyyaml {installed} != 0.0.1"


def test_vendored_copies_on_sys_path_are_not_the_installed_versions(tmp_path: Path, monkeypatch):
    """As setuptools' _vendor folder, which it appends to sys.path once TensorFlow is imported."""
    installed = importlib.metadata.version("PyYAML")
    vendor = tmp_path / "_vendor"
    (vendor / "PyYAML-0.0.1.dist-info").mkdir(parents=True)
    (vendor / "PyYAML-0.0.1.dist-info" / "METADATA").write_text("Name: PyYAML\nVersion: 0.0.1\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(vendor)])  # appended, as setuptools does
    seen = {d.version for d in importlib.metadata.distributions() if d.metadata["Name"] == "PyYAML"}
    assert seen == {installed, "0.0.1"}  # what a sys.path-wide lookup now sees
    assert up_to_date.environment_mismatches(_lock_pinning(tmp_path, "pyyaml", installed)) == []


def _dist_info(site: Path, name: str, version: str) -> Path:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Name: {name}\nVersion: {version}\n")
    return folder


def test_installed_distributions_are_read_again_only_after_an_install(tmp_path: Path, monkeypatch):
    site = tmp_path / "site-packages"
    first = _dist_info(site, "demo-pkg", "1.0")
    monkeypatch.setattr(up_to_date.sysconfig, "get_path", lambda name: str(site))
    reads = []
    real = importlib.metadata.distributions
    monkeypatch.setattr(up_to_date.importlib.metadata, "distributions",
                        lambda **kwargs: reads.append(kwargs) or real(**kwargs))
    assert up_to_date._installed() == up_to_date._installed() == {"demo-pkg": "1.0"}
    assert len(reads) == 1
    time.sleep(0.05)  # past the file system's timestamp granularity
    shutil.rmtree(first)  # an upgrade, as pip and uv do it: the old dist-info goes, a new one comes
    _dist_info(site, "demo-pkg", "2.0")
    assert up_to_date._installed() == {"demo-pkg": "2.0"}
    assert len(reads) == 2


def test_environment_not_matching_the_lock_is_never_up_to_date(config, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(up_to_date, "LOCK_FILE", _lock_pinning(tmp_path, "pyyaml", "0.0.1"))
    _record_now(config)  # the record was taken in this very environment
    assert up_to_date.unchanged_run(config) is None


def test_the_real_environment_matches_the_real_lock():
    assert up_to_date.environment_mismatches() == []


def test_bigquery_source_is_never_up_to_date(config):
    config = dataclasses.replace(config, data=BigQuerySource(query="SELECT * FROM taxi"))
    _record_now(config)
    assert up_to_date.unchanged_run(config) is None


def test_the_check_imports_no_tensorflow():
    code = ("import sys; from pipeline import profiles; from pipeline.runners.local import guards; "
            "c = profiles.local(); guards.fingerprint(c); guards.unchanged_run(c); "
            "print(sorted(m for m in ('tensorflow', 'tfx', 'apache_beam') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.stdout.strip() == "[]", result.stderr
