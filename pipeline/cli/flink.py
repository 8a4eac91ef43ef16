"""``python -m pipeline flink up|down|status``: the local Flink cluster (``make flink-up``/``flink-down``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path


def cmd_flink(args: argparse.Namespace) -> int:
    from pipeline.flink import cluster as flink

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cluster = dataclasses.replace(
        flink.LocalFlinkCluster(), home=args.home.resolve(), state=args.state.resolve(),
        rest_port=args.rest_port, rpc_port=args.rpc_port, worker_pool_port=args.worker_pool_port,
        taskmanagers=args.taskmanagers, slots_per_taskmanager=args.slots)
    try:
        if args.action == "up":
            overview = flink.start(cluster)
            print(f"Flink {overview.get('flink-version')} up: {overview['taskmanagers']} TaskManagers, "
                  f"{overview['slots-total']} slots, REST {cluster.rest_url}, "
                  f"worker pool {cluster.worker_pool}, logs {cluster.log_dir}")
        elif args.action == "down":
            stopped = flink.stop(cluster)
            print(f"stopped: {', '.join(stopped)}" if stopped
                  else f"no Flink cluster running from {cluster.state}")
        else:
            print(json.dumps({"processes": flink.running_pids(cluster), **flink.health(cluster)}, indent=2))
    except flink.FlinkClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.flink.cluster import LocalFlinkCluster  # standard library only: --help stays instant

    defaults = LocalFlinkCluster()
    parser = subparsers.add_parser("flink", help="start, stop or inspect the local Flink session cluster")
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--state", type=Path, default=defaults.state, help="conf/, log/ and pids/ go here")
    parser.add_argument("--home", type=Path, default=defaults.home, help="where `make flink-setup` put lib/")
    parser.add_argument("--rest-port", type=int, default=defaults.rest_port)
    parser.add_argument("--rpc-port", type=int, default=defaults.rpc_port)
    parser.add_argument("--worker-pool-port", type=int, default=defaults.worker_pool_port)
    parser.add_argument("--taskmanagers", type=int, default=defaults.taskmanagers)
    parser.add_argument("--slots", type=int, default=defaults.slots_per_taskmanager,
                        help="task slots per TaskManager")
    parser.set_defaults(func=cmd_flink)
