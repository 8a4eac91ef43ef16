"""Environment profiles: one typed :class:`PipelineConfig` per place the pipeline runs.

``local`` is the default: everything under one root folder (pipeline outputs, the
SQLite MLMD file, the serving folder), Beam in-process. ``gke`` is Kubeflow Pipelines
v2 on GKE or Vertex AI: ``gs://`` roots, the KFP backend's MLMD, CSV on GCS or a
BigQuery query, Dataflow for the heavy Beam work. Every profile is a function here
with the same ``(root, data)`` signature; cloud settings default from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pipeline.config import (
    DEFAULT_DATA,
    REPO_ROOT,
    BackendMetadata,
    BigQuerySource,
    ComponentResources,
    CsvSource,
    DataflowConfig,
    KubeflowConfig,
    PipelineConfig,
    ReportConfig,
    SqliteMetadata,
)

PIPELINE_NAME = "taxi-edge"
DEFAULT_LOCAL_ROOT = REPO_ROOT / "outputs"

# Beam's local runner is named explicitly. In Beam 2.72 even "--runner=DirectRunner"
# first tries to download the Prism runner binary (and falls back when offline), so
# behaviour would depend on the network; FnApiRunner is the engine DirectRunner falls
# back to for batch work, named directly, so nothing is ever downloaded.
# TFX builds a source package of itself for every Beam step unless the arguments say
# where workers get their code; local workers share this Python environment, so we
# say so with a worker-image name that nothing local ever pulls.
LOCAL_WORKER_DEPENDENCIES = "--sdk_container_image=local-workers-share-this-environment"
LOCAL_BEAM_ARGS = (
    "--runner=FnApiRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
    LOCAL_WORKER_DEPENDENCIES,
)


def local(root: Path | None = None, data: Path | None = None) -> PipelineConfig:
    """Development on a laptop: SQLite MLMD and local folders under ``root``."""
    root = Path(root or DEFAULT_LOCAL_ROOT).resolve()
    return PipelineConfig(
        profile="local",
        pipeline_name=PIPELINE_NAME,
        pipeline_root=str(root / "pipeline"),
        serving_root=str(root / "serving"),
        data=CsvSource(str(Path(data or DEFAULT_DATA).resolve())),
        metadata=SqliteMetadata(str(root / "metadata.sqlite")),
        beam_args=LOCAL_BEAM_ARGS,
        report=ReportConfig(folder=str(root / "reports")),
    )


# Where the Dockerfile puts the project inside the image: components read the curated
# schema from there, so it travels with the code that was built against it.
IMAGE_WORKDIR = "/app"
IMAGE_SCHEMA = f"{IMAGE_WORKDIR}/schemas/schema.pbtxt"
DEFAULT_REGION = "us-central1"
DEFAULT_IMAGE_NAME = "taxi-edge"

# Pod sizes for the components that need more than the cluster default.
GKE_RESOURCES: Mapping[str, ComponentResources] = {
    "Transform": ComponentResources(cpu_request=2, cpu_limit=4, memory_request_gib=8, memory_limit_gib=16),
    "Trainer": ComponentResources(cpu_request=4, cpu_limit=8, memory_request_gib=16, memory_limit_gib=32),
    "Evaluator": ComponentResources(cpu_request=2, cpu_limit=4, memory_request_gib=8, memory_limit_gib=16),
}


def gcs_uri(value: str | Path) -> str:
    """``gs://`` URIs survive a trip through ``pathlib`` (which folds ``//`` into ``/``)."""
    text = str(value)
    if text.startswith("gs:/") and not text.startswith("gs://"):
        return "gs://" + text[len("gs:/"):]
    return text


def default_image(project: str | None, region: str) -> str:
    """Artifact Registry path of the pipeline image (``make image`` builds it under this name)."""
    if project:
        return f"{region}-docker.pkg.dev/{project}/tfx/{DEFAULT_IMAGE_NAME}:latest"
    return f"{DEFAULT_IMAGE_NAME}:latest"


def gke(root: str | Path | None = None, data: str | Path | None = None, *, bucket: str | None = None,
        project: str | None = None, region: str | None = None, image: str | None = None,
        host: str | None = None, query: str | None = None, use_dataflow: bool = True,
        schema: str = IMAGE_SCHEMA, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Kubeflow Pipelines v2 on GKE, or Vertex AI Pipelines.

    Unset arguments come from the environment: ``PIPELINE_BUCKET``, ``GCP_PROJECT``,
    ``GCP_REGION``, ``PIPELINE_IMAGE``, ``KFP_HOST``, ``BIGQUERY_QUERY``. Without a
    ``root``, everything lives under ``gs://<bucket>/taxi-edge/``. A BigQuery query
    replaces the CSV folder as the data source. Dataflow is used when a project and
    a bucket are known (its temp files need a ``gs://`` location) and ``use_dataflow``.
    """
    env = os.environ if env is None else env
    bucket = bucket or env.get("PIPELINE_BUCKET")
    project = project or env.get("GCP_PROJECT")
    region = region or env.get("GCP_REGION") or DEFAULT_REGION
    image = image or env.get("PIPELINE_IMAGE") or default_image(project, region)
    host = host or env.get("KFP_HOST")
    query = query or env.get("BIGQUERY_QUERY")
    if root is None:
        if not bucket:
            raise ValueError("the gke profile needs a bucket (--bucket or PIPELINE_BUCKET) or a root")
        root = f"gs://{bucket}/{PIPELINE_NAME}"
    root = gcs_uri(root).rstrip("/")
    if query:
        source: CsvSource | BigQuerySource = BigQuerySource(query)
    else:
        source = CsvSource(gcs_uri(data) if data is not None else f"{root}/data")
    # Beam in the component's own pod: the pod's image already holds the code, so
    # TFX must not build and stage a source package for "workers".
    beam_args = ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1",
                 f"--sdk_container_image={image}"]
    if project:
        beam_args.append(f"--project={project}")
    if bucket:
        # BigQueryExampleGen exports through GCS even when Beam runs in the pod.
        beam_args.append(f"--temp_location=gs://{bucket}/{PIPELINE_NAME}/tmp")
    dataflow = None
    if use_dataflow and project and bucket:
        dataflow = DataflowConfig(project=project, region=region,
                                  temp_location=f"gs://{bucket}/{PIPELINE_NAME}/dataflow-tmp")
    return PipelineConfig(
        profile="gke",
        pipeline_name=PIPELINE_NAME,
        pipeline_root=f"{root}/pipeline",
        serving_root=f"{root}/serving",
        data=source,
        metadata=BackendMetadata(),
        schema_path=schema,
        beam_args=tuple(beam_args),
        image=image,
        kubeflow=KubeflowConfig(project=project, region=region, host=host, resources=dict(GKE_RESOURCES),
                                dataflow=dataflow),
    )


PROFILES: dict[str, Callable[..., PipelineConfig]] = {"local": local, "gke": gke}


def load_profile(name: str, root: Path | None = None, data: Path | None = None) -> PipelineConfig:
    """Builds the named profile; raises ``ValueError`` naming the known ones."""
    try:
        factory = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {name!r}; known profiles: {known}") from None
    return factory(root=root, data=data)
