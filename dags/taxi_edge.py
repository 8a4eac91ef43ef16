"""The taxi pipeline as an Airflow DAG: one task per pipeline node, built from its compiled manifest.

The pipeline is defined once (``pipeline.pipeline.create_pipeline``) and compiled at
deployment time (``python -m pipeline compile``, or ``make airflow-compile``) into TFX
IR plus a small JSON manifest. This file reads only that JSON, with the standard
library, so the scheduler parses it in well under a second, never imports TensorFlow
or TFX, and works the same under Airflow 2.10 and Airflow 3 (which cannot be installed
next to TFX 1.16): each task runs ``python -m pipeline launch-node`` with the
pipeline's own interpreter, recorded in the manifest.

One Airflow run is one pipeline run in MLMD (run id ``<dag_id>__<airflow run_id>``,
or the ``pipeline_run_id`` param to continue an earlier run). A retried or cleared
task relaunches only its node in that run: TFX's launcher reuses the node's
execution, so finished components are never redone.

With spanned data (one folder per day, ``YYYY-MM-DD/``; see ``pipeline/spans.py``)
each run reads the folder of its logical date (``ds``), so ``catchup`` or ``airflow
dags backfill`` runs one pipeline run per date, in order (``max_active_runs`` 1). A
rerun of a date retrains and pushes nothing: TFX's cache serves every node. A date
without a folder, and a data gate that blocks (drift, anomalies), fail the task
without retries (:class:`NodeOperator`); a lost database is retried.

Environment read at parse time: ``EDGE_AIRFLOW_MANIFEST`` (default
``<repo>/build/airflow/taxi-edge.json``). Task processes inherit the worker's
environment, which carries the MLMD credentials (``MLMD_MYSQL_PASSWORD`` or
``MLMD_MYSQL_PASSWORD_FILE``); nothing secret is in this file or the manifest.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
from pathlib import Path

try:  # Airflow 3: the task SDK and the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, Param
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
except ImportError:  # Airflow 2.10
    from airflow import DAG
    from airflow.exceptions import AirflowFailException, AirflowSkipException
    from airflow.models.param import Param
    from airflow.operators.bash import BashOperator

MANIFEST_FORMAT = 1
DEFAULT_MANIFEST = Path(__file__).resolve().parent.parent / "build" / "airflow" / "taxi-edge.json"
RUN_ID_TEMPLATE = "{{ params.pipeline_run_id or (dag.dag_id ~ '__' ~ run_id) }}"
NO_CACHE_TEMPLATE = "{{ '--no-cache' if params.disable_cache else '' }}"
# The span a run reads: the ``span_date`` param, else the run's logical date (``ds``;
# absent for an Airflow 3 manual run without one: then the newest span).
SPAN_DATE_TEMPLATE = "{{ params.span_date or (ds | default('')) }}"


def read_manifest(path: Path) -> dict:
    """The compiled manifest; a missing one is an import error naming the fix."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no compiled pipeline at {path}: run `make airflow-compile` (python -m pipeline compile "
            f"--profile onprem --out {path}) or set EDGE_AIRFLOW_MANIFEST"
        )
    manifest = json.loads(path.read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: manifest format {manifest.get('format')!r}, expected {MANIFEST_FORMAT}; "
                         "recompile with this version of the pipeline")
    return manifest


def launch_command(manifest_path: Path, manifest: dict, node_id: str) -> str:
    """The task's shell command: launch one node in the pipeline's own environment."""
    python, workdir = manifest["python"], manifest["workdir"]
    return (f"cd {shlex.quote(workdir)} && exec {shlex.quote(python)} -m pipeline launch-node "
            f"--manifest {shlex.quote(str(manifest_path))} --node {shlex.quote(node_id)} "
            f'--run-id "$EDGE_PIPELINE_RUN_ID" {NO_CACHE_TEMPLATE}'
            + (' --date "$EDGE_SPAN_DATE"' if spanned(manifest) else ""))


def spanned(manifest: dict) -> bool:
    """The compiled data source has one folder per span: each run reads its logical date's."""
    return manifest.get("data", {}).get("layout", "single") != "single"


class NodeOperator(BashOperator):
    """A BashOperator that fails at once, without retries, on exit codes no retry can fix.

    Airflow has no per-exit-code retry setting, but a task that raises
    ``AirflowFailException`` fails without its remaining retries (Airflow 2.10 and 3).
    BashOperator already maps chosen exit codes to an exception (``skip_on_exit_code``,
    meant for skipping); this class borrows that mapping and turns the skip into a
    failure. Which codes: the manifest's ``no_retry_exit_codes`` (bad input, a database
    that refuses the credentials or has another schema version, a data gate that blocks
    for drift or anomalies, a date without a data folder). The task stays failed until
    someone acts (accepts the drift, fixes or delivers the data) and clears it.
    """

    def __init__(self, *, no_retry_exit_codes: list[int], **kwargs) -> None:  # noqa: ANN003
        super().__init__(skip_on_exit_code=list(no_retry_exit_codes), **kwargs)

    def execute(self, context):  # noqa: ANN001, ANN201 - Airflow's signature
        try:
            return super().execute(context)
        except AirflowSkipException as stop:
            raise AirflowFailException(
                f"{self.task_id} exited with a code that a retry cannot fix ({stop}); not retrying"
            ) from stop


def build_dag(manifest_path: Path) -> DAG:
    """One BashOperator per pipeline node, dependencies as in the compiled pipeline."""
    manifest = read_manifest(manifest_path)
    settings = manifest["airflow"]
    dag = DAG(
        dag_id=settings["dag_id"],
        description=f"TFX pipeline {manifest['pipeline_name']} (profile {manifest['profile']})",
        schedule=settings["schedule"],
        start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        catchup=settings["catchup"],
        max_active_runs=settings["max_active_runs"],
        default_args={
            "retries": settings["retries"],
            "retry_delay": datetime.timedelta(seconds=settings["retry_delay_seconds"]),
        },
        params={
            "pipeline_run_id": Param(
                "", type="string",
                description="continue this pipeline run (MLMD run id) instead of starting a new one"),
            "disable_cache": Param(False, type="boolean", description="rerun components even if cached"),
            "span_date": Param(
                "", type="string",
                description="spanned data: read this day's folder (YYYY-MM-DD), not the logical date's"),
        },
        tags=["tfx", manifest["pipeline_name"]],
        doc_md=__doc__,
    )
    tasks = {}
    for node in manifest["nodes"]:
        tasks[node["id"]] = NodeOperator(
            task_id=node["id"],
            no_retry_exit_codes=manifest.get("no_retry_exit_codes", []),
            bash_command=launch_command(manifest_path, manifest, node["id"]),
            env={"EDGE_PIPELINE_RUN_ID": RUN_ID_TEMPLATE, "EDGE_SPAN_DATE": SPAN_DATE_TEMPLATE},
            append_env=True,
            dag=dag,
        )
    for node in manifest["nodes"]:
        for upstream in node["upstream"]:
            tasks[upstream] >> tasks[node["id"]]
    return dag


MANIFEST_PATH = Path(os.environ.get("EDGE_AIRFLOW_MANIFEST", DEFAULT_MANIFEST)).resolve()
dag = build_dag(MANIFEST_PATH)
