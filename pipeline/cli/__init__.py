"""Command line: ``python -m pipeline <command>``.

One module per command group, each with ``register(subparsers)``: :mod:`.run` (the
local runner), :mod:`.airflow` (``compile``, ``launch-node``), :mod:`.kubeflow`
(``compile-kfp``, ``submit-kfp``, ``run-kfp-local``), :mod:`.lineage` (``runs``,
``trace``, ``diff``, ``lineage-graph``), :mod:`.report`, :mod:`.acceptance`
(``accept-drift``) and :mod:`.flink` (the local Flink cluster). What they share is in
:mod:`.common`. Heavy imports (TensorFlow, TFX) happen inside the commands, so
``--help`` and bad arguments answer instantly.
"""

from __future__ import annotations

import argparse
import importlib

# The registry of command groups, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "pipeline.cli.run",
    "pipeline.cli.airflow",
    "pipeline.cli.kubeflow",
    "pipeline.cli.lineage",
    "pipeline.cli.report",
    "pipeline.cli.acceptance",
    "pipeline.cli.flink",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
