"""Ahead-of-time compilation: manifest mirrors the IR, no secret is written, launch restores it."""

from __future__ import annotations

import json

import pytest
from tfx.orchestration.local import runner_utils

from pipeline import profiles
from pipeline.runners import airflow as airflow_runner
from pipeline.runners import ir

SECRET = "s3cret-never-on-disk"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compiled")
    config = profiles.onprem(env={"EDGE_PIPELINE_ROOT": str(folder / "nfs"), "MLMD_MYSQL_HOST": "db.internal",
                                  "EDGE_AIRFLOW_SCHEDULE": "0 4 * * *"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLMD_MYSQL_PASSWORD", SECRET)
        return airflow_runner.compile_to(config, folder / "out" / "taxi-edge.json",
                                         python="/opt/venv/bin/python")


def test_manifest_lists_the_compiled_nodes_and_their_upstreams(manifest):
    data = json.loads(manifest.path.read_text())
    assert data["ir"] == "taxi-edge.pb" and manifest.ir_path.is_file()
    assert data["python"] == "/opt/venv/bin/python"
    assert data["airflow"]["schedule"] == "0 4 * * *"
    nodes = {node["id"]: node["upstream"] for node in data["nodes"]}
    assert nodes["Trainer"] == ["ImportSchemaGen", "Transform"]
    assert nodes["Pusher"] == ["Evaluator", "Trainer"]
    assert nodes["Transform"] == ["CsvExampleGen", "DataGate", "ImportSchemaGen"]
    assert nodes["DataBaselineRecorder"] == ["Evaluator", "StatisticsGen"]
    # the nine standard nodes, the data gate, the TFLite converter, the drift baseline's resolver and recorder
    assert len(nodes) == 13


def test_no_secret_is_written_to_disk(manifest):
    assert SECRET.encode() not in manifest.ir_path.read_bytes()
    assert SECRET not in manifest.path.read_text()
    assert manifest.data["metadata"]["password_env"] == "MLMD_MYSQL_PASSWORD"


def test_loading_fills_the_password_from_the_environment(manifest, monkeypatch):
    monkeypatch.setenv("MLMD_MYSQL_PASSWORD", "from-the-worker")
    loaded = airflow_runner.load_ir(airflow_runner.read_manifest(manifest.path))
    mysql = runner_utils.extract_local_deployment_config(loaded).metadata_connection_config
    assert mysql.database_connection_config.mysql.password == "from-the-worker"
    assert mysql.database_connection_config.mysql.host == "db.internal"
    assert ir.node_ids(loaded) == [node["id"] for node in manifest.data["nodes"]]


def test_an_ir_that_does_not_match_its_manifest_is_refused(manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("MLMD_MYSQL_PASSWORD", "x")
    copy = tmp_path / "taxi-edge.json"
    copy.write_text(manifest.path.read_text())
    (tmp_path / "taxi-edge.pb").write_bytes(manifest.ir_path.read_bytes() + b"\x00")
    with pytest.raises(airflow_runner.CompiledPipelineError, match="recompile"):
        airflow_runner.load_ir(airflow_runner.read_manifest(copy))


def test_a_missing_manifest_names_the_compile_command(tmp_path):
    with pytest.raises(airflow_runner.CompiledPipelineError, match="python -m pipeline compile"):
        airflow_runner.read_manifest(tmp_path / "nothing.json")
