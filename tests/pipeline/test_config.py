"""Profiles and typed configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import CsvSource, EvaluationConfig, MySqlMetadata, SqliteMetadata
from pipeline.metadata import MetadataConfigError, connection_config, mysql_password


def test_local_profile_puts_every_output_under_the_root(tmp_path: Path):
    config = profiles.load_profile("local", root=tmp_path, data=tmp_path / "in")
    assert config.pipeline_root.startswith(str(tmp_path))
    assert config.serving_root.startswith(str(tmp_path))
    assert isinstance(config.metadata, SqliteMetadata) and config.metadata.path.startswith(str(tmp_path))
    assert config.data == CsvSource(str(tmp_path / "in"))
    assert config.enable_cache


def test_local_profile_defaults_to_an_untracked_outputs_folder_and_shipped_data():
    config = profiles.load_profile("local")
    assert Path(config.pipeline_root).parent.name == "outputs"
    assert Path(config.data.path, "data.csv").is_file()


def test_local_beam_runner_is_named_explicitly():
    assert "--runner=FnApiRunner" in profiles.load_profile("local").beam_args


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValueError, match="known profiles: .*local"):
        profiles.load_profile("moon")


def test_overrides_return_new_objects(tmp_path: Path):
    config = profiles.load_profile("local", root=tmp_path)
    faster = config.with_training(train_steps=10)
    assert faster.training.train_steps == 10
    assert config.training.train_steps != 10


def test_hyperparameters_are_json_serialisable_for_mlmd():
    hparams = profiles.load_profile("local").training.hyperparameters()
    assert json.loads(json.dumps(hparams)) == hparams


def test_sqlite_connection_config(tmp_path: Path):
    config = connection_config(SqliteMetadata(str(tmp_path / "m" / "store.sqlite")))
    assert config.sqlite.filename_uri.endswith("store.sqlite")
    assert (tmp_path / "m").is_dir()


def test_mysql_password_comes_from_the_environment_or_a_file(tmp_path: Path, monkeypatch):
    meta = MySqlMetadata(host="127.0.0.1", database="mlmd", user="tfx", password_env="TEST_MLMD_PW")
    monkeypatch.delenv("TEST_MLMD_PW", raising=False)
    with pytest.raises(MetadataConfigError, match="TEST_MLMD_PW"):
        mysql_password(meta)
    monkeypatch.setenv("TEST_MLMD_PW", "s3cret")
    assert connection_config(meta).mysql.password == "s3cret"
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    file_meta = MySqlMetadata(host="127.0.0.1", database="mlmd", user="tfx", password_file=str(secret))
    assert mysql_password(file_meta) == "from-file"


def test_drift_settings_are_validated():
    from pipeline.config import DriftCheck, DriftConfig

    with pytest.raises(ValueError, match="comparator"):
        DriftCheck("fare", 0.1, "kolmogorov")
    with pytest.raises(ValueError, match="threshold"):
        DriftCheck("fare", 0)
    with pytest.raises(ValueError, match="action"):
        DriftConfig(action="ignore")
    with pytest.raises(ValueError, match="max_examples_ratio"):
        DriftConfig(min_examples_ratio=2.0, max_examples_ratio=1.0)


def test_drift_defaults_check_every_model_input(tmp_path: Path):
    from models.features import RAW_INPUT_FEATURES

    drift = profiles.local(root=tmp_path).data_gate.drift
    assert drift.enabled and drift.action == "block"
    assert {check.feature for check in drift.checks} == set(RAW_INPUT_FEATURES)
    assert profiles.local(root=tmp_path).with_drift(action="warn").data_gate.drift.action == "warn"


def test_an_unreachable_mysql_store_is_one_clear_error(monkeypatch):
    """Nothing listens on the port (the e2e outage test uses a real server that is stopped)."""
    from pipeline.metadata import MetadataUnavailable, ensure_reachable
    from tests.support.mariadb import free_port

    monkeypatch.setenv("MLMD_MYSQL_PASSWORD", "x")
    port = free_port()
    meta = MySqlMetadata(host="127.0.0.1", port=port, database="mlmd", user="mlmd")
    with pytest.raises(MetadataUnavailable, match=rf"unreachable \(MySQL 127.0.0.1:{port}, database mlmd"):
        ensure_reachable(meta)


def test_a_sqlite_store_is_reachable(tmp_path: Path):
    from pipeline.metadata import ensure_reachable

    ensure_reachable(SqliteMetadata(str(tmp_path / "mlmd.sqlite")))
    assert (tmp_path / "mlmd.sqlite").is_file()


def test_an_unknown_slice_engine_is_refused_when_configured():
    with pytest.raises(ValueError, match="slice_engine must be one of numpy, tfma"):
        EvaluationConfig(slice_engine="spark")
