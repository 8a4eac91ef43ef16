"""Shared measuring code for the benchmarks: process trees, MLMD timings, bytecode.

Why one module: every benchmark (``template_baseline``, ``pipeline_vs_template``,
``scale``) must measure the same way, or their figures cannot be compared. What is
here:

- :func:`run_measured` runs a command and reports wall time, peak RSS (kernel
  high-water mark and the sampled sum over the live process tree) and CPU time of
  the whole tree, with a time series of samples so that CPU use can be attributed
  to each component's time window (:func:`cpu_between`);
- :func:`latest_run_executions` / :func:`component_seconds` read per-component
  times from an MLMD SQLite store with ``sqlite3`` only;
- :func:`bench_env` / :func:`warm_bytecode_cache`: the environment every measured
  subprocess gets;
- :func:`measure_import_tfx`: the cost of ``import tfx.v1`` in a fresh process;
- :func:`run_interleaved` / :class:`PairedTimes`: two commands timed in alternation,
  compared pair by pair, so that a change in the machine's load hits both sides alike.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# The environment every TFX subprocess gets: Keras 2 (tf-keras) as TFX 1.16
# needs it, and no GPU so runs are comparable across machines.
_BENCH_ENV = {"TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": ""}

# ml_metadata.proto.metadata_store_pb2.Execution.State; duplicated so that
# reading a store needs only sqlite3, not ml_metadata (slow to import).
_EXECUTION_STATES = {
    0: "UNKNOWN",
    1: "NEW",
    2: "RUNNING",
    3: "COMPLETE",
    4: "FAILED",
    5: "CACHED",
    6: "CANCELED",
}



# --------------------------------------------------------------------------
# MLMD
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionRecord:
    """One MLMD execution of the latest pipeline run, as needed to audit a run."""

    execution_id: int
    node: str
    type_name: str
    state: str
    seconds: float
    started: float = 0.0  # epoch seconds (MLMD create time)
    finished: float = 0.0  # epoch seconds (MLMD last update)


def _connect_readonly(mlmd_sqlite_path: Path) -> sqlite3.Connection:
    """Open the store read-only so that auditing can never alter a run's record."""
    path = Path(mlmd_sqlite_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"MLMD store not found: {path}")
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def latest_run_executions(mlmd_sqlite_path: Path | str) -> list[ExecutionRecord]:
    """List the executions of the most recent pipeline run in an MLMD SQLite store.

    The latest run is the newest context of type ``pipeline_run``; each execution
    is named after its context of type ``node`` (``<pipeline>.<node_id>``).
    Seconds are ``last_update_time_since_epoch - create_time_since_epoch``: the
    span from TFX registering the execution to publishing its result, i.e. the
    executor's work plus publishing, but not input resolution before it.
    """
    query = """
        WITH latest_run AS (
            SELECT c.id FROM Context c JOIN Type t ON t.id = c.type_id
            WHERE t.name = 'pipeline_run'
            ORDER BY c.create_time_since_epoch DESC, c.id DESC LIMIT 1
        )
        SELECT e.id, nc.name, et.name, e.last_known_state,
               e.create_time_since_epoch, e.last_update_time_since_epoch
        FROM Execution e
        JOIN Type et ON et.id = e.type_id
        JOIN Association ra ON ra.execution_id = e.id
            AND ra.context_id = (SELECT id FROM latest_run)
        JOIN Association na ON na.execution_id = e.id
        JOIN Context nc ON nc.id = na.context_id
        JOIN Type nt ON nt.id = nc.type_id AND nt.name = 'node'
        ORDER BY e.id
    """
    with _connect_readonly(Path(mlmd_sqlite_path)) as conn:
        rows = conn.execute(query).fetchall()
    return [
        ExecutionRecord(
            execution_id=exec_id,
            node=node_ctx.rsplit(".", 1)[-1],
            type_name=type_name,
            state=_EXECUTION_STATES.get(state, str(state)),
            seconds=max(0.0, (updated_ms - created_ms) / 1000.0),
            started=created_ms / 1000.0,
            finished=updated_ms / 1000.0,
        )
        for exec_id, node_ctx, type_name, state, created_ms, updated_ms in rows
    ]


