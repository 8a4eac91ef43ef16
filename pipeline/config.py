"""Typed configuration: everything that differs between environments, as data.

The pipeline factory reads only a :class:`PipelineConfig`; it never asks which
orchestrator runs it. Each environment (``local``, ``onprem``, ``gke``) is one
instance of the same shape, built in :mod:`pipeline.profiles`. This module imports
nothing heavy, so the CLI and the Airflow DAG file can load it in milliseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = REPO_ROOT / "schemas" / "schema.pbtxt"
DEFAULT_DATA = REPO_ROOT / "data" / "taxi"


@dataclass(frozen=True)
class SqliteMetadata:
    """MLMD in one SQLite file: the embedded default for a laptop."""

    path: str


@dataclass(frozen=True)
class MySqlMetadata:
    """MLMD on a MySQL/MariaDB server, as on-prem teams run it.

    The password is never part of the configuration: it is read at run time from
    the environment variable ``password_env`` or, if set, from ``password_file``
    (a mounted secret).
    """

    host: str
    database: str
    user: str
    port: int = 3306
    password_env: str = "MLMD_MYSQL_PASSWORD"
    password_file: str | None = None


@dataclass(frozen=True)
class BackendMetadata:
    """MLMD owned by the orchestrator's backend (Kubeflow Pipelines / Vertex)."""


MetadataConfig = SqliteMetadata | MySqlMetadata | BackendMetadata


@dataclass(frozen=True)
class CsvSource:
    """A folder of CSV files (all files in it form one span)."""

    path: str


@dataclass(frozen=True)
class BigQuerySource:
    """A BigQuery query; used in the cloud, where the data already lives."""

    query: str


DataSource = CsvSource | BigQuerySource


@dataclass(frozen=True)
class TrainingConfig:
    """Trainer hyperparameters; recorded in MLMD through the Trainer's custom_config."""

    train_steps: int = 400
    eval_steps: int = 40
    batch_size: int = 128
    learning_rate: float = 0.003
    hidden_units: tuple[int, ...] = (64, 32)
    embedding_dim: int = 4
    run_fn: str = "models.model.run_fn"
    preprocessing_fn: str = "models.preprocessing.preprocessing_fn"

    def hyperparameters(self) -> dict[str, object]:
        """The values ``run_fn`` reads (JSON-serialisable, so MLMD can store them)."""
        return {
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "hidden_units": list(self.hidden_units),
            "embedding_dim": self.embedding_dim,
        }


@dataclass(frozen=True)
class EvaluationConfig:
    """Quality gate for blessing a model.

    ``auc_floor`` is an absolute bar the model must clear (the majority class alone
    scores AUC 0.5); ``max_auc_regression`` is how much worse than the last blessed
    model a candidate may be and still be blessed.
    """

    auc_floor: float = 0.93
    max_auc_regression: float = 0.01
    slice_features: tuple[str, ...] = ("payment_type", "trip_start_hour")


@dataclass(frozen=True)
class AirflowConfig:
    """How an Airflow deployment schedules the pipeline.

    The pipeline factory never reads this; ``python -m pipeline compile`` copies it
    into the compiled manifest, which the DAG file in ``dags/`` reads at parse time.
    ``schedule`` is an Airflow schedule (cron or preset such as ``@daily``) or None
    for manual runs only. A retried task relaunches only its own node in the same
    pipeline run, so retries never redo finished components.
    """

    dag_id: str = "taxi_edge"
    schedule: str | None = "@daily"
    retries: int = 2
    retry_delay_seconds: int = 300
    max_active_runs: int = 1
    catchup: bool = False


@dataclass(frozen=True)
class PipelineConfig:
    """One environment profile: roots, metadata, data source, Beam and image.

    The model code (``models/``) and the pipeline factory are the same for every
    profile; only an instance of this class changes.
    """

    profile: str
    pipeline_name: str
    pipeline_root: str
    serving_root: str
    data: DataSource
    metadata: MetadataConfig
    schema_path: str = str(DEFAULT_SCHEMA)
    beam_args: tuple[str, ...] = ()
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    enable_cache: bool = True
    image: str | None = None
    airflow: AirflowConfig = field(default_factory=AirflowConfig)

    def with_overrides(self, **changes: object) -> PipelineConfig:
        """A copy with some fields replaced (nested configs are replaced whole)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def with_training(self, **changes: object) -> PipelineConfig:
        """A copy with some training hyperparameters replaced."""
        return self.with_overrides(training=dataclasses.replace(self.training, **changes))  # type: ignore[arg-type]
