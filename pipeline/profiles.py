"""Environment profiles: one typed :class:`PipelineConfig` per place the pipeline runs.

``local`` is the default: everything under one root folder (pipeline outputs, the
SQLite MLMD file, the serving folder), Beam in-process; with a ``gs://`` root everything
but MLMD and the run lock goes to GCS. ``onprem`` is what the
Airflow deployment compiles: roots on local/NFS paths, MLMD on MySQL, Beam on all
cores; it is configured from environment variables (see :func:`onprem`). ``gke`` is
Kubeflow Pipelines v2 on GKE or Vertex AI: ``gs://`` roots, the KFP backend's MLMD, CSV
on GCS or a BigQuery query, Dataflow for the heavy Beam work. Every profile is a
function here with the same ``(root, data)`` signature.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pipeline import spans
from pipeline.config import (
    DEFAULT_DATA,
    REPO_ROOT,
    SHARED_ENVIRONMENT_WORKERS,
    AirflowConfig,
    BackendMetadata,
    BeamEngine,
    BigQuerySource,
    ComponentResources,
    CsvSource,
    DataflowConfig,
    EmbeddedBeam,
    EvaluationConfig,
    FlinkBeam,
    KubeflowConfig,
    MySqlMetadata,
    PipelineConfig,
    ReportConfig,
    SqliteMetadata,
    TrainingConfig,
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
LOCAL_WORKER_DEPENDENCIES = f"--sdk_container_image={SHARED_ENVIRONMENT_WORKERS}"
LOCAL_BEAM_ARGS = (
    "--runner=FnApiRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
    LOCAL_WORKER_DEPENDENCIES,
)


# The Beam-heavy components that get every core when the data is large (CsvExampleGen does
# not run Beam with the pyarrow reader, which uses every core by itself).
HEAVY_BEAM_COMPONENTS = ("StatisticsGen", "Transform", "Evaluator")
# The local default is Beam in the component's process at every size (LOCAL_DEFAULT_BEAM_MODE).
# Measured (docs/scale.md), 300,000 rows, the whole run each way, load 5-6: one process 304 s
# and a 1.4 GiB peak, a worker per core 455 s and 3.4 GiB (StatisticsGen 28 vs 73 s, Transform
# 78 vs 150 s, Evaluator 114 vs 126 s); each worker loads TensorFlow (and the model) again. At
# 1.5 million rows two Evaluator workers cut its wall time by a quarter (load 5-7) for a 3.0 GiB
# peak against 1.3 GiB, over the 3 GiB budget. "auto" (opt-in) keeps the size rule below.
MULTI_PROCESS_MIN_BYTES = 32 << 20


def csv_bytes(folder: Path) -> int:
    """Size of the CSV files ExampleGen will read (0 if the folder is not there yet)."""
    try:
        return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())
    except OSError:
        return 0


LOCAL_BEAM_MODES = ("auto", "in_memory", "multi_processing")
LOCAL_DEFAULT_BEAM_MODE = "in_memory"


def local_component_beam_args(data: Path | None, workers: int = 0, mode: str = LOCAL_DEFAULT_BEAM_MODE
                              ) -> dict[str, tuple[str, ...]]:
    """Beam args per heavy component: none (one process, the default), a worker per core
    (``multi_processing``), or a worker per core when the data is large (``auto``).

    Still Beam's embedded engine (FnApiRunner), with worker processes from this environment:
    nothing to install or start beyond ``make run``. ``mode`` comes from ``EDGE_BEAM_MODE``.
    """
    if mode not in LOCAL_BEAM_MODES:
        raise ProfileSettingError(f"EDGE_BEAM_MODE must be one of {', '.join(LOCAL_BEAM_MODES)}, "
                                  f"not {mode!r}")
    count = workers or os.cpu_count() or 1
    if mode == "in_memory" or count < 2:
        return {}
    # ``data`` is None for a gs:// folder, whose size is not read here: "auto" keeps one process.
    if mode == "auto" and (data is None or csv_bytes(data) < MULTI_PROCESS_MIN_BYTES):
        return {}
    args = EmbeddedBeam(mode="multi_processing", workers=count).beam_args(count)
    return dict.fromkeys(HEAVY_BEAM_COMPONENTS, args)


def csv_source(path: Path, layout: str | None = None) -> CsvSource:
    """A CSV folder; its layout is detected from its sub-folders unless given (see :mod:`pipeline.spans`)."""
    return CsvSource(str(path), layout=layout or spans.detect_layout(path))


STATE_DIR_ENV = "PIPELINE_STATE_DIR"


def local(root: Path | str | None = None, data: Path | str | None = None, state: Path | None = None,
          env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Development on a laptop: SQLite MLMD and local folders under ``root``.

    ``root`` may also be ``gs://bucket/path`` (an on-prem team with GCS): pipeline outputs,
    the serving and edge roots and the reports then live there, while the SQLite MLMD
    store and the run lock stay on this machine, in ``state`` (else ``$PIPELINE_STATE_DIR``,
    else ``outputs/gcs/<bucket>/<path>``), one store per GCS root. ``data`` may be a
    ``gs://`` folder of CSV files too (one span). A local data folder's layout (one span, or one
    sub-folder per date or span) is detected.
    """
    env = os.environ if env is None else env
    root_uri = gcs_uri(root) if root is not None else None
    if root_uri is not None and "://" in root_uri and not root_uri.startswith("gs://"):
        raise ValueError(f"the local profile takes a local --root or a gs:// one, not {root_uri}")
    if root_uri is not None and root_uri.startswith("gs://"):
        outputs = root_uri.rstrip("/")
        local_state = Path(state or env.get(STATE_DIR_ENV) or
                           DEFAULT_LOCAL_ROOT / "gcs" / outputs[len("gs://"):]).resolve()
    else:
        # Path() folds gs://b into gs:/b and resolve() would write a local folder named "gs:":
        # URIs never reach this branch.
        local_state = Path(root or DEFAULT_LOCAL_ROOT).resolve()
        outputs = str(local_state)
    data_uri = gcs_uri(data) if data is not None else ""
    # A gs:// data folder is read as one span: span folders are detected (and the CSV size for
    # EDGE_BEAM_MODE=auto measured) on local folders only.
    local_data = None if data_uri.startswith("gs://") else Path(data or DEFAULT_DATA).resolve()
    source = CsvSource(data_uri) if local_data is None else csv_source(local_data)
    return PipelineConfig(
        profile="local",
        pipeline_name=PIPELINE_NAME,
        pipeline_root=f"{outputs}/pipeline",
        serving_root=f"{outputs}/serving",
        data=source,
        metadata=SqliteMetadata(str(local_state / "metadata.sqlite")),
        beam_args=LOCAL_BEAM_ARGS,
        component_beam_args=local_component_beam_args(
            local_data, mode=env.get("EDGE_BEAM_MODE", LOCAL_DEFAULT_BEAM_MODE)),
        report=ReportConfig(folder=f"{outputs}/reports"),
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
        uri = gcs_uri(data) if data is not None else f"{root}/data"
        layout = env.get("EDGE_DATA_LAYOUT") or (spans.detect_layout(uri) if "://" not in uri else "single")
        source = CsvSource(uri, layout=layout)
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
        # TFX 1.16's Kubeflow v2 compiler takes only the two stock resolver strategies
        # and single channels, so a KFP run trains on its own span (no MLMD window).
        training=TrainingConfig(window_spans=1),
        # TFMA computes the slices too: Dataflow spreads its per-example work over workers.
        evaluation=EvaluationConfig(slice_engine="tfma"),
        schema_path=schema,
        beam_args=tuple(beam_args),
        csv_reader="beam",  # the stock reader parallelises over Dataflow's workers
        image=image,
        kubeflow=KubeflowConfig(project=project, region=region, host=host, resources=dict(GKE_RESOURCES),
                                dataflow=dataflow),
    )




