"""Scale on one machine: our pipeline and the TFX taxi template on N generated rows, side by side.

The shipped sample (15,000 rows) is replicated up to ``--rows`` (1.5 million by default:
100 copies, 192 MB of CSV), then every engine runs once from a fresh root, one after the
other in this one run, so that the ratios hold on a shared, noisy machine. Printed:

- wall time per component (MLMD execution times) and how many cores were busy in it
  (CPU time of the whole process tree over the component's time window);
- the whole run: wall time, peak RSS (sampled sum over the process tree, and the largest
  single process), CPU utilisation, AUC on the eval split;
- ratios of every engine to the template, and the machine's load before and after.

Engines are entries of :data:`ENGINES`: a name and a function ``(data_dir, work_dir) ->
EngineResult``. ``ours`` is our CLI with the local profile, ``template`` the TFX 1.16 taxi
template with every component enabled. Another engine (e.g. our pipeline on Flink) is one
more entry, e.g. ``register(cli_engine("ours-flink", ["--profile", "onprem"], env={...}))``
in a module named with ``--plugin``, or directly in this file.

    .venv/bin/python benchmarks/scale.py [--rows 1500000 [4500000]] [--engines ours template]
        [--train-steps 1000] [--work-dir DIR] [--json FILE] [--plugin MODULE]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import (  # noqa: E402
    ProcessStats,
    bench_env,
    cpu_between,
    latest_run_executions,
    run_measured,
)
from benchmarks.template_baseline import copy_template, patch_template  # noqa: E402
from pipeline.config import DEFAULT_DATA, REPO_ROOT  # noqa: E402
from pipeline.profiles import LOCAL_BEAM_ARGS  # noqa: E402

DEFAULT_ROWS = 1_500_000
TRAIN_STEPS = 1000  # the template's default; ours is given the same

# The template gets the engine of our local profile with one worker (what it gets by default,
# minus the offline Prism download attempt): FnApiRunner in-process.
TEMPLATE_BEAM_ARGS = [arg for arg in LOCAL_BEAM_ARGS if not arg.startswith("--direct_num_workers")]

# Components that do their work in Beam: both cores should be busy there.
BEAM_HEAVY = ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator")


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def generate_rows(rows: int, dest_dir: Path, sample: Path = DEFAULT_DATA / "data.csv") -> Path:
    """Write ``rows`` data rows to ``dest_dir/data.csv``: the sample's rows, repeated in order.

    Streams line by line (memory does not depend on ``rows``); reuses a file that already
    holds exactly ``rows`` rows, since regenerating 500 MB costs a minute for nothing.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / "data.csv"
    marker = dest_dir.parent / f"{dest_dir.name}.rows"  # not inside: ExampleGen reads every file there
    if dest.is_file() and marker.is_file() and marker.read_text().strip() == str(rows):
        return dest
    with sample.open("rb") as f:
        header = f.readline()
        body = f.readlines()
    if any(line.count(b'"') % 2 for line in body):
        raise ValueError(f"{sample}: a quoted field spans lines; cannot replicate line by line")
    written = 0
    with dest.open("wb") as out:
        out.write(header)
        while written < rows:
            chunk = body[: rows - written]
            out.writelines(chunk)
            written += len(chunk)
    marker.write_text(str(rows))
    return dest


# --------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------


@dataclass
class EngineResult:
    """One engine's fresh run: process figures, per-component figures, model quality."""

    engine: str
    wall_s: float
    peak_rss_mib: float  # largest single process (kernel high-water mark)
    tree_rss_mib: float  # sampled sum over the whole process tree
    cpu_utilisation: float  # share of all cores over the whole run
    components: dict[str, dict[str, float]] = field(default_factory=dict)  # node -> seconds, cores
    auc: float | None = None
    binary_accuracy: float | None = None  # the template's Evaluator computes no AUC
    log: str = ""


Engine = Callable[[Path, Path], EngineResult]
ENGINES: dict[str, Engine] = {}


def register(name: str, engine: Engine) -> None:
    """Adds (or replaces) an engine column; ``--engines`` picks among the registered names."""
    ENGINES[name] = engine


def _result(engine: str, stats: ProcessStats, metadata_db: Path, log: Path) -> EngineResult:
    components: dict[str, dict[str, float]] = {}
    for rec in latest_run_executions(metadata_db):
        window = cpu_between(stats.samples, rec.started, rec.finished)
        components[rec.node] = {"seconds": rec.seconds, "cores": window["cores"],
                                "peak_rss_mib": window["peak_rss_mib"], "state": rec.state}
    return EngineResult(
        engine=engine,
        wall_s=stats.wall_s,
        peak_rss_mib=stats.peak_rss_mib,
        tree_rss_mib=stats.tree_rss_sampled_mib or 0.0,
        cpu_utilisation=stats.cpu_utilisation,
        components=components,
        **evaluation_metrics(metadata_db),
        log=str(log),
    )


