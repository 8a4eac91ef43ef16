"""Compile the pipeline to TFX IR and launch its nodes one at a time.

This is TFX's own IR-based launcher (``tfx.orchestration.portable.launcher``), the
one ``LocalDagRunner`` uses, exposed per node so that every orchestrator can drive
it: the local runner loops over all nodes in one process with progress; an Airflow
task launches exactly one node of a run. Same launcher, same MLMD records, same cache.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tfx.dsl.compiler import constants
from tfx.orchestration import metadata
from tfx.orchestration.local import runner_utils
from tfx.orchestration.portable import base_executor_operator, data_types, launcher, runtime_parameter_utils
from tfx.proto.orchestration import executable_spec_pb2, execution_result_pb2, pipeline_pb2

from pipeline.metadata import MetadataUnavailable, queries
from pipeline.runners import resolvers

if TYPE_CHECKING:
    from tfx.orchestration import pipeline as pipeline_py

STATE_NAMES = queries.STATE_NAMES


@dataclass(frozen=True)
class NodeResult:
    """What happened to one node in one run."""

    node_id: str
    state: str
    seconds: float
    execution_id: int | None = None


def compile_pipeline(pipeline: pipeline_py.Pipeline) -> pipeline_pb2.Pipeline:
    """The pipeline as IR, as TFX's runners compile it, with our resolver strategies swapped in.

    "Latest artifact" may resolve to nothing; a baseline is never the candidate itself.
    TFX's compiler is imported here, not with the launcher: a kept IR needs no compiling.
    """
    from tfx.orchestration.portable.tfx_runner import _make_pipeline_proto

    compiled = _make_pipeline_proto(pipeline)
    resolvers.tolerate_empty_latest(compiled)
    resolvers.exclude_candidate_from_baseline(compiled)
    return compiled


def new_run_id() -> str:
    """A run id in the format LocalDagRunner uses (ISO timestamp)."""
    return datetime.datetime.now().isoformat()


def bind_run_id(ir: pipeline_pb2.Pipeline, run_id: str,
                parameters: dict[str, str] | None = None) -> pipeline_pb2.Pipeline:
    """Returns a copy of the IR with the pipeline run id (and other runtime parameters) filled in.

    Parameters not given take their defaults (e.g. ``span_range`` '': the newest span).
    """
    bound = pipeline_pb2.Pipeline()
    bound.CopyFrom(ir)
    runtime_parameter_utils.substitute_runtime_parameter(
        bound, {**(parameters or {}), constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id}
    )
    return bound


def node_ids(ir: pipeline_pb2.Pipeline) -> list[str]:
    """Node ids in topological order (the compiler emits them that way)."""
    return [node.pipeline_node.node_info.id for node in ir.nodes]


def upstream_nodes(ir: pipeline_pb2.Pipeline) -> dict[str, list[str]]:
    """Each node's direct upstream nodes, for orchestrators that build a DAG."""
    return {
        node.pipeline_node.node_info.id: list(node.pipeline_node.upstream_nodes) for node in ir.nodes
    }


class DeferredExecutorOperator(base_executor_operator.BaseExecutorOperator):
    """TFX's executor operator for the spec, built only when the executor is to run.

    TFX's Python and Beam operators import the executor class when constructed, and the
    launcher constructs one for every node, also for a node it then serves from the cache.
    Importing an executor module pulls in its libraries (Transform's TFT, StatisticsGen's
    TFDV; ours import ``tfx.v1`` whole), so a rerun served from the cache imported every one
    of them. Deferring the stock operator to :meth:`run_executor` leaves the executions and
    what MLMD records unchanged; an executor that cannot be imported now fails its execution
    (recorded FAILED) rather than the launcher's construction.
    """

    # The in-process operators (TFX's Docker operator imports nothing at construction).
    SUPPORTED_EXECUTOR_SPEC_TYPE = [executable_spec_pb2.PythonClassExecutableSpec,
                                    executable_spec_pb2.BeamExecutableSpec]
    SUPPORTED_PLATFORM_CONFIG_TYPE: list = []  # as both stock operators: none

    def __init__(self, executor_spec: object, platform_config: object | None = None) -> None:
        super().__init__(executor_spec, platform_config)
        self._operator: base_executor_operator.BaseExecutorOperator | None = None

    def run_executor(self, execution_info: data_types.ExecutionInfo
                     ) -> execution_result_pb2.ExecutorOutput | None:
        stock = launcher.DEFAULT_EXECUTOR_OPERATORS[type(self._executor_spec)]
        self._operator = stock(executor_spec=self._executor_spec, platform_config=self._platform_config)
        if self._execution_watcher_address:
            self._operator.with_execution_watcher(self._execution_watcher_address)
        return self._operator.run_executor(execution_info)

    def handle_stop(self) -> None:
        if self._operator is not None:
            self._operator.handle_stop()


DEFERRED_OPERATORS = {spec_type: DeferredExecutorOperator
                      for spec_type in DeferredExecutorOperator.SUPPORTED_EXECUTOR_SPEC_TYPE}


# How TFX's Metadata context manager reports a database it cannot connect to.
LOST_CONNECTION = "Failed to establish connection to Metadata storage"


def _where(connection_config: object) -> str:
    """The store's address for messages: host and port, or the SQLite file."""
    if hasattr(connection_config, "mysql") and connection_config.HasField("mysql"):
        return f"MySQL {connection_config.mysql.host}:{connection_config.mysql.port}"
    if hasattr(connection_config, "sqlite") and connection_config.HasField("sqlite"):
        return f"SQLite {connection_config.sqlite.filename_uri}"
    return "MLMD"


def _connection_config(ir: pipeline_pb2.Pipeline) -> object:
    deployment = runner_utils.extract_local_deployment_config(ir)
    which = deployment.metadata_connection_config.WhichOneof("connection_config")
    return getattr(deployment.metadata_connection_config, which)


def _execution_state(connection_config: object, execution_id: int) -> str:
    with metadata.Metadata(connection_config) as handle:
        [execution] = handle.store.get_executions_by_id([execution_id])
    return STATE_NAMES.get(execution.last_known_state, "unknown")


def launch_node(ir: pipeline_pb2.Pipeline, node_id: str) -> NodeResult:
    """Runs (or serves from cache) one node of a run-id-bound IR; raises if it fails."""
    deployment = runner_utils.extract_local_deployment_config(ir)
    connection_config = _connection_config(ir)
    [node] = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    started = time.monotonic()
    if node.execution_options.HasField("skip"):
        return NodeResult(node_id, "skipped", 0.0)
    component_launcher = launcher.Launcher(
        pipeline_node=node,
        mlmd_connection=metadata.Metadata(connection_config),
        pipeline_info=ir.pipeline_info,
        pipeline_runtime_spec=ir.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id),
        custom_executor_operators=DEFERRED_OPERATORS,
    )
    try:
        execution_info = component_launcher.launch()
    except RuntimeError as error:
        if LOST_CONNECTION not in str(error):
            raise
        raise MetadataUnavailable(
            f"{node_id}: lost the metadata store ({_where(connection_config)}) while running; its work "
            "was not recorded. Run again (or let the scheduler retry) once the database is back: this "
            "node reruns under the same execution and finished nodes come from the cache."
        ) from error
    seconds = time.monotonic() - started
    if execution_info is None or execution_info.execution_id is None:
        return NodeResult(node_id, "skipped", seconds)
    state = _execution_state(connection_config, execution_info.execution_id)
    return NodeResult(node_id, state, seconds, execution_info.execution_id)