# On-prem machines run one component at a time, so embedded Beam may take every core:
# FnApiRunner in multi_processing mode with one worker process per core ("0" = os.cpu_count()).
ONPREM_BEAM_MODE = "multi_processing"
BEAM_ENGINES = ("embedded", "flink")
DEFAULT_FLINK_MASTER = "127.0.0.1:8081"
DEFAULT_FLINK_WORKER_POOL = "127.0.0.1:50000"
# Where `make flink-job-server` puts Beam's Flink job server (Beam's Flink 1.20 line).
DEFAULT_FLINK_JOB_SERVER_JAR = REPO_ROOT / ".tools" / "flink" / (
    "beam-runners-flink-1.20-job-server-2.72.0.jar")


def onprem_beam_args(workers: int = 0, mode: str = ONPREM_BEAM_MODE) -> tuple[str, ...]:
    """Embedded Beam arguments for one on-prem machine; ``workers=0`` means one per core."""
    return EmbeddedBeam(mode=mode, workers=workers).beam_args(os.cpu_count() or 1)


class ProfileSettingError(ValueError):
    """A profile needs a setting that the environment does not provide."""


def _required(env: Mapping[str, str], name: str, given: object) -> str:
    if given is not None:
        return str(given)
    value = env.get(name)
    if not value:
        raise ProfileSettingError(f"the onprem profile needs {name} (or the matching argument)")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or str(default)
    try:
        return int(value)
    except ValueError:
        raise ProfileSettingError(f"{name} must be a whole number, not {value!r}") from None


