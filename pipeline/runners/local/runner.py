"""The local runner: every node of one run, in order, in this process.

Equivalent to TFX's ``LocalDagRunner`` (same IR, same launcher), plus a progress
callback per node so that a person watching a run sees where it is and what came
from the cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pipeline.config import PipelineConfig, SqliteMetadata
from pipeline.metadata import ensure_reachable
from pipeline.metadata.lock import exclusive_store
from pipeline.runners import ir
from pipeline.runners.local.compiled import compiled_pipeline
from pipeline.spans import SPAN_RANGE_PARAMETER, range_config_json

log = logging.getLogger(__name__)
progress_log = logging.getLogger("pipeline.progress")

# A component running longer than this says so every HEARTBEAT_SECONDS (the CLI shows the
# pipeline.progress logger): Beam components (StatisticsGen, Transform, Evaluator) report
# nothing until they finish, and at millions of rows that is minutes of silence.
HEARTBEAT_SECONDS = 30.0


@contextlib.contextmanager
def heartbeat(node_id: str, every: float | None = None) -> Iterator[None]:
    """Logs "<node>: running for N s (CPU ...)" every ``every`` seconds until the block ends."""
    every = HEARTBEAT_SECONDS if every is None else every
    done = threading.Event()
    started, cpu_started = time.monotonic(), os.times()

    def beat() -> None:
        while not done.wait(every):
            now = os.times()
            cpu = now.user + now.system - cpu_started.user - cpu_started.system
            progress_log.info("%s: running for %.0f s (this process: %.0f CPU s)", node_id,
                              time.monotonic() - started, cpu)

    thread = threading.Thread(target=beat, name=f"heartbeat-{node_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@dataclass
class RunResult:
    """The outcome of one local pipeline run."""

    run_id: str
    nodes: list[ir.NodeResult] = field(default_factory=list)
    failed_node: str | None = None
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.failed_node is None


class Progress:
    """Receives node start/finish events; the CLI prints them, tests can record them."""

    def node_started(self, index: int, total: int, node_id: str) -> None: ...

    def node_finished(self, index: int, total: int, result: ir.NodeResult) -> None: ...

    def node_failed(self, index: int, total: int, node_id: str, error: BaseException) -> None: ...


def run(config: PipelineConfig, progress: Progress | None = None,
        on_compiled: Callable[[str], None] | None = None, span: int | None = None) -> RunResult:
    """Runs the pipeline for ``config``; stops at the first failing node.

    A failed node is recorded as FAILED in MLMD by TFX's launcher; rerunning the same
    configuration then serves every finished node from the cache. Raises
    ``ConcurrentRunError`` if another run holds the same SQLite store, and
    ``MetadataUnavailable`` (before any work) if the MLMD database cannot be reached.
    ``span`` picks the span of a spanned source (None: the newest).
    """
    lock = (exclusive_store(config.metadata.path) if isinstance(config.metadata, SqliteMetadata)
            else contextlib.nullcontext())
    with lock:
        ensure_reachable(config.metadata)
        return _run_locked(config, progress or Progress(), on_compiled, span)


def _run_locked(config: PipelineConfig, progress: Progress,
                on_compiled: Callable[[str], None] | None, span: int | None) -> RunResult:
    compiled = compiled_pipeline(config)
    run_id = ir.new_run_id()
    bound = ir.bind_run_id(compiled, run_id, {SPAN_RANGE_PARAMETER: range_config_json(span)})
    if on_compiled:
        on_compiled(run_id)
    result = RunResult(run_id=run_id)
    ids = ir.node_ids(bound)
    for index, node_id in enumerate(ids, start=1):
        progress.node_started(index, len(ids), node_id)
        try:
            with heartbeat(node_id):
                node_result = ir.launch_node(bound, node_id)
        except Exception as error:  # noqa: BLE001 - reported, then the run stops
            log.exception("node %s failed", node_id)
            progress.node_failed(index, len(ids), node_id, error)
            result.failed_node, result.error = node_id, error
            return result
        result.nodes.append(node_result)
        progress.node_finished(index, len(ids), node_result)
    return result