def evaluation_metrics(metadata_db: Path) -> dict[str, float | None]:
    """Overall AUC and binary accuracy from the newest Evaluator output in an MLMD SQLite store.

    Read in a subprocess (TFMA is slow to import, and the benchmark stays light).
    """
    with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT a.uri FROM Artifact a JOIN Type t ON a.type_id = t.id "
            "WHERE t.name = 'ModelEvaluation' ORDER BY a.id DESC LIMIT 1"
        ).fetchone()
    missing: dict[str, float | None] = {"auc": None, "binary_accuracy": None}
    if row is None:
        return missing
    code = ("import json, sys; from pipeline.metadata.facts import evaluation_metrics; "
            "print(json.dumps(evaluation_metrics(sys.argv[1]).get('overall', {})))")
    out = subprocess.run([sys.executable, "-c", code, row[0]], cwd=REPO_ROOT, env=bench_env(),
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return missing
    overall = json.loads(out.stdout.strip().splitlines()[-1])
    return {key: overall.get(key) for key in missing}


def cli_engine(name: str, extra_args: list[str] | None = None, env: dict[str, str] | None = None,
               train_steps: int = TRAIN_STEPS) -> Engine:
    """An engine that runs our CLI (``python -m pipeline run``) from a fresh root.

    ``extra_args`` choose the profile and anything else (``--profile onprem``); ``env`` is
    added to the benchmark environment (profile settings such as ``EDGE_BEAM_MODE``). The
    MLMD store is read from ``<root>/metadata.sqlite`` (the local profile's place); an
    engine whose profile keeps MLMD elsewhere passes ``MLMD_SQLITE`` in ``env`` to say where.
    """
    def run(data_dir: Path, work_dir: Path) -> EngineResult:
        root = work_dir / name
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        cmd = [sys.executable, "-m", "pipeline", "run", "--data", str(data_dir), "--root", str(root),
               "--train-steps", str(train_steps), *(extra_args or [])]
        log = work_dir / f"{name}.log"
        child_env = {**bench_env(), **(env or {})}
        stats = run_measured(cmd, REPO_ROOT, log, child_env)
        if stats.returncode != 0:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"{name} failed (rc {stats.returncode}); log {log}:\n{tail}")
        metadata_db = Path(child_env.get("MLMD_SQLITE", root / "metadata.sqlite"))
        return _result(name, stats, metadata_db, log)

    return run


def template_engine(data_dir: Path, work_dir: Path) -> EngineResult:
    """The TFX 1.16 taxi template, every component enabled, fresh output root."""
    root = work_dir / "template"
    if root.exists():
        shutil.rmtree(root)
    project, output = root / "project", root / "output"
    output.mkdir(parents=True)
    env = bench_env()
    copy_template(project, env=env)
    patch_template(project, data_dir, output, TEMPLATE_BEAM_ARGS)
    log = work_dir / "template.log"
    stats = run_measured([sys.executable, "local_runner.py"], project, log, env)
    if stats.returncode != 0:
        raise RuntimeError(f"template failed (rc {stats.returncode}); log {log}:\n{log.read_text()[-3000:]}")
    metadata_db = next(output.glob("tfx_metadata/*/metadata.db"))
    return _result("template", stats, metadata_db, log)


register("ours", cli_engine("ours"))
register("template", template_engine)
# Our pipeline with EDGE_BEAM_MODE set (pipeline/profiles.py; "ours" is in_memory): how the
# per-component choice between one process and a worker process per core was measured.
register("ours-in-memory", cli_engine("ours-in-memory", env={"EDGE_BEAM_MODE": "in_memory"}))
register("ours-multi-processing", cli_engine("ours-multi-processing",
                                             env={"EDGE_BEAM_MODE": "multi_processing"}))
DEFAULT_ENGINES = ("ours", "template")


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