def beam_engine(env: Mapping[str, str]) -> BeamEngine:
    """The onprem profile's Beam engine, from ``EDGE_BEAM_ENGINE`` and its settings."""
    name = env.get("EDGE_BEAM_ENGINE", "embedded").lower()
    if name not in BEAM_ENGINES:
        raise ProfileSettingError(f"EDGE_BEAM_ENGINE must be one of {', '.join(BEAM_ENGINES)}, not {name!r}")
    try:
        if name == "embedded":
            return EmbeddedBeam(mode=env.get("EDGE_BEAM_MODE", ONPREM_BEAM_MODE),
                                workers=_int(env, "EDGE_BEAM_WORKERS", 0))
        jar = Path(env.get("EDGE_FLINK_JOB_SERVER_JAR") or DEFAULT_FLINK_JOB_SERVER_JAR).resolve()
        if not jar.is_file():
            raise ProfileSettingError(f"Beam's Flink job server jar is not at {jar}: "
                                      "run `make flink-job-server` or set EDGE_FLINK_JOB_SERVER_JAR")
        environment = env.get("EDGE_FLINK_WORKER_ENVIRONMENT", "EXTERNAL").upper()
        pool_default = DEFAULT_FLINK_WORKER_POOL if environment == "EXTERNAL" else ""
        return FlinkBeam(
            master=env.get("EDGE_FLINK_MASTER", DEFAULT_FLINK_MASTER),
            job_server_jar=str(jar),
            parallelism=_int(env, "EDGE_FLINK_PARALLELISM", 2),
            environment=environment,
            environment_config=env.get("EDGE_FLINK_WORKER_POOL", pool_default) or None,
            worker_image=env.get("EDGE_FLINK_WORKER_IMAGE") or None,
        )
    except ValueError as error:
        if isinstance(error, ProfileSettingError):
            raise
        raise ProfileSettingError(str(error)) from None


