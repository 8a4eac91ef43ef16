"""What the Flink engine costs before it does any work, and whether Beam-on-Flink can be measured here.

The scale benchmark (benchmarks/scale.py) compares engines at 1.5M rows. Flink's column
has two parts:

- the fixed cost of a Flink session cluster on this machine (measured here, for real):
  seconds from ``start`` to a healthy cluster (JobManager, TaskManagers with their slots
  registered, Beam's worker pool listening), the idle resident memory of each process,
  and seconds to stop it;
- the pipeline on Flink (``ours-flink``): our CLI with ``EDGE_BEAM_ENGINE=flink``. It needs
  Beam's Flink job server jar, which this project's package registry does not serve
  (docs/onprem.md), so :func:`flink_pipeline_unavailable` says why it cannot run, and
  :func:`register_with` adds the engine to scale.py only where the jar exists.

    .venv/bin/python benchmarks/flink_engine.py [--taskmanagers 2] [--slots 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import profiles  # noqa: E402
from pipeline.flink import cluster as flink  # noqa: E402


def _rss_mib(pid: int) -> float:
    """Resident memory of one process (``VmRSS``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cluster_overhead(taskmanagers: int = 2, slots: int = 2, settle_seconds: float = 5.0) -> dict[str, Any]:
    """Starts a cluster on free ports in a temporary folder, measures it idle, stops it by PID."""
    with tempfile.TemporaryDirectory(prefix="flink-bench-") as folder:
        cluster = dataclasses.replace(
            flink.LocalFlinkCluster(), state=Path(folder), rest_port=flink.free_port(),
            rpc_port=flink.free_port(), worker_pool_port=flink.free_port(), taskmanagers=taskmanagers,
            slots_per_taskmanager=slots)
        began = time.monotonic()
        flink.start(cluster, timeout=300)
        startup = time.monotonic() - began
        time.sleep(settle_seconds)
        rss = {name: round(_rss_mib(pid), 1) for name, pid in flink.running_pids(cluster).items()}
        began = time.monotonic()
        flink.stop(cluster)
        return {"taskmanagers": taskmanagers, "slots_per_taskmanager": slots,
                "startup_seconds": round(startup, 1), "stop_seconds": round(time.monotonic() - began, 1),
                "idle_rss_mib": rss, "idle_rss_total_mib": round(sum(rss.values()), 1)}


def flink_pipeline_unavailable(env: dict[str, str] | None = None) -> str | None:
    """Why the pipeline cannot run on Flink here (None when it can): the job server jar must exist."""
    try:
        profiles.beam_engine({"EDGE_BEAM_ENGINE": "flink", **(env or {})})
    except profiles.ProfileSettingError as error:
        return str(error)
    return None


def register_with(register: Callable[[str, Callable], None], cli_engine: Callable[..., Callable],
                  env: dict[str, str]) -> str | None:
    """Adds ``ours-flink`` to scale.py's engines (its ``register``/``cli_engine``), if it can run.

    ``env`` holds the onprem profile's settings (MLMD on MySQL, ``EDGE_FLINK_*``) for a
    running cluster; returns the reason instead when the engine cannot run.
    """
    reason = flink_pipeline_unavailable(env)
    if reason is None:
        register("ours-flink", cli_engine("ours-flink", ["--profile", "onprem"],
                                          env={**env, "EDGE_BEAM_ENGINE": "flink"}))
    return reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taskmanagers", type=int, default=2)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    try:
        result = cluster_overhead(args.taskmanagers, args.slots)
    except flink.FlinkClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    result["pipeline_on_flink"] = flink_pipeline_unavailable() or "available"
    print(f"Flink {flink.FLINK_VERSION} session cluster, {result['taskmanagers']} TaskManagers x "
          f"{result['slots_per_taskmanager']} slots")
    print(f"  start to healthy: {result['startup_seconds']} s, stop: {result['stop_seconds']} s")
    for name, mib in result["idle_rss_mib"].items():
        print(f"  idle RSS {name:<14} {mib:8.1f} MiB")
    print(f"  idle RSS total          {result['idle_rss_total_mib']:8.1f} MiB")
    print(f"  pipeline on Flink: {result['pipeline_on_flink']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
