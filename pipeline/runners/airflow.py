"""Ahead-of-time compilation for schedulers: IR file + a small JSON manifest, and launch by node.

An Airflow DAG file is parsed every few seconds by the scheduler; importing TFX and
TensorFlow there would take tens of seconds. So deployment compiles the pipeline once
(``python -m pipeline compile``): the TFX IR goes to ``<name>.pb`` and a manifest
(``<name>.json``: node ids, upstream lists, schedule, retries, which Python runs the
tasks) sits next to it. The DAG file reads only the JSON, with the standard library.

Each task then runs ``python -m pipeline launch-node``: it loads the IR, binds the
pipeline run id of the Airflow run and launches one node with the same IR-based
launcher the local runner uses (:mod:`pipeline.runners.ir`). A retried task reuses the
run's execution of its node, and finished nodes are never redone.

The MySQL password never enters the IR or the manifest: the IR is compiled with an
empty password, and the launch fills it in from the environment or secret file named
by the manifest's (secret-free) metadata settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import spans
from pipeline.config import (
    REPO_ROOT,
    CsvSource,
    MetadataConfig,
    MySqlMetadata,
    PipelineConfig,
    SqliteMetadata,
)

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
EXAMPLE_GEN_NODE = "CsvExampleGen"
_NO_PASSWORD_ENV = "EDGE_COMPILE_WITHOUT_PASSWORD"


class CompiledPipelineError(RuntimeError):
    """The compiled files are missing, inconsistent or for another format."""


@dataclass(frozen=True)
class Manifest:
    """What a scheduler needs to know about a compiled pipeline, without TFX."""

    path: Path
    data: dict[str, Any]

    @property
    def ir_path(self) -> Path:
        return (self.path.parent / self.data["ir"]).resolve()

    @property
    def metadata(self) -> MetadataConfig:
        settings = dict(self.data["metadata"])
        kind = settings.pop("kind")
        if kind == "mysql":
            return MySqlMetadata(**settings)
        if kind == "sqlite":
            return SqliteMetadata(**settings)
        raise CompiledPipelineError(f"{self.path}: unsupported metadata kind {kind!r}")


def _metadata_settings(meta: MetadataConfig) -> dict[str, Any]:
    if isinstance(meta, MySqlMetadata):
        return {"kind": "mysql", **dataclasses.asdict(meta)}
    if isinstance(meta, SqliteMetadata):
        return {"kind": "sqlite", **dataclasses.asdict(meta)}
    raise CompiledPipelineError(f"{type(meta).__name__} cannot be launched node by node here")


@contextlib.contextmanager
def _secret_free(config: PipelineConfig) -> Iterator[PipelineConfig]:
    """The config with an empty MySQL password, so compiling needs (and stores) no secret."""
    if not isinstance(config.metadata, MySqlMetadata):
        yield config
        return
    meta = dataclasses.replace(config.metadata, password_env=_NO_PASSWORD_ENV, password_file=None)
    previous = os.environ.get(_NO_PASSWORD_ENV)
    os.environ[_NO_PASSWORD_ENV] = ""
    try:
        yield config.with_overrides(metadata=meta)
    finally:
        if previous is None:
            del os.environ[_NO_PASSWORD_ENV]
        else:
            os.environ[_NO_PASSWORD_ENV] = previous


def _data_settings(config: PipelineConfig) -> dict[str, Any]:
    """What the scheduler side needs to know about the data: spanned or not, where, which node reads it."""
    if isinstance(config.data, CsvSource):
        return {"kind": "csv", "path": config.data.path, "layout": config.data.layout,
                "example_gen": EXAMPLE_GEN_NODE}
    return {"kind": type(config.data).__name__, "layout": "single"}


def compile_to(config: PipelineConfig, manifest_path: Path, python: str | None = None,
               workdir: Path = REPO_ROOT) -> Manifest:
    """Compiles ``config``'s pipeline to ``<manifest>.pb`` and writes the manifest.

    ``python`` is the interpreter that runs the tasks (default: this one, i.e. the
    pipeline's environment); ``workdir`` is where it runs (the repository, so that
    ``models.*`` imports). The manifest lists the task exit codes the DAG fails without
    retries (:data:`pipeline.cli.common.NO_RETRY_EXIT_CODES`: bad input, a misconfigured
    database, a closed data gate, a date without data).
    """
    from pipeline.cli.common import NO_RETRY_EXIT_CODES
    from pipeline.pipeline import create_pipeline
    from pipeline.runners import ir

    manifest_path = Path(manifest_path).resolve()
    with _secret_free(config) as compilable:
        compiled = ir.compile_pipeline(create_pipeline(compilable))
    serialized = compiled.SerializeToString(deterministic=True)
    ir_path = manifest_path.with_suffix(".pb")
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    ir_path.write_bytes(serialized)
    data = {
        "format": MANIFEST_FORMAT,
        "pipeline_name": config.pipeline_name,
        "profile": config.profile,
        "ir": ir_path.name,
        "ir_sha256": hashlib.sha256(serialized).hexdigest(),
        "python": python or sys.executable,
        "workdir": str(Path(workdir).resolve()),
        "metadata": _metadata_settings(config.metadata),
        "airflow": dataclasses.asdict(config.airflow),
        # launch-node's exit codes that the DAG fails without retries (dags/taxi_edge.py).
        "no_retry_exit_codes": sorted(int(code) for code in NO_RETRY_EXIT_CODES),
        "data": _data_settings(config),
        "nodes": [{"id": node, "upstream": ir.upstream_nodes(compiled)[node]}
                  for node in ir.node_ids(compiled)],
    }
    manifest_path.write_text(json.dumps(data, indent=2) + "\n")
    log.info("compiled %s (%d nodes) to %s", config.pipeline_name, len(data["nodes"]), manifest_path)
    return Manifest(manifest_path, data)


def read_manifest(path: Path) -> Manifest:
    """Reads and checks a manifest written by :func:`compile_to`."""
    path = Path(path).resolve()
    if not path.is_file():
        raise CompiledPipelineError(f"no compiled pipeline at {path}: run `python -m pipeline compile`")
    data = json.loads(path.read_text())
    if data.get("format") != MANIFEST_FORMAT:
        raise CompiledPipelineError(f"{path}: manifest format {data.get('format')!r}, "
                                    f"expected {MANIFEST_FORMAT}; recompile")
    return Manifest(path, data)


def load_ir(manifest: Manifest):  # noqa: ANN201 - pipeline_pb2.Pipeline, imported lazily
    """The compiled IR with the MLMD connection (and its secret) filled in for this process."""
    from tfx.orchestration.local import runner_utils
    from tfx.proto.orchestration import pipeline_pb2

    from pipeline.metadata import connection_config

    serialized = manifest.ir_path.read_bytes()
    if hashlib.sha256(serialized).hexdigest() != manifest.data["ir_sha256"]:
        raise CompiledPipelineError(f"{manifest.ir_path} does not match {manifest.path}; recompile")
    compiled = pipeline_pb2.Pipeline.FromString(serialized)
    deployment = runner_utils.extract_local_deployment_config(compiled)
    deployment.metadata_connection_config.database_connection_config.CopyFrom(
        connection_config(manifest.metadata))
    compiled.deployment_config.Pack(deployment)
    return compiled


SQLITE_LOCK_WAIT_SECONDS = 3 * 3600.0


def launch(manifest: Manifest, run_id: str, node_id: str, enable_cache: bool = True,  # noqa: ANN201
           span: int | None = None, lock_wait_seconds: float = SQLITE_LOCK_WAIT_SECONDS):
    """Launches one node of pipeline run ``run_id``; returns its :class:`ir.NodeResult`.

    ``span`` (spanned data) is the span this run reads; every task of a run gets the
    same one (None: the newest). The node that reads the data first checks that the
    span's folder is there (:class:`pipeline.spans.SpanNotFound` otherwise).

    Launching a node twice in one run is safe: TFX's launcher reuses the run's
    execution of the node (a finished one is not run again; an interrupted one is
    resumed under the same execution id). On a SQLite store the node runs under the
    store's lock, as local runs do; tasks of overlapping runs wait for it (up to
    ``lock_wait_seconds``, then :class:`ConcurrentRunError`) instead of corrupting it.
    """
    from pipeline.metadata import ensure_reachable
    from pipeline.runners import ir

    ensure_reachable(manifest.metadata)
    compiled = load_ir(manifest)
    if node_id not in ir.node_ids(compiled):
        raise CompiledPipelineError(f"{manifest.path} has no node {node_id!r}")
    data = manifest.data.get("data", {})
    if span is not None and data.get("layout", "single") == "single":
        raise CompiledPipelineError(f"{manifest.path}: the compiled data source has no spans; "
                                    "--span/--date do not apply")
    if node_id == data.get("example_gen") and data.get("layout", "single") != "single":
        span = spans.check_span(data["path"], data["layout"], span)
    bound = ir.bind_run_id(compiled, run_id, {spans.SPAN_RANGE_PARAMETER: spans.range_config_json(span)})
    if not enable_cache:
        for node in bound.nodes:
            node.pipeline_node.execution_options.caching_options.enable_cache = False
    meta = manifest.metadata
    if not isinstance(meta, SqliteMetadata):
        return ir.launch_node(bound, node_id)
    from pipeline.metadata.lock import exclusive_store

    with exclusive_store(meta.path, wait_seconds=lock_wait_seconds):
        return ir.launch_node(bound, node_id)