def onprem(root: Path | None = None, data: Path | None = None,
           env: Mapping[str, str] | None = None) -> PipelineConfig:
    """An on-prem Airflow deployment: NFS/local roots, MLMD on MySQL, Beam on all cores.

    Read from the environment (arguments win over variables):

    - ``EDGE_PIPELINE_ROOT`` (required unless ``root``): pipeline outputs go to
      ``<root>/pipeline``; ``EDGE_SERVING_ROOT`` (default ``<root>/serving``) receives
      pushed models; ``EDGE_DATA_DIR`` (default the shipped sample) holds the CSV files,
      laid out as ``EDGE_DATA_LAYOUT`` (``single``, ``date`` or ``span``; default: detected
      from the folder, see :mod:`pipeline.spans`); ``EDGE_WINDOW_SPANS`` (7) spans train.
    - ``MLMD_MYSQL_HOST`` (default 127.0.0.1), ``MLMD_MYSQL_PORT`` (3306),
      ``MLMD_MYSQL_DATABASE`` (mlmd), ``MLMD_MYSQL_USER`` (mlmd). The password is not
      read here: at connection time from ``MLMD_MYSQL_PASSWORD`` or from the file named
      by ``MLMD_MYSQL_PASSWORD_FILE`` (a mounted secret).
    - ``EDGE_BEAM_ENGINE``: ``embedded`` (default) runs Beam inside each task, with
      ``EDGE_BEAM_WORKERS`` (default 0: one per core) and ``EDGE_BEAM_MODE`` (default
      multi_processing; ``in_memory`` runs Beam in the task's process). ``flink`` sends the
      Beam-heavy components to a Flink cluster (docs/onprem.md): ``EDGE_FLINK_MASTER``
      (REST host:port, 127.0.0.1:8081), ``EDGE_FLINK_PARALLELISM`` (2),
      ``EDGE_FLINK_JOB_SERVER_JAR`` (default: where ``make flink-job-server`` puts it),
      ``EDGE_FLINK_WORKER_ENVIRONMENT`` (EXTERNAL, DOCKER, PROCESS or LOOPBACK),
      ``EDGE_FLINK_WORKER_POOL`` (the EXTERNAL pool, 127.0.0.1:50000; for PROCESS, Beam's
      JSON ``{"command": ...}``), ``EDGE_FLINK_WORKER_IMAGE`` (for DOCKER).
    - ``EDGE_AIRFLOW_SCHEDULE`` (default @daily; ``none`` for manual runs only),
      ``EDGE_AIRFLOW_RETRIES`` (2), ``EDGE_AIRFLOW_RETRY_DELAY`` (seconds, 300).
    """
    env = os.environ if env is None else env
    root = Path(_required(env, "EDGE_PIPELINE_ROOT", root)).resolve()
    serving = Path(env.get("EDGE_SERVING_ROOT") or root / "serving").resolve()
    data = Path(data or env.get("EDGE_DATA_DIR") or DEFAULT_DATA).resolve()
    schedule = env.get("EDGE_AIRFLOW_SCHEDULE", "@daily")
    defaults = AirflowConfig()
    return PipelineConfig(
        profile="onprem",
        pipeline_name=PIPELINE_NAME,
        pipeline_root=str(root / "pipeline"),
        serving_root=str(serving),
        data=csv_source(data, env.get("EDGE_DATA_LAYOUT") or None),
        training=TrainingConfig(window_spans=int(env.get("EDGE_WINDOW_SPANS", TrainingConfig.window_spans))),
        metadata=MySqlMetadata(
            host=env.get("MLMD_MYSQL_HOST", "127.0.0.1"),
            port=int(env.get("MLMD_MYSQL_PORT", "3306")),
            database=env.get("MLMD_MYSQL_DATABASE", "mlmd"),
            user=env.get("MLMD_MYSQL_USER", "mlmd"),
            password_file=env.get("MLMD_MYSQL_PASSWORD_FILE") or None,
        ),
        beam_args=beam_engine(env).beam_args(os.cpu_count() or 1),
        airflow=AirflowConfig(
            schedule=None if schedule.lower() == "none" else schedule,
            retries=int(env.get("EDGE_AIRFLOW_RETRIES", defaults.retries)),
            retry_delay_seconds=int(env.get("EDGE_AIRFLOW_RETRY_DELAY", defaults.retry_delay_seconds)),
        ),
    )


PROFILES: dict[str, Callable[..., PipelineConfig]] = {"local": local, "onprem": onprem, "gke": gke}


def load_profile(name: str, root: Path | None = None, data: Path | None = None) -> PipelineConfig:
    """Builds the named profile; raises ``ValueError`` naming the known ones."""
    try:
        factory = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {name!r}; known profiles: {known}") from None
    return factory(root=root, data=data)
