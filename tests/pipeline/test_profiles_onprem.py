"""The onprem profile: roots, MySQL MLMD and Beam settings from the environment, no secret held."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import MySqlMetadata


def test_onprem_reads_roots_and_mysql_settings_from_the_environment(tmp_path):
    config = profiles.onprem(env={
        "EDGE_PIPELINE_ROOT": str(tmp_path / "nfs"), "EDGE_SERVING_ROOT": str(tmp_path / "serving"),
        "MLMD_MYSQL_HOST": "mysql.dc1", "MLMD_MYSQL_PORT": "3307", "MLMD_MYSQL_DATABASE": "ml",
        "MLMD_MYSQL_USER": "tfx", "MLMD_MYSQL_PASSWORD": "pw-4711",
        "MLMD_MYSQL_PASSWORD_FILE": "/run/secrets/mlmd", "EDGE_AIRFLOW_RETRIES": "5",
    })
    assert config.pipeline_root == str(tmp_path / "nfs" / "pipeline")
    assert config.serving_root == str(tmp_path / "serving")
    assert config.metadata == MySqlMetadata(host="mysql.dc1", port=3307, database="ml", user="tfx",
                                            password_file="/run/secrets/mlmd")
    assert "pw-4711" not in repr(config)
    assert config.airflow.retries == 5 and config.airflow.schedule == "@daily"


def test_onprem_without_a_root_says_which_variable_is_missing():
    with pytest.raises(profiles.ProfileSettingError, match="EDGE_PIPELINE_ROOT"):
        profiles.onprem(env={})


def test_onprem_root_argument_wins_and_schedule_can_be_manual_only(tmp_path):
    config = profiles.onprem(root=tmp_path, env={"EDGE_PIPELINE_ROOT": "/elsewhere",
                                                 "EDGE_AIRFLOW_SCHEDULE": "none"})
    assert Path(config.pipeline_root).parent == tmp_path.resolve()
    assert config.airflow.schedule is None


@pytest.mark.parametrize(("workers", "cpus", "mode", "count"), [
    (0, 4, "multi_processing", 4), (3, 4, "multi_processing", 3), (0, 1, "in_memory", 1),
])
def test_onprem_beam_uses_the_cores(monkeypatch, workers, cpus, mode, count):
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: cpus)
    args = profiles.onprem_beam_args(workers)
    assert f"--direct_running_mode={mode}" in args and f"--direct_num_workers={count}" in args
    assert "--runner=FnApiRunner" in args
    assert profiles.LOCAL_WORKER_DEPENDENCIES in args


def test_onprem_beam_in_memory_means_one_worker(monkeypatch):
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: 8)
    args = profiles.onprem_beam_args(0, "in_memory")
    assert "--direct_running_mode=in_memory" in args and "--direct_num_workers=1" in args
