"""Kubeflow Pipelines v2 runner: compile ``create_pipeline(config)`` for KFP on GKE or Vertex AI, and submit.

Everything cloud-specific is applied here, to the pipeline the factory built, from
``config.kubeflow``: pod resources (KFP ``ResourceSpec`` as each component's platform
config) and the Dataflow Beam arguments of the heavy components. The compiler is
TFX's ``KubeflowV2DagRunner`` with pipeline spec schema 2.1; it writes a PipelineJob
JSON (Vertex AI) and a PipelineSpec YAML (open-source KFP) from the same build.

Nothing is contacted here unless a ``submit_*`` function is called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_component

from pipeline.config import ComponentResources, KubeflowConfig, PipelineConfig
from pipeline.pipeline import create_pipeline
from pipeline.spans import NEWEST, SPAN_RANGE_PARAMETER

log = logging.getLogger(__name__)

ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec
# What every TFX task's container runs (KubeflowV2DagRunner's default command); the image needs
# only a ``python`` on PATH that can import tfx and this project.
CONTAINER_COMMAND = ("python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor")
JSON_NAME = "pipeline.json"
YAML_NAME = "pipeline.yaml"


@dataclass(frozen=True)
class CompiledPipeline:
    """The two files one compile writes."""

    vertex_job: Path  # PipelineJob JSON: aiplatform.PipelineJob(template_path=...)
    kfp_package: Path  # PipelineSpec YAML: kfp.Client().create_run_from_pipeline_package(...)


def resource_spec(resources: ComponentResources) -> ResourceSpec:
    """KFP's ResourceSpec, with both field generations set.

    Vertex reads the numeric fields (``cpu_limit``, ``memory_limit`` in GB); the
    open-source KFP backend prefers the Kubernetes-quantity strings (``resource_*``).
    """
    spec = ResourceSpec()
    for field, value, unit in (("cpu_limit", resources.cpu_limit, ""),
                               ("cpu_request", resources.cpu_request, ""),
                               ("memory_limit", resources.memory_limit_gib, "Gi"),
                               ("memory_request", resources.memory_request_gib, "Gi")):
        if value is not None:
            setattr(spec, field, value)
            setattr(spec, f"resource_{field}", f"{value:g}{unit}")
    if resources.accelerator_type:
        spec.accelerator.type = resources.accelerator_type
        spec.accelerator.count = resources.accelerator_count
        spec.accelerator.resource_type = resources.accelerator_type
        spec.accelerator.resource_count = str(resources.accelerator_count)
    return spec


def build_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    """The factory's pipeline, with the Kubeflow-only settings attached to its components."""
    if not config.image:
        raise ValueError("compiling for Kubeflow needs a container image (config.image / --image)")
    if getattr(config.data, "spanned", False) and config.training.window_spans > 1:
        raise ValueError("a training window over MLMD cannot be compiled for Kubeflow (the TFX 1.16 v2 "
                         "compiler "
                         "takes only stock resolvers); set the window to 1 (the gke profile does)")
    pipeline = create_pipeline(config)
    settings = config.kubeflow or KubeflowConfig()
    known = {component.id for component in pipeline.components}
    dataflow_components = set(settings.dataflow.components) if settings.dataflow else set()
    unknown = (set(settings.resources) | dataflow_components) - known
    # Dataflow names both ExampleGens so that either data source is covered; other names are typos.
    unknown -= {"BigQueryExampleGen", "CsvExampleGen"}
    if unknown:
        raise ValueError(f"Kubeflow settings name components the pipeline does not have: {sorted(unknown)}")
    for component in pipeline.components:
        if component.id in settings.resources:
            component.with_platform_config(resource_spec(settings.resources[component.id]))
        if (settings.dataflow and component.id in settings.dataflow.components
                and isinstance(component, base_beam_component.BaseBeamComponent)):
            # Appended after the pipeline-level arguments, so the Dataflow runner wins.
            component.with_beam_pipeline_args(list(settings.dataflow.beam_args(config.image)))
    return pipeline


def compile_pipeline(config: PipelineConfig, output_dir: Path) -> CompiledPipeline:
    """Writes ``pipeline.json`` (Vertex PipelineJob) and ``pipeline.yaml`` (KFP package) to ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    runner_config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
        display_name=config.pipeline_name,
        default_image=config.image,
        default_commands=list(CONTAINER_COMMAND),
        use_pipeline_spec_2_1=True,
    )
    for name in (JSON_NAME, YAML_NAME):
        # A fresh pipeline per file: the runner mutates components while compiling.
        runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
            config=runner_config, output_dir=str(output_dir), output_filename=name
        )
        runner.run(build_pipeline(config))
    compiled = CompiledPipeline(vertex_job=output_dir / JSON_NAME, kfp_package=output_dir / YAML_NAME)
    if getattr(config.data, "spanned", False):
        _set_parameter_defaults(compiled, {SPAN_RANGE_PARAMETER: NEWEST})
    log.info("compiled %s and %s", compiled.vertex_job, compiled.kfp_package)
    return compiled


def _set_parameter_defaults(compiled: CompiledPipeline, defaults: dict[str, str]) -> None:
    """Writes pipeline parameter defaults into both files.

    TFX 1.16's v2 compiler drops a RuntimeParameter's default (spec 2.1), so a KFP or
    Vertex run would have to be given every parameter; with the default recorded, a
    recurring run that names no span reads the newest one.
    """
    import json

    import yaml

    job = json.loads(compiled.vertex_job.read_text())
    spec = yaml.safe_load(compiled.kfp_package.read_text())
    for root in (job["pipelineSpec"]["root"], spec["root"]):
        parameters = root.get("inputDefinitions", {}).get("parameters", {})
        for name, value in defaults.items():
            if name in parameters:
                parameters[name]["defaultValue"] = value
    compiled.vertex_job.write_text(json.dumps(job, indent=2, sort_keys=True) + "\n")
    compiled.kfp_package.write_text(yaml.safe_dump(spec, sort_keys=False))


def submit_kfp(package: Path, host: str, *, run_name: str | None = None, experiment: str | None = None,
               enable_caching: bool = True) -> str:
    """Starts a run on an open-source KFP backend; returns the run id."""
    import kfp

    client = kfp.Client(host=host)
    run = client.create_run_from_pipeline_package(
        pipeline_file=str(package), arguments={}, run_name=run_name, experiment_name=experiment,
        enable_caching=enable_caching,
    )
    log.info("submitted KFP run %s to %s", run.run_id, host)
    return run.run_id


def submit_vertex(job_file: Path, *, project: str, region: str, pipeline_root: str, display_name: str,
                  service_account: str | None = None, experiment: str | None = None,
                  enable_caching: bool = True) -> str:
    """Starts a Vertex AI PipelineJob; returns its resource name."""
    from google.cloud import aiplatform

    aiplatform.init(project=project, location=region)
    job = aiplatform.PipelineJob(
        display_name=display_name, template_path=str(job_file), pipeline_root=pipeline_root,
        enable_caching=enable_caching, project=project, location=region,
    )
    job.submit(service_account=service_account, experiment=experiment)
    log.info("submitted Vertex AI pipeline job %s", job.resource_name)
    return job.resource_name
