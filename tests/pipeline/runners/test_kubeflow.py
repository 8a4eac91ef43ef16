"""The compiled KFP v2 spec: strict parsing, kfp's own loader, tasks, commands, images, gke settings."""

from __future__ import annotations

import json
from pathlib import Path

import kfp.components
import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline import profiles
from pipeline.config import ComponentResources, KubeflowConfig
from pipeline.runners import kfp_local, kubeflow

IMAGE = "europe-west4-docker.pkg.dev/proj/tfx/taxi-edge:abc123"
QUERY = "SELECT * FROM `bigquery-public-data.chicago_taxi_trips.taxi_trips` LIMIT 5000"
EXECUTORS = {
    "BigQueryExampleGen": "tfx.extensions.google_cloud_big_query.example_gen.executor.Executor",
    "CsvExampleGen": "tfx.components.example_gen.csv_example_gen.executor.Executor",
    "ImportSchemaGen": "tfx.components.schema_gen.import_schema_gen.executor.Executor",
    "StatisticsGen": "tfx.components.statistics_gen.executor.Executor",
    "ExampleValidator": "tfx.components.example_validator.executor.Executor",
    "Transform": "tfx.components.transform.executor.Executor",
    "Trainer": "tfx.components.trainer.executor.GenericExecutor",
    "Evaluator": "tfx.components.evaluator.executor.Executor",
    "Pusher": "pipeline.components.safe_pusher.executor.Executor",
    "DataGate": "pipeline.components.data_gate.component.DataGate_Executor",
    "TFLiteConverter": "pipeline.components.tflite_converter.executor.Executor",
    "DataBaselineRecorder": "pipeline.components.data_baseline.component.DataBaselineRecorder_Executor",
}
BASELINE_RESOLVER = "latest_data_baseline_resolver"
BLESSING_RESOLVER = "latest_blessed_model_resolver-model-blessing-resolver"
MODEL_RESOLVER = "latest_blessed_model_resolver-model-resolver"


@pytest.fixture(scope="module")
def bigquery_dataflow(tmp_path_factory):
    """The gke profile as a team runs it: BigQuery data, Dataflow, gs:// roots."""
    config = profiles.gke(bucket="taxi-bucket", project="proj", region="europe-west4", image=IMAGE,
                          query=QUERY, env={})
    compiled = kubeflow.compile_pipeline(config, tmp_path_factory.mktemp("bq"))
    return config, compiled


@pytest.fixture(scope="module")
def csv_in_pods(tmp_path_factory):
    """CSV on GCS, Beam inside the pods (no project, so no Dataflow)."""
    config = profiles.gke(bucket="taxi-bucket", image=IMAGE, env={})
    compiled = kubeflow.compile_pipeline(config, tmp_path_factory.mktemp("csv"))
    return config, compiled


def _spec(compiled: kubeflow.CompiledPipeline) -> pipeline_spec_pb2.PipelineSpec:
    return kfp_local.load_pipeline_spec(compiled.kfp_package)


def _container(spec, task):
    return kfp_local.executor_spec(spec, task).container