def component_seconds(mlmd_sqlite_path: Path | str) -> dict[str, float]:
    """Seconds per component in the latest pipeline run, cache hits marked.

    Keys are node ids (``Trainer``, ``latest_blessed_model_resolver``...); a node
    whose execution was served from the cache (MLMD state ``CACHED`` instead of
    ``COMPLETE``) gets the key ``"<node_id> [cached]"``, so a cache hit cannot be
    mistaken for a fast run.  Retries of the same node are summed.  Use
    :func:`latest_run_executions` for the states as data.
    """
    seconds: dict[str, float] = {}
    for rec in latest_run_executions(mlmd_sqlite_path):
        key = f"{rec.node} [cached]" if rec.state == "CACHED" else rec.node
        seconds[key] = seconds.get(key, 0.0) + rec.seconds
    return seconds


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------


def bench_env(pycache_prefix: Path | str | None = None) -> dict[str, str]:
    """Child environment: ours plus the benchmark settings, minus PYTHONPATH.

    PYTHONPATH is dropped so that the project's own ``pipeline``/``models``
    packages can never shadow the template's packages of the same names.
    With ``pycache_prefix``, bytecode is read from and written to that
    directory (never into the venv), overriding ``PYTHONDONTWRITEBYTECODE``.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(_BENCH_ENV)
    if pycache_prefix is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(pycache_prefix).resolve())
    return env


def warm_bytecode_cache(pycache_prefix: Path | str) -> float:
    """Compile site-packages into ``pycache_prefix``; return the seconds taken.

    Done up front so that the fresh run is not charged for compiling modules
    that the cached rerun then gets for free.  Cheap when already warm (only
    timestamps are checked).  Compile errors in stray files are ignored.
    """
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0"] + [sysconfig.get_paths()["purelib"]],
        env=bench_env(pycache_prefix),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.perf_counter() - t0
    logger.info("bytecode cache %s ready in %.1f s", pycache_prefix, seconds)
    return seconds


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------


@dataclass
class ProcessStats:
    """Cost of one subprocess, including all of its descendants.

    ``cpu_s`` is user+system time of the child and every descendant it reaped
    (``wait4``); ``samples`` are ``(epoch seconds, tree CPU seconds, tree RSS
    bytes)`` taken every ``SAMPLE_SECONDS`` while it ran (empty without psutil).
    """

    wall_s: float
    peak_rss_mib: float
    tree_rss_sampled_mib: float | None
    returncode: int
    cpu_s: float = 0.0
    samples: list[tuple[float, float, int]] = field(default_factory=list, repr=False)

    @property
    def cpu_utilisation(self) -> float:
        """Share of all cores busy over the whole run (1.0 = every core, all the time)."""
        return self.cpu_s / (self.wall_s * (os.cpu_count() or 1)) if self.wall_s else 0.0


SAMPLE_SECONDS = 0.2


def _tree_cpu_and_rss(root: object) -> tuple[float, int] | None:
    """CPU seconds and summed RSS of a psutil process and its live descendants.

    A process's own time plus its reaped children's (``children_user/system``),
    so CPU time does not vanish when a Beam worker exits. None once the root is gone.
    """
    import psutil

    try:
        procs = [root, *root.children(recursive=True)]  # type: ignore[attr-defined]
    except psutil.NoSuchProcess:
        return None
    cpu, rss = 0.0, 0
    for proc in procs:
        try:
            times = proc.cpu_times()
            rss += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
        cpu += times.user + times.system + times.children_user + times.children_system
    return cpu, rss


def _poll_tree(pid: int, stop: threading.Event, samples: list[tuple[float, float, int]]) -> None:
    """Sample the summed CPU time and RSS of ``pid`` and its descendants until ``stop``.

    ``wait4`` only yields the largest single process; sampling the sum catches
    the case where work is spread over several processes (e.g. Beam workers),
    and the CPU series says how many cores were busy in each time window.
    """
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.wait(SAMPLE_SECONDS):
        sample = _tree_cpu_and_rss(root)
        if sample is None:
            return
        samples.append((time.time(), *sample))


def cpu_between(samples: list[tuple[float, float, int]], start: float, end: float) -> dict[str, float]:
    """CPU use of a measured tree in the window [start, end] (epoch seconds).

    Returns ``cores`` (average number of busy cores), ``utilisation`` (``cores``
    over the machine's core count) and ``peak_rss_mib`` within the window; zeros
    when the window holds fewer than two samples (a component shorter than the
    sampling interval).
    """
    inside = [s for s in samples if start <= s[0] <= end]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return {"cores": 0.0, "utilisation": 0.0, "peak_rss_mib": 0.0}
    cores = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
    return {
        "cores": cores,
        "utilisation": cores / (os.cpu_count() or 1),
        "peak_rss_mib": max(s[2] for s in inside) / 2**20,
    }


def run_measured(
    cmd: list[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None
) -> ProcessStats:
    """Run ``cmd`` and measure wall time, CPU time and peak RSS of its process tree.

    Peak RSS comes from ``os.wait4`` on the child: the kernel's high-water mark
    of the child and of every descendant it reaped, exact for this run only.
    (``getrusage(RUSAGE_CHILDREN)`` is a max over *all* children ever reaped,
    so its "delta" hides a second run that peaks lower than the first.)
    If psutil is installed the summed RSS and CPU time of the live tree are also
    sampled (``tree_rss_sampled_mib``, ``samples``).
    """
    try:
        import psutil  # noqa: F401

        have_psutil = True
    except ImportError:
        have_psutil = False
    samples: list[tuple[float, float, int]] = []
    stop = threading.Event()
    with log_path.open("w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        poller = None
        if have_psutil:
            poller = threading.Thread(target=_poll_tree, args=(proc.pid, stop, samples), daemon=True)
            poller.start()
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if poller is not None:
        poller.join()
    return ProcessStats(
        wall_s=wall,
        peak_rss_mib=rusage.ru_maxrss / 1024.0,  # Linux reports KiB
        tree_rss_sampled_mib=max((s[2] for s in samples), default=0) / 2**20 if have_psutil else None,
        returncode=proc.returncode,
        cpu_s=rusage.ru_utime + rusage.ru_stime,
        samples=samples,
    )


def measure_import_tfx(repeats: int = 1, env: dict[str, str] | None = None) -> dict[str, float]:
    """Time ``import tfx.v1`` in fresh interpreters (best of ``repeats``).

    ``import_s`` is measured inside the child, so it excludes interpreter
    start-up; ``wall_s`` is the whole ``python -c`` process as a user sees it.
    """
    code = "import time; t = time.perf_counter(); import tfx.v1; print(time.perf_counter() - t)"
    best: dict[str, float] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env or bench_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - t0
        import_s = float(out.stdout.strip().splitlines()[-1])
        if not best or import_s < best["import_s"]:
            best = {"import_s": import_s, "wall_s": wall}
    logger.info("import tfx.v1: %.2f s (process %.2f s)", best["import_s"], best["wall_s"])
    return best


# --------------------------------------------------------------------------
# Paired comparison
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedTimes:
    """Wall times of two commands run in alternation (A, B, A, B, ...), pair by pair.

    Why pairs: on a shared machine the load can move by a factor of two within
    minutes, so a ratio of two medians taken minutes apart measures the load as
    much as the code. Each pair ran back to back, so its ratio compares like with
    like; the median of the ratios is the figure to quote. ``loads`` is the
    1-minute load average before each pair.
    """

    first_s: tuple[float, ...]
    second_s: tuple[float, ...]
    loads: tuple[float, ...]

    @property
    def ratios(self) -> tuple[float, ...]:
        """``first / second`` of each pair."""
        return tuple(a / b for a, b in zip(self.first_s, self.second_s, strict=True))

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def median_first_s(self) -> float:
        return statistics.median(self.first_s)

    @property
    def median_second_s(self) -> float:
        return statistics.median(self.second_s)


def run_interleaved(
    first: Callable[[int], Mapping[str, float]], second: Callable[[int], Mapping[str, float]], pairs: int
) -> dict[str, PairedTimes]:
    """Call ``first(i)`` then ``second(i)`` for ``i`` in ``range(pairs)``; compare them measure by measure.

    Each call runs the measured command once (e.g. with :func:`run_measured`) and returns
    its measures by name, e.g. ``{"wall_s": ..., "cpu_s": ...}``; ``i`` lets it give each
    run its own log. The answer has one :class:`PairedTimes` per measure both sides return.
    CPU seconds are the steadier measure on a loaded machine: wall time there is mostly
    the wait for a core, while CPU time changes little with the load.
    """
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    firsts: list[Mapping[str, float]] = []
    seconds: list[Mapping[str, float]] = []
    loads: list[float] = []
    for i in range(pairs):
        loads.append(os.getloadavg()[0])
        firsts.append(first(i))
        seconds.append(second(i))
        logger.info("pair %d (load %.1f): %s / %s", i + 1, loads[-1], firsts[-1], seconds[-1])
    names = [name for name in firsts[0] if all(name in run for run in (*firsts, *seconds))]
    return {name: PairedTimes(tuple(float(run[name]) for run in firsts),
                              tuple(float(run[name]) for run in seconds), tuple(loads))
            for name in names}
