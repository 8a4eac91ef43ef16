"""``python -m pipeline runs | trace | diff | lineage-graph``: lineage from the command line.

Every command reads the MLMD store of a profile (``--profile/--root``) or a SQLite file
given with ``--store``, prints text tables or ``--json``, and answers a bad question
(unknown run or artifact, missing or empty store) with one line on stderr and exit
code 2, never a stack trace.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from pipeline.cli.common import add_store_arguments, handles_bad_input, open_lineage, print_json


@handles_bad_input
def cmd_runs(args: argparse.Namespace) -> int:
    from pipeline.lineage import text

    lineage = open_lineage(args)
    if args.run:
        run = lineage.run(args.run)
        print_json(_run_dict(run)) if args.json else print(text.format_run(run))
        return 0
    runs = lineage.runs()
    print_json([_run_dict(r) for r in runs]) if args.json else print(text.format_runs(runs))
    return 0


def _run_dict(run) -> dict[str, Any]:  # noqa: ANN001
    return {**dataclasses.asdict(run), "ran": run.ran, "cached": run.cached}


@handles_bad_input
def cmd_trace(args: argparse.Namespace) -> int:
    from pipeline.lineage import graph, text

    lineage = open_lineage(args)
    trace = lineage.trace(args.target)
    if args.graph:
        graph.write(graph.trace_graph(lineage, trace), str(args.graph),
                    title=f"lineage of artifact #{trace.target.id} ({trace.target.type})")
    if args.json:
        print_json(dataclasses.asdict(trace))
    else:
        print(text.format_trace(trace))
        if args.graph:
            print(f"\nlineage picture: {args.graph}")
    return 0


@handles_bad_input
def cmd_diff(args: argparse.Namespace) -> int:
    from pipeline.lineage import text

    lineage = open_lineage(args)
    diff = lineage.diff(args.run_a, args.run_b)
    if args.json:
        print_json({"run_a": diff.run_a, "run_b": diff.run_b,
                    "rows": [{**dataclasses.asdict(r), "changed": r.changed} for r in diff.rows
                             if args.all or r.changed]})
    else:
        print(text.format_diff(diff, show_all=args.all))
    return 0


@handles_bad_input
def cmd_lineage_graph(args: argparse.Namespace) -> int:
    from pipeline.lineage import graph

    lineage = open_lineage(args)
    if args.artifact:
        trace = lineage.trace(args.artifact)
        picture = graph.trace_graph(lineage, trace)
        title = f"lineage of artifact #{trace.target.id} ({trace.target.type})"
    else:
        run_id = lineage.resolve_run(args.run)
        picture, title = graph.run_graph(lineage, run_id), f"run {run_id}"
    print(graph.write(picture, str(args.output), title=title))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    runs = subparsers.add_parser("runs", help="list pipeline runs (status, timing, ran / cached)")
    add_store_arguments(runs)
    runs.add_argument("run", nargs="?", help="show one run's components ('latest', an id or a prefix)")
    runs.set_defaults(func=cmd_runs)

    trace = subparsers.add_parser(
        "trace", help="where an artifact came from: data, schema, statistics, transform, trainer, "
                      "evaluation, push")
    add_store_arguments(trace)
    trace.add_argument("target", help="an artifact id, a pushed model folder, a .tflite file or any "
                                      "path inside an artifact")
    trace.add_argument("--graph", type=Path, default=None, help="also draw the lineage (.svg or .png)")
    trace.set_defaults(func=cmd_trace)

    diff = subparsers.add_parser("diff", help="compare two runs: data, schema, hyperparameters, metrics")
    add_store_arguments(diff)
    diff.add_argument("run_a", help="first run ('latest', an id or a unique prefix)")
    diff.add_argument("run_b", help="second run")
    diff.add_argument("--all", action="store_true", help="show the facts that did not change too")
    diff.set_defaults(func=cmd_diff)

    picture = subparsers.add_parser("lineage-graph", help="draw a run's or an artifact's lineage (SVG/PNG)")
    add_store_arguments(picture, json_output=False)
    which = picture.add_mutually_exclusive_group()
    which.add_argument("--run", default="latest", help="the run to draw (default: latest)")
    which.add_argument("--artifact", default=None, help="draw the trace of this artifact id or path")
    picture.add_argument("--output", "-o", type=Path, required=True, help="picture file: .svg or .png")
    picture.set_defaults(func=cmd_lineage_graph)