# Node ids that do the same job under different names in the two pipelines.
_ALIASES = {"ImportSchemaGen": "SchemaGen"}


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def format_table(rows: int, results: list[EngineResult], reference: str = "template") -> str:
    """Per-component seconds, busy cores and peak RSS of the process tree, then totals, with
    ratios to ``reference``."""
    names = [r.engine for r in results]
    by_name = {r.engine: r for r in results}
    nodes: list[str] = []
    for r in results:
        nodes += [n for n in r.components if _ALIASES.get(n, n) not in [_ALIASES.get(m, m) for m in nodes]]

    def comp(r: EngineResult, node: str) -> dict[str, float] | None:
        key = _ALIASES.get(node, node)
        return next((v for n, v in r.components.items() if _ALIASES.get(n, n) == key), None)

    width = max(len(n) for n in [*nodes, "component"]) + 2
    col = {n: max(12, len(n) + 4) for n in names}
    head = f"{'component':<{width}}" + "".join(f"{n + ' s':>{col[n]}}{'cores':>7}{'MiB':>7}" for n in names)
    ref = by_name.get(reference)
    if ref:
        head += "".join(f"{n + '/' + reference:>18}" for n in names if n != reference)
    lines = [f"{rows:,} rows", head, "-" * len(head)]
    for node in nodes:
        line = f"{node:<{width}}"
        for r in results:
            c = comp(r, node)
            w = col[r.engine]
            line += f"{'-':>{w}}{'':>14}" if c is None else (
                f"{c['seconds']:{w}.1f}{c['cores']:7.2f}{c.get('peak_rss_mib', float('nan')):7.0f}")
        if ref:
            for r in results:
                if r.engine == reference:
                    continue
                a, b = comp(r, node), comp(ref, node)
                ratio = f"{a['seconds'] / b['seconds']:.2f}x" if a and b and b["seconds"] > 0 else "-"
                line += f"{ratio:>18}"
        lines.append(line)
    lines.append("-" * len(head))
    totals = (("wall time, s", "wall_s", "{:.1f}"),
              ("peak RSS, process tree, MiB", "tree_rss_mib", "{:.0f}"),
              ("peak RSS, largest process, MiB", "peak_rss_mib", "{:.0f}"),
              ("CPU utilisation (all cores = 100%)", "cpu_utilisation", "{:.0%}"),
              ("AUC (eval split)", "auc", "{:.4f}"),
              ("binary accuracy (eval split)", "binary_accuracy", "{:.4f}"))
    for label, key, fmt in totals:
        line = f"{label:<{max(width, 34)}}"
        for r in results:
            value = getattr(r, key)
            line += f"{'n/a' if value is None else fmt.format(value):>14}"
        if ref and key in ("wall_s", "tree_rss_mib", "peak_rss_mib"):
            for r in results:
                if r.engine != reference and getattr(ref, key):
                    line += f"   {r.engine}/{reference} {getattr(r, key) / getattr(ref, key):.2f}x"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[DEFAULT_ROWS],
                        help="row counts to generate and run (each size runs every engine)")
    parser.add_argument("--engines", nargs="+", default=None,
                        help=f"engine columns (default: {' '.join(DEFAULT_ENGINES)})")
    parser.add_argument("--plugin", action="append", default=[],
                        help="module to import first; it may call benchmarks.scale.register()")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep data and outputs here")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    parser.add_argument("--table", type=Path, nargs="+", default=None,
                        help="print the tables of saved --json reports (one or more, merged) and exit")
    args = parser.parse_args(argv)
    if args.table:
        merged: dict[int, list[EngineResult]] = {}
        for path in args.table:
            saved = json.loads(path.read_text())
            print(f"{path}: machine before {saved['load_before']}; after {saved.get('load_after', '?')}")
            for rows, size in saved["sizes"].items():
                merged.setdefault(int(rows), []).extend(EngineResult(**r) for r in size["results"])
        for rows, results in merged.items():
            print("\n" + format_table(rows, results))
        return 0
    for module in args.plugin:
        importlib.import_module(module)
    engines = args.engines or list(DEFAULT_ENGINES)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; registered: {sorted(ENGINES)}")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="scale_"))
    report: dict[str, Any] = {"load_before": _uptime(), "sizes": {}}
    print(f"machine before: {report['load_before']}", flush=True)
    tables = []
    for rows in args.rows:
        started = time.monotonic()
        data_dir = generate_rows(rows, work / f"data_{rows}")
        print(f"{rows:,} rows: {data_dir} ({data_dir.stat().st_size / 2**20:.0f} MiB)", flush=True)
        results = []
        for name in engines:
            print(f"  {name} ... ({_uptime()})", flush=True)
            result = ENGINES[name](data_dir.parent, work / f"run_{rows}")
            print(f"  {name}: {result.wall_s:.1f} s, peak tree RSS {result.tree_rss_mib:.0f} MiB", flush=True)
            results.append(result)
            report["sizes"][rows] = {"results": [asdict(r) for r in results]}
            if args.json:  # after every engine: a long run that is stopped keeps what it measured
                args.json.write_text(json.dumps(report, indent=2, default=str))
        tables.append(format_table(rows, results))
        report["sizes"][rows] = {"seconds": time.monotonic() - started,
                                 "results": [asdict(r) for r in results]}
        print("\n" + tables[-1] + "\n", flush=True)
    report["load_after"] = _uptime()
    print(f"machine before: {report['load_before']}; after: {report['load_after']}")
    print(f"outputs in {work}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
