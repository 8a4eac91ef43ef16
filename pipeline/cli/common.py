"""What every command shares: profile options, exit codes, config building, quiet libraries.

Each command module (``run``, ``airflow``, ``kubeflow``, ``lineage``, ``report``) imports
from here and from nowhere else in this package, so commands never reach into each
other's helpers. Nothing heavy is imported at module level: ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import enum
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import profiles
from pipeline.config import MetadataConfig, PipelineConfig, SqliteMetadata


class ExitCode(enum.IntEnum):
    """Exit statuses, defined once; schedulers and scripts branch on them."""

    OK = 0
    FAILED = 1  # the run (or a task) failed; a retry may succeed
    BAD_INPUT = 2  # the user's input or question is wrong; a retry cannot help
    CONCURRENT_RUN = 3  # another run holds the same SQLite store
    METADATA_UNAVAILABLE = 4  # the MLMD database cannot be reached; a retry may succeed
    METADATA_MISCONFIGURED = 5  # the MLMD database refused (credentials, schema version); no retry helps
    GATE_CLOSED = 6  # the data gate blocked the run (anomalies or drift); a retry cannot fix data
    NO_DATA = 7  # the span the run asks for has no data folder; a retry cannot create it


# Exit codes a scheduler must not retry: the same input fails the same way. The Airflow
# DAG fails such tasks at once (read from the compiled manifest, see pipeline/runners/airflow.py).
NO_RETRY_EXIT_CODES = (ExitCode.BAD_INPUT, ExitCode.METADATA_MISCONFIGURED, ExitCode.GATE_CLOSED,
                       ExitCode.NO_DATA)


def quiet_libraries(verbose: bool) -> None:
    """TFX and Beam log every step at INFO; keep the terminal for progress unless asked."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.WARNING)
    # Components that run for minutes report rows processed on this logger, shown by default.
    # Own handler: TFX's absl handler on the root logger drops INFO records when not verbose.
    progress = logging.getLogger("pipeline.progress")
    if not progress.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("    %(message)s"))
        progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """--profile/--data/--root: how every command finds a pipeline's outputs and MLMD."""
    parser.add_argument("--profile", default="local", choices=sorted(profiles.PROFILES),
                        help="environment profile (default: local)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with the input CSV files (default: the shipped taxi sample)")
    parser.add_argument("--root", type=Path, default=None,
                        help="where pipeline outputs, MLMD and the serving folder go (default: ./outputs)")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """--train-steps and --drift: the run settings that commands which build a pipeline share."""
    parser.add_argument("--train-steps", type=int, default=None, help="override the training steps")
    parser.add_argument("--drift", choices=("block", "warn", "off"), default=None,
                        help="drift from the last blessed model's data: block the run (the profile's "
                             "default), only warn, or do not check")
    parser.add_argument("--window", type=int, default=None,
                        help="spanned data: train on this many newest spans up to the run's span "
                             "(default: 7)")


def add_span_arguments(parser: argparse.ArgumentParser) -> None:
    """--span/--date: which span of a spanned data folder a run reads (default: the newest)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--span", type=int, default=None,
                       help="read this span (span-N/ folders; default: the newest)")
    which.add_argument("--date", default=None,
                       help="read this day's folder YYYY-MM-DD/ (date layout; default: the newest)")


def selected_span(args: argparse.Namespace) -> int | None:
    """The span ``--span``/``--date`` name (None: the newest); ValueError for a bad date."""
    from pipeline import spans

    return spans.select_span(getattr(args, "span", None), getattr(args, "date", None))


def add_verbose_argument(parser: argparse.ArgumentParser, what: str = "TFX and Beam logs") -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help=f"show {what}")


def build_config(args: argparse.Namespace) -> PipelineConfig:
    """The profile named by ``--profile`` with ``--train-steps`` and ``--drift`` applied."""
    config = profiles.load_profile(args.profile, root=args.root, data=args.data)
    return apply_run_overrides(config, args)


def apply_run_overrides(config: PipelineConfig, args: argparse.Namespace) -> PipelineConfig:
    """``--train-steps``, ``--window`` and ``--drift`` on any profile's config (absent flags: no change)."""
    if getattr(args, "train_steps", None) is not None:
        config = config.with_training(train_steps=args.train_steps)
    if getattr(args, "window", None) is not None:
        config = config.with_training(window_spans=args.window)
    drift = getattr(args, "drift", None)
    if drift == "off":
        config = config.with_drift(enabled=False)
    elif drift:
        config = config.with_drift(action=drift)
    return config


# --- Commands that read an MLMD store (lineage, report) ------------------------------------


def add_store_arguments(parser: argparse.ArgumentParser, json_output: bool = True) -> None:
    """Profile arguments plus --store (a SQLite MLMD file) and --json."""
    add_profile_arguments(parser)
    parser.add_argument("--store", type=Path, default=None,
                        help="read this SQLite MLMD file instead of the profile's store")
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def metadata_of(args: argparse.Namespace) -> MetadataConfig:
    """The metadata settings the command should read: ``--store`` or the profile's."""
    if getattr(args, "store", None) is not None:
        return SqliteMetadata(str(args.store.resolve()))
    return profiles.load_profile(args.profile, root=args.root, data=args.data).metadata


def open_lineage(args: argparse.Namespace):  # noqa: ANN201 - Lineage, imported lazily
    """The lineage reader over the store the command names, opened read-only."""
    from pipeline.lineage.api import Lineage
    from pipeline.metadata import describe
    from pipeline.metadata.read_only import open_read_only

    meta = metadata_of(args)
    return Lineage(open_read_only(meta), where=describe(meta))


def handles_bad_input(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turns the errors a user can cause into one clear line and a non-zero exit.

    Only errors that name the user's mistake (:class:`LineageError`: an unknown run or
    artifact, a bad picture name; :class:`MetadataConfigError`: no store there) count;
    any other exception is a defect and keeps its traceback rather than posing as bad input.
    """

    @functools.wraps(command)
    def wrapper(args: argparse.Namespace) -> int:
        from pipeline.metadata import MetadataConfigError
        from pipeline.metadata.read_only import LineageError

        quiet_libraries(verbose=False)
        try:
            return command(args)
        except (LineageError, MetadataConfigError) as error:
            print(f"error: {error}", file=sys.stderr)
            return ExitCode.BAD_INPUT

    return wrapper


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False, default=str))
