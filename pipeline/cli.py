"""Command line: ``python -m pipeline run`` and friends.

Heavy imports (TensorFlow, TFX) happen inside the commands, so ``--help`` and bad
arguments answer instantly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from pathlib import Path

from pipeline import profiles, spans, up_to_date

log = logging.getLogger("pipeline")

# Exit codes a scheduler must not retry: a retry cannot fix data.
GATE_CLOSED_EXIT = 5  # the data gate blocked the run (anomalies or drift)
NO_DATA_EXIT = 6  # the span the run asks for has no data folder


def _quiet_libraries(verbose: bool) -> None:
    """TFX and Beam log every step at INFO; keep the terminal for progress unless asked."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.WARNING)


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


def _build_config(args: argparse.Namespace):  # noqa: ANN202
    config = profiles.load_profile(args.profile, root=args.root, data=args.data)
    if args.train_steps is not None:
        config = config.with_training(train_steps=args.train_steps)
    if getattr(args, "window", None) is not None:
        config = config.with_training(window_spans=args.window)
    if args.drift == "off":
        config = config.with_drift(enabled=False)
    elif args.drift:
        config = config.with_drift(action=args.drift)
    return config


def cmd_run(args: argparse.Namespace) -> int:
    """Runs the pipeline once and prints the summary; exit code 1 on failure."""
    _quiet_libraries(args.verbose)
    try:
        config = _build_config(args)
        span = spans.select_span(args.span, args.date)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spanned = isinstance(config.data, profiles.CsvSource) and config.data.spanned
    if span is not None and not spanned:
        print(f"error: --span/--date need span folders (YYYY-MM-DD/ or span-N/) in {config.data.path}",
              file=sys.stderr)
        return 2
    if isinstance(config.data, profiles.CsvSource):
        from models.features import LABEL_SOURCE
        from pipeline.preflight import InputDataError, check_csv_folder

        try:
            folder = Path(config.data.path)
            if spanned:
                span = spans.check_span(folder, config.data.layout, span)
                folder = folder / spans.folder_name(config.data.layout, span)
            check_csv_folder(folder, config.schema_path, LABEL_SOURCE)
        except (InputDataError, spans.SpanNotFound) as error:
            print(f"error: {error}", file=sys.stderr)
            return NO_DATA_EXIT if isinstance(error, spans.SpanNotFound) else 2
    which = f" ({spans.span_label(config.data.layout, span)}, window {config.training.window_spans})" \
        if spanned else ""
    print(f"Profile {config.profile}: data {getattr(config.data, 'path', config.data)}{which}, "
          f"outputs {config.pipeline_root}", flush=True)
    # Spanned data: TFX's cache is the "nothing changed" check (a run per span is expected).
    if not args.force and not spanned:
        record = up_to_date.unchanged_run(config)
        if record:
            print(f"Up to date: data, schema, code, configuration and dependencies are unchanged since "
                  f"run {record['run_id']}; nothing to run (--force runs the pipeline anyway).")
            print(record["summary"])
            return 0

    from pipeline.metadata import MetadataUnavailable, open_store
    from pipeline.run_lock import ConcurrentRunError
    from pipeline.runners import local
    from pipeline.summary import format_summary, summarise

    try:
        result = local.run(config, progress=PrintProgress(), span=span)
    except ConcurrentRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except MetadataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 4
    summary = summarise(open_store(config.metadata), result.run_id, result.nodes)
    summary_text = format_summary(summary)
    print(summary_text)
    report = _write_report(config, result.run_id)
    if report:
        summary_text += f"\n  report: {report}"
    if not result.succeeded:
        up_to_date.forget(config)
        print(f"Run failed at {result.failed_node}: {result.error}", file=sys.stderr)
        return GATE_CLOSED_EXIT if _gate_closed(result.error) else 1
    up_to_date.save_record(config, result.run_id, summary_text, summary.pushed_destination)
    return 0


def _gate_closed(error: BaseException | None) -> bool:
    """The data gate refused the data: rerunning cannot help until the data or the baseline changes."""
    from pipeline.components.data_gate.policy import DataGateClosed

    return isinstance(error, DataGateClosed)


def _write_report(config, run_id: str) -> str | None:  # noqa: ANN001
    """The run's HTML report; a report that cannot be written never fails the run."""
    if not config.report.enabled:
        return None
    try:
        from pipeline.lineage.api import Lineage
        from pipeline.lineage.store import open_read_only
        from pipeline.report.build import report_folder, write_report

        path = write_report(Lineage(open_read_only(config.metadata)), run_id, folder=report_folder(config))
    except Exception as error:  # noqa: BLE001 - reported, the run's outcome stands
        log.warning("run report not written", exc_info=True)
        print(f"  report: not written ({error})", file=sys.stderr)
        return None
    print(f"  report: {path}")
    return path


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """--profile/--data/--root: how every command finds a pipeline's outputs and MLMD."""
    parser.add_argument("--profile", default="local", choices=sorted(profiles.PROFILES),
                        help="environment profile (default: local)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with the input CSV files (default: the shipped taxi sample)")
    parser.add_argument("--root", type=Path, default=None,
                        help="where pipeline outputs, MLMD and the serving folder go (default: ./outputs)")


def add_span_arguments(parser: argparse.ArgumentParser) -> None:
    """--span/--date: which span of a spanned data folder a run reads (default: the newest)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--span", type=int, default=None,
                       help="read this span (span-N/ folders; default: newest)")
    which.add_argument("--date", default=None,
                       help="read this day's folder YYYY-MM-DD/ (date layout; default: newest)")


def add_drift_argument(parser: argparse.ArgumentParser) -> None:
    """--drift: what drift from the last blessed model's data does to a run."""
    parser.add_argument("--drift", choices=("block", "warn", "off"), default=None,
                        help="drift from the last blessed model's data: block the run (the profile's "
                             "default), only warn, or do not check")


# Modules that add their own subcommands: each has register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "pipeline.kfp_cli", "pipeline.lineage.cli", "pipeline.report.cli", "pipeline.deploy_cli",
    "pipeline.acceptance_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline with the local runner")
    add_profile_arguments(run)
    run.add_argument("--train-steps", type=int, default=None, help="override the training steps")
    add_drift_argument(run)
    add_span_arguments(run)
    run.add_argument("--window", type=int, default=None,
                     help="train on this many newest spans up to the run's span (default: 7)")
    run.add_argument("--force", action="store_true",
                     help="run even if nothing changed since the last successful run")
    run.add_argument("-v", "--verbose", action="store_true", help="show TFX and Beam logs")
    run.set_defaults(func=cmd_run)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
