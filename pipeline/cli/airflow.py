"""``python -m pipeline compile`` and ``python -m pipeline launch-node``: the scheduler side.

``compile`` is a deployment step (it imports TFX); ``launch-node`` is what each Airflow
task runs, in the pipeline's own environment. See :mod:`pipeline.runners.airflow`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from pipeline.cli.common import (
    NO_RETRY_EXIT_CODES,
    ExitCode,
    add_profile_arguments,
    add_span_arguments,
    add_training_arguments,
    add_verbose_argument,
    build_config,
    quiet_libraries,
    selected_span,
)
from pipeline.config import REPO_ROOT

log = logging.getLogger("pipeline")

DEFAULT_MANIFEST = REPO_ROOT / "build" / "airflow" / "taxi-edge.json"


def cmd_compile(args: argparse.Namespace) -> int:
    """Compiles the profile's pipeline to an IR file and the manifest the DAG reads."""
    from pipeline.runners import airflow as airflow_runner

    quiet_libraries(args.verbose)
    config = build_config(args)
    if args.schedule is not None:
        schedule = None if args.schedule.lower() == "none" else args.schedule
        config = config.with_overrides(airflow=dataclasses.replace(config.airflow, schedule=schedule))
    manifest = airflow_runner.compile_to(config, args.out, python=args.python)
    nodes = ", ".join(node["id"] for node in manifest.data["nodes"])
    print(f"Compiled {config.pipeline_name} ({config.profile}) to {manifest.path} and {manifest.ir_path}")
    print(f"  nodes: {nodes}")
    print(f"  schedule: {config.airflow.schedule}, retries: {config.airflow.retries} "
          f"(none for exit codes {', '.join(str(int(c)) for c in NO_RETRY_EXIT_CODES)})")
    if getattr(config.data, "spanned", False):
        print(f"  data: {config.data.path}, one {config.data.layout} folder per run "
              f"(the run's logical date), window {config.training.window_spans} spans")
    return ExitCode.OK


def cmd_launch_node(args: argparse.Namespace) -> int:
    """Launches one node of one pipeline run; exit code 1 if it fails (NO_RETRY_EXIT_CODES: do not retry).

    A closed data gate (:data:`ExitCode.GATE_CLOSED`), a span without data
    (:data:`ExitCode.NO_DATA`), bad input and a misconfigured database are failures a
    retry cannot fix (:data:`NO_RETRY_EXIT_CODES`); the DAG fails them at once.
    """
    from pipeline.components.data_gate.policy import DataGateClosed
    from pipeline.runners import airflow as airflow_runner
    from pipeline.spans import SpanNotFound

    quiet_libraries(verbose=True)
    manifest = airflow_runner.read_manifest(args.manifest)
    log.info("launching %s of run %s (%s)", args.node, args.run_id, manifest.path)
    from pipeline.metadata import MetadataMisconfigured, MetadataUnavailable
    from pipeline.metadata.lock import ConcurrentRunError

    try:
        span = selected_span(args)
        result = airflow_runner.launch(manifest, args.run_id, args.node, enable_cache=not args.no_cache,
                                       span=span)
    except MetadataUnavailable as error:
        print(f"error: {args.node}: {error}", file=sys.stderr)
        return ExitCode.FAILED  # a failed task: the scheduler's retry continues the run
    except ConcurrentRunError as error:
        print(f"error: {args.node}: {error}", file=sys.stderr)
        return ExitCode.CONCURRENT_RUN  # the store stayed busy; a later retry may find it free
    except MetadataMisconfigured as error:
        print(f"error: {args.node}: {error}", file=sys.stderr)
        return ExitCode.METADATA_MISCONFIGURED  # the DAG fails the task without retries
    except SpanNotFound as error:
        print(f"error: {args.node}: {error}; not retried", file=sys.stderr)
        return ExitCode.NO_DATA
    except DataGateClosed as error:
        print(f"error: {args.node}: {error}\nNot retried: accept the drift (python -m pipeline accept-drift "
              f"{args.run_id} --reason ...) or fix the data, then clear the task.", file=sys.stderr)
        return ExitCode.GATE_CLOSED
    except (ValueError, airflow_runner.CompiledPipelineError) as error:
        print(f"error: {args.node}: {error}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"{result.node_id}: {result.state} in {result.seconds:.1f} s "
          f"(execution {result.execution_id}, run {args.run_id})", flush=True)
    if result.state in ("failed", "canceled"):
        print(f"{result.node_id} did not complete", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK


def register(commands: argparse._SubParsersAction) -> None:
    compile_parser = commands.add_parser(
        "compile", help="compile the pipeline for a scheduler (IR file + JSON manifest for dags/)")
    add_profile_arguments(compile_parser)
    compile_parser.add_argument("--out", type=Path, default=DEFAULT_MANIFEST,
                                help=f"manifest path; the IR goes next to it as .pb "
                                     f"(default: {DEFAULT_MANIFEST})")
    add_training_arguments(compile_parser)
    compile_parser.add_argument("--schedule", default=None,
                                help="Airflow schedule (cron or @daily; 'none' for manual runs only)")
    compile_parser.add_argument("--python", default=None,
                                help="interpreter that runs the tasks (default: this one)")
    add_verbose_argument(compile_parser, "TFX logs")
    compile_parser.set_defaults(func=cmd_compile)

    launch = commands.add_parser("launch-node", help="run one node of one pipeline run (an Airflow task)")
    launch.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="compiled manifest")
    launch.add_argument("--run-id", required=True, help="pipeline run id (same for every task of a run)")
    launch.add_argument("--node", required=True, help="node id, e.g. Trainer")
    launch.add_argument("--no-cache", action="store_true", help="run even if a cached result exists")
    add_span_arguments(launch)
    launch.set_defaults(func=cmd_launch_node)
