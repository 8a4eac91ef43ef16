"""The onprem profile's Beam engine: embedded by default, Flink as configuration, one-line errors."""

from __future__ import annotations

import pytest

from pipeline import profiles
from pipeline.config import SHARED_ENVIRONMENT_WORKERS, EmbeddedBeam, FlinkBeam


@pytest.fixture
def jar(tmp_path):
    path = tmp_path / "beam-runners-flink-1.20-job-server-2.72.0.jar"
    path.write_bytes(b"PK")
    return path


def test_embedded_is_the_default_engine_and_needs_no_java(monkeypatch, tmp_path):
    monkeypatch.setattr(profiles.os, "cpu_count", lambda: 2)
    config = profiles.onprem(root=tmp_path, env={})
    assert config.beam_args == EmbeddedBeam().beam_args(2)
    assert "--runner=FnApiRunner" in config.beam_args and "--direct_num_workers=2" in config.beam_args


def test_flink_engine_sends_beam_to_the_flink_master_with_an_external_worker_pool(tmp_path, jar):
    config = profiles.onprem(root=tmp_path, env={
        "EDGE_BEAM_ENGINE": "flink", "EDGE_FLINK_MASTER": "flink-jm.dc1:8081", "EDGE_FLINK_PARALLELISM": "4",
        "EDGE_FLINK_JOB_SERVER_JAR": str(jar), "EDGE_FLINK_WORKER_POOL": "localhost:50000"})
    assert config.beam_args == (
        "--runner=FlinkRunner", "--flink_master=flink-jm.dc1:8081", f"--flink_job_server_jar={jar.resolve()}",
        "--parallelism=4", "--environment_type=EXTERNAL", "--environment_config=localhost:50000",
        f"--sdk_container_image={SHARED_ENVIRONMENT_WORKERS}")


def test_flink_workers_in_docker_run_the_pipeline_image():
    engine = FlinkBeam(master="127.0.0.1:8081", job_server_jar="/jars/js.jar", environment="DOCKER",
                       environment_config=None, worker_image="registry.dc1/taxi-edge:1.4")
    assert "--sdk_container_image=registry.dc1/taxi-edge:1.4" in engine.beam_args()
    assert not any(arg.startswith("--environment_config") for arg in engine.beam_args())


def test_only_the_four_beam_heavy_components_get_the_flink_arguments(monkeypatch, tmp_path, jar):
    from tfx.dsl.components.base import base_beam_component

    from pipeline.pipeline import create_pipeline

    monkeypatch.setenv("MLMD_MYSQL_PASSWORD", "unused-here")
    config = profiles.onprem(root=tmp_path, env={"EDGE_BEAM_ENGINE": "flink",
                                                 "EDGE_FLINK_JOB_SERVER_JAR": str(jar)})
    pipeline = create_pipeline(config)
    on_flink = {component.id for component in pipeline.components
                if isinstance(component, base_beam_component.BaseBeamComponent)
                and "--runner=FlinkRunner" in component.executor_spec.beam_pipeline_args}
    assert on_flink == {"CsvExampleGen", "StatisticsGen", "Transform", "Evaluator"}


@pytest.mark.parametrize(("env", "message"), [
    ({"EDGE_BEAM_ENGINE": "spark"}, "EDGE_BEAM_ENGINE must be one of embedded, flink"),
    ({"EDGE_BEAM_ENGINE": "flink", "EDGE_FLINK_JOB_SERVER_JAR": "/nowhere/js.jar"},
     "job server jar is not at /nowhere/js.jar: run `make flink-job-server`"),
    ({"EDGE_BEAM_ENGINE": "flink", "EDGE_FLINK_PARALLELISM": "two"}, "PARALLELISM must be a whole"),
    ({"EDGE_BEAM_ENGINE": "flink", "EDGE_FLINK_PARALLELISM": "0"}, "parallelism must be >= 1"),
    ({"EDGE_BEAM_ENGINE": "flink", "EDGE_FLINK_MASTER": "flink-jm"}, "must be host:port"),
    ({"EDGE_BEAM_ENGINE": "flink", "EDGE_FLINK_WORKER_ENVIRONMENT": "docker"}, "needs a worker_image"),
    ({"EDGE_BEAM_MODE": "threads"}, "embedded Beam mode must be one of"),
])
def test_bad_engine_settings_give_one_clear_error(tmp_path, jar, env, message):
    env = {"EDGE_FLINK_JOB_SERVER_JAR": str(jar), **env}
    with pytest.raises(profiles.ProfileSettingError, match=message.replace("(", r"\(")):
        profiles.onprem(root=tmp_path, env=env)
