"""``python -m pipeline run``: the local runner from the command line.

Guards first (input checks, the up-to-date shortcut), then the run with one progress
line per node, then the summary and the HTML report, all read back from MLMD.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from pipeline.cli.common import (
    ExitCode,
    add_profile_arguments,
    add_span_arguments,
    add_training_arguments,
    add_verbose_argument,
    build_config,
    quiet_libraries,
    selected_span,
)
from pipeline.config import PipelineConfig

log = logging.getLogger("pipeline")


class PrintProgress:
    """Prints one line when a node starts and one when it ends."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def node_started(self, index: int, total: int, node_id: str) -> None:
        print(f"[{index}/{total}] {node_id} ...", flush=True)

    def node_finished(self, index: int, total: int, result) -> None:  # noqa: ANN001
        elapsed = time.monotonic() - self._started
        print(f"[{index}/{total}] {result.node_id}: {result.state} in {result.seconds:.1f} s "
              f"(run time {elapsed:.0f} s)", flush=True)

    def node_failed(self, index: int, total: int, node_id: str, error: BaseException) -> None:
        print(f"[{index}/{total}] {node_id}: FAILED: {error}", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    """Runs the pipeline once and prints the summary; exit code 1 on failure."""
    from pipeline.runners.local import guards
    from pipeline.spans import SpanNotFound, span_label

    quiet_libraries(args.verbose)
    try:
        config = build_config(args)
        span = guards.run_span(config, selected_span(args))
    except SpanNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.NO_DATA
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    problem, checked = guards.check_inputs(config, span)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if checked:
        print(checked, flush=True)
    which = f" ({span_label(config.data.layout, span)}, window {config.training.window_spans} spans)" \
        if span is not None else ""
    print(f"Profile {config.profile}: data {getattr(config.data, 'path', config.data)}{which}, "
          f"outputs {config.pipeline_root}", flush=True)
    # Taken before the run: whatever changes while it runs makes the next run real.
    fingerprint = guards.fingerprint(config)
    # Spanned data: TFX's cache is the "nothing changed" check (one run per span is expected).
    if not args.force and span is None:
        record = guards.unchanged_run(config, fingerprint)
        if record:
            print(f"Up to date: data, schema, code, configuration and dependencies are unchanged since "
                  f"run {record['run_id']}; nothing to run (--force runs the pipeline anyway).")
            print(record["summary"])
            return ExitCode.OK

    from pipeline.metadata import MetadataMisconfigured, MetadataUnavailable, open_store
    from pipeline.report.summary import format_summary, summarise
    from pipeline.runners.local import ConcurrentRunError, runner

    try:
        result = runner.run(config, progress=PrintProgress(), span=span)
    except ConcurrentRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.CONCURRENT_RUN
    except MetadataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.METADATA_UNAVAILABLE
    except MetadataMisconfigured as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.METADATA_MISCONFIGURED
    summary = summarise(open_store(config.metadata), result.run_id, result.nodes)
    summary_text = format_summary(summary)
    print(summary_text)
    report = _write_report(config, result.run_id)
    if report:
        summary_text += f"\n  report: {report}"
    if not result.succeeded:
        guards.forget(config)
        print(f"Run failed at {result.failed_node}: {result.error}", file=sys.stderr)
        return ExitCode.GATE_CLOSED if _gate_closed(result.error) else ExitCode.FAILED
    if span is not None:
        return ExitCode.OK
    guards.save_record(config, fingerprint, result.run_id, summary_text, summary.pushed_destination)
    return ExitCode.OK


def _gate_closed(error: BaseException | None) -> bool:
    """The data gate refused the data: a rerun cannot help until the data or the baseline changes."""
    from pipeline.components.data_gate.policy import DataGateClosed

    return isinstance(error, DataGateClosed)


def _write_report(config: PipelineConfig, run_id: str) -> str | None:
    """The run's HTML report; a report that cannot be written never fails the run."""
    if not config.report.enabled:
        return None
    try:
        from pipeline.lineage.api import Lineage
        from pipeline.metadata.read_only import open_read_only
        from pipeline.report.build import report_folder, write_report

        path = write_report(Lineage(open_read_only(config.metadata)), run_id, folder=report_folder(config))
    except Exception as error:  # noqa: BLE001 - reported, the run's outcome stands
        log.warning("run report not written", exc_info=True)
        print(f"  report: not written ({error})", file=sys.stderr)
        return None
    print(f"  report: {path}")
    return path


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run the pipeline with the local runner")
    add_profile_arguments(run)
    add_training_arguments(run)
    add_span_arguments(run)
    run.add_argument("--force", action="store_true",
                     help="run even if nothing changed since the last successful run")
    add_verbose_argument(run)
    run.set_defaults(func=cmd_run)
