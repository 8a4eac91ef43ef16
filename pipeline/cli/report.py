"""``python -m pipeline report [RUN]``: write the HTML report of any past run."""

from __future__ import annotations

import argparse

from pipeline import profiles
from pipeline.cli.common import add_store_arguments, handles_bad_input, open_lineage


@handles_bad_input
def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report.build import report_folder, write_report

    lineage = open_lineage(args)
    folder = None
    if args.output is None:
        folder = (str(args.store.resolve().parent / "reports") if args.store is not None else
                  report_folder(profiles.load_profile(args.profile, root=args.root, data=args.data)))
    path = write_report(lineage, args.run, folder=folder, path=str(args.output) if args.output else None)
    print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help="write the HTML report of a run (default: the latest)")
    add_store_arguments(report, json_output=False)
    report.add_argument("run", nargs="?", default="latest", help="'latest', a run id or a unique prefix")
    report.add_argument("--output", "-o", default=None,
                        help="the HTML file to write, a path or a URI such as gs://... "
                             "(default: the profile's report folder)")
    report.set_defaults(func=cmd_report)
