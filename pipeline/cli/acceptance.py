"""``python -m pipeline accept-drift <run> --reason ...``: accept a blocked run's data as the new baseline.

See :mod:`pipeline.metadata.drift_acceptance`. The run may be named by its id, a unique
prefix, or ``latest``; who accepted defaults to the login name.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from pipeline.cli.common import ExitCode, add_profile_arguments, quiet_libraries


def cmd_accept_drift(args: argparse.Namespace) -> int:
    from pipeline import profiles
    from pipeline.metadata import MetadataConfigError, open_store
    from pipeline.metadata.drift_acceptance import AcceptanceError, accept

    quiet_libraries(verbose=False)
    try:
        config = profiles.load_profile(args.profile, root=args.root, data=args.data)
        store = open_store(config.metadata)
        run_id = _resolve_run(store, args.run)
        acceptance = accept(store, config.pipeline_name, config.pipeline_root, run_id,
                            accepted_by=args.by or getpass.getuser(), reason=args.reason)
    except (AcceptanceError, MetadataConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"Drift of run {acceptance.run_id} accepted by {acceptance.accepted_by} "
          f"at {acceptance.accepted_at} (MLMD execution {acceptance.execution_id}): {acceptance.reason}")
    print(f"  new data baseline: {acceptance.baseline_uri}")
    print("  the next run compares its data with this one; rerun the blocked span to train on it")
    return 0


def _resolve_run(store, name: str) -> str:  # noqa: ANN001
    """A run id from 'latest', an id or a unique prefix."""
    from pipeline.metadata import queries

    ids = queries.run_ids(store)
    if name == "latest":
        if not ids:
            raise ValueError("the store has no runs")
        return ids[-1]
    if name in ids:
        return name
    matches = [run for run in ids if run.startswith(name)]
    if len(matches) != 1:
        raise ValueError(f"{'no run' if not matches else 'several runs'} match {name!r}")
    return matches[0]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "accept-drift", help="accept a run blocked for drift: its data becomes the new drift baseline")
    add_profile_arguments(parser)
    parser.add_argument("run", help="the blocked run ('latest', an id or a unique prefix)")
    parser.add_argument("--reason", required=True, help="why the drift is expected (recorded in MLMD)")
    parser.add_argument("--by", default=None, help="who accepts (default: the login name)")
    parser.set_defaults(func=cmd_accept_drift)