def test_yaml_package_parses_strictly_into_a_schema_2_1_pipeline_spec(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    [document] = list(yaml.safe_load_all(compiled.kfp_package.read_text()))
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(document, spec)  # no ignore_unknown_fields: every key must be in the proto
    assert spec.schema_version == "2.1.0"
    assert spec.pipeline_info.name == "taxi-edge"
    assert spec.sdk_version == "tfx-1.16.0"


def test_vertex_job_parses_strictly_and_points_at_the_gcs_pipeline_root(bigquery_dataflow):
    config, compiled = bigquery_dataflow
    job = pipeline_spec_pb2.PipelineJob()
    json_format.Parse(compiled.vertex_job.read_text(), job)
    assert job.runtime_config.gcs_output_directory == config.pipeline_root == "gs://taxi-bucket/taxi-edge/pipeline"
    spec = json_format.MessageToDict(job.pipeline_spec)
    assert spec["schemaVersion"] == "2.1.0"
    assert set(spec["root"]["dag"]["tasks"]) == set(_spec(compiled).root.dag.tasks)


def test_kfp_loads_the_package_with_its_own_loader(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    component = kfp.components.load_component_from_file(str(compiled.kfp_package))
    assert component.name == "taxi-edge"
    assert set(component.pipeline_spec.root.dag.tasks) == set(_spec(compiled).root.dag.tasks)


def test_tasks_and_their_dependencies(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    upstream = kfp_local.upstream_tasks(_spec(compiled))
    assert upstream == {
        "BigQueryExampleGen": set(),
        "ImportSchemaGen": set(),
        "StatisticsGen": {"BigQueryExampleGen"},
        "ExampleValidator": {"StatisticsGen", "ImportSchemaGen"},
        "latest_data_baseline_resolver": set(),
        "DataGate": {"ExampleValidator", "StatisticsGen", "ImportSchemaGen", "latest_data_baseline_resolver"},
        "Transform": {"BigQueryExampleGen", "ImportSchemaGen", "DataGate"},
        "Trainer": {"Transform", "ImportSchemaGen"},
        BLESSING_RESOLVER: set(),
        MODEL_RESOLVER: {BLESSING_RESOLVER},
        "Evaluator": {"BigQueryExampleGen", "Trainer", MODEL_RESOLVER},
        "Pusher": {"Trainer", "Evaluator"},
        "TFLiteConverter": {"BigQueryExampleGen", "Evaluator", "Transform", "Trainer"},
        "DataBaselineRecorder": {"StatisticsGen", "Evaluator"},
    }


def test_every_component_runs_the_tfx_entrypoint_in_our_image(bigquery_dataflow, csv_in_pods):
    for _, compiled in (bigquery_dataflow, csv_in_pods):
        spec = _spec(compiled)
        containers = {t for t in spec.root.dag.tasks if kfp_local.task_image(spec, t)}
        assert containers == set(spec.root.dag.tasks) - {BLESSING_RESOLVER, MODEL_RESOLVER, BASELINE_RESOLVER}
        for task in containers:
            container = _container(spec, task)
            assert container.image == IMAGE
            assert tuple(container.command) == kubeflow.CONTAINER_COMMAND
            args = list(container.args)
            assert args[args.index("--executor_class_path") + 1] == EXECUTORS[task]
            assert args[args.index("--json_serialized_invocation_args") + 1] == "{{$}}"


def test_csv_example_gen_runs_tfx_driver_before_its_executor(csv_in_pods):
    _, compiled = csv_in_pods
    hook = _container(_spec(compiled), "CsvExampleGen").lifecycle.pre_cache_check
    driver = "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"
    assert list(hook.command) == ["python", "-m", driver]


def test_resolvers_query_the_latest_blessed_model(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    spec = _spec(compiled)
    blessing = kfp_local.executor_spec(spec, BLESSING_RESOLVER).resolver
    model = kfp_local.executor_spec(spec, MODEL_RESOLVER).resolver
    assert "metadata.blessed.number_value=1" in blessing.output_artifact_queries["model_blessing"].filter
    assert "current_model_id" in model.output_artifact_queries["model"].filter


def test_the_drift_baseline_resolver_queries_a_stock_tfx_type(bigquery_dataflow):
    """A custom type would compile to schema_title="tfx.Artifact", which matches nothing."""
    spec = _spec(bigquery_dataflow[1])
    baseline = kfp_local.executor_spec(spec, BASELINE_RESOLVER).resolver
    query = baseline.output_artifact_queries["baseline"].filter
    assert query == 'schema_title="tfx.Statistics" AND state=LIVE'


def test_the_baseline_is_recorded_only_for_a_blessed_model(bigquery_dataflow):
    """The condition must name an input the task has (TFX 1.16's compiler does not check)."""
    task = _spec(bigquery_dataflow[1]).root.dag.tasks["DataBaselineRecorder"]
    assert task.trigger_policy.condition == (
        "(inputs.artifacts['_Evaluator.blessing'].artifacts[0].metadata['blessed'] == 1.0)")
    assert task.inputs.artifacts["_Evaluator.blessing"].task_output_artifact.producer_task == "Evaluator"


def _beam_args(spec, task) -> list[str]:
    return [a for a in _container(spec, task).args if a.startswith("--") and "=" in a]


def test_heavy_components_run_beam_on_dataflow_with_our_image_as_worker(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    spec = _spec(compiled)
    for task in ("BigQueryExampleGen", "StatisticsGen", "Transform", "Evaluator"):
        args = _beam_args(spec, task)
        runners = [a for a in args if a.startswith("--runner=")]
        assert runners[-1] == "--runner=DataflowRunner", task  # the last one wins in Beam's parser
        for expected in ("--project=proj", "--region=europe-west4", f"--sdk_container_image={IMAGE}",
                         "--temp_location=gs://taxi-bucket/taxi-edge/dataflow-tmp"):
            assert expected in args, (task, expected)
    for task in ("ExampleValidator", "Trainer", "Pusher", "ImportSchemaGen"):
        assert "--runner=DataflowRunner" not in _beam_args(spec, task), task


def test_without_a_project_beam_stays_in_the_pods(csv_in_pods):
    _, compiled = csv_in_pods
    text = compiled.kfp_package.read_text()
    assert "DataflowRunner" not in text
    assert f"--sdk_container_image={IMAGE}" in text  # no source package is staged for in-pod Beam


def test_bigquery_query_is_the_example_gen_input(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    task = _spec(compiled).root.dag.tasks["BigQueryExampleGen"]
    input_config = json.loads(task.inputs.parameters["input_config"].runtime_value.constant.string_value)
    assert input_config["splits"][0]["pattern"] == QUERY


def test_csv_source_schema_and_serving_root_are_the_profile_values(csv_in_pods):
    config, compiled = csv_in_pods
    tasks = _spec(compiled).root.dag.tasks
    constant = lambda task, name: tasks[task].inputs.parameters[name].runtime_value.constant.string_value  # noqa: E731
    assert constant("CsvExampleGen", "input_base") == "gs://taxi-bucket/taxi-edge/data"
    assert constant("ImportSchemaGen", "schema_file") == profiles.IMAGE_SCHEMA == config.schema_path
    assert json.loads(constant("Pusher", "push_destination")) == {
        "filesystem": {"base_directory": "gs://taxi-bucket/taxi-edge/serving"}}


def test_component_resources_reach_the_pod_spec(bigquery_dataflow):
    _, compiled = bigquery_dataflow
    spec = _spec(compiled)
    trainer = _container(spec, "Trainer").resources
    assert (trainer.cpu_limit, trainer.memory_limit) == (8, 32)  # what Vertex reads
    assert (trainer.resource_cpu_limit, trainer.resource_memory_limit) == ("8", "32Gi")  # what KFP reads
    assert trainer.resource_cpu_request == "4" and trainer.resource_memory_request == "16Gi"
    assert not _container(spec, "ExampleValidator").HasField("resources")


def test_accelerators_are_set_in_both_field_generations():
    spec = kubeflow.resource_spec(ComponentResources(accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1))
    assert (spec.accelerator.type, spec.accelerator.count) == ("NVIDIA_TESLA_T4", 1)
    assert (spec.accelerator.resource_type, spec.accelerator.resource_count) == ("NVIDIA_TESLA_T4", "1")


def test_settings_for_a_component_the_pipeline_lacks_are_rejected():
    config = profiles.gke(bucket="b", image=IMAGE, env={}).with_overrides(
        kubeflow=KubeflowConfig(resources={"Trainr": ComponentResources(cpu_limit=1)}))
    with pytest.raises(ValueError, match="Trainr"):
        kubeflow.build_pipeline(config)


def test_compiling_needs_an_image(tmp_path: Path):
    config = profiles.gke(bucket="b", env={}).with_overrides(image=None)
    with pytest.raises(ValueError, match="image"):
        kubeflow.compile_pipeline(config, tmp_path)
