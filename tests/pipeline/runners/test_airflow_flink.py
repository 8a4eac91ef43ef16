"""The Airflow path with the Flink engine: each Beam-heavy task's compiled node submits to Flink.

Airflow runs one task per node (``python -m pipeline launch-node``), and each task takes its
Beam arguments from the compiled IR; so what the IR holds per node is what each task sends
to Flink. The non-Beam nodes (Trainer, Pusher, ...) have no Beam arguments at all.
"""

from __future__ import annotations

import pytest
from tfx.orchestration.local import runner_utils

from pipeline import profiles
from pipeline.runners import airflow as airflow_runner

BEAM_HEAVY = {"CsvExampleGen", "StatisticsGen", "Transform", "Evaluator"}


@pytest.fixture(scope="module")
def beam_args_by_node(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compiled-flink")
    jar = folder / "beam-runners-flink-1.20-job-server-2.72.0.jar"
    jar.write_bytes(b"PK")
    config = profiles.onprem(env={
        "EDGE_PIPELINE_ROOT": str(folder / "nfs"), "EDGE_BEAM_ENGINE": "flink",
        "EDGE_FLINK_MASTER": "flink-jm.dc1:8081", "EDGE_FLINK_JOB_SERVER_JAR": str(jar)})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLMD_MYSQL_PASSWORD", "x")
        manifest = airflow_runner.compile_to(config, folder / "out" / "taxi-edge.json")
        loaded = airflow_runner.load_ir(airflow_runner.read_manifest(manifest.path))
    specs = runner_utils.extract_local_deployment_config(loaded).executor_specs
    return {node: list(spec.beam_executable_spec.beam_pipeline_args)
            if spec.HasField("beam_executable_spec") else None for node, spec in specs.items()}


def test_each_beam_heavy_node_submits_to_the_flink_master(beam_args_by_node):
    for node in BEAM_HEAVY:
        args = beam_args_by_node[node]
        assert "--runner=FlinkRunner" in args, node
        assert "--flink_master=flink-jm.dc1:8081" in args and "--parallelism=2" in args
        assert "--environment_type=EXTERNAL" in args


def test_no_other_node_runs_beam(beam_args_by_node):
    assert {node for node, args in beam_args_by_node.items() if args is not None} == BEAM_HEAVY
