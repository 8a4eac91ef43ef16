"""Reference baseline: the stock TFX 1.16 ``taxi`` template, fully enabled.

Why this exists: the project's own pipeline should be compared against what a
user gets from ``tfx template copy --model=taxi`` on the same machine and the
same data, so that changes in speed or memory can be attributed to our code
rather than to TFX itself.

What :func:`benchmark_template` does:

1. Copies the template with the real CLI
   (``tfx template copy --model=taxi --pipeline_name=... --destination_path=...``),
   which works offline for ``taxi`` (its extra file, ``data.csv``, comes from
   site-packages, not the network).  The copied ``data/`` folder is ignored: the
   runner is pointed at the ``--data`` directory instead.  If the CLI cannot run,
   :func:`copy_template` falls back to copying
   ``tfx/experimental/templates/taxi`` from site-packages and applying the same
   rewrites the CLI applies (``from tfx.experimental.templates.taxi.`` ->
   ``from ``, ``{{PIPELINE_NAME}}`` -> name, ``e2e_tests`` and ``_*`` folders
   skipped); the result records which path was taken (``copy_method``).
2. Patches the copy (:func:`patch_template`) so that every component runs:
   all ``# components.append(...)`` lines are uncommented and the
   ``ExampleValidator`` block, which the template nests in the
   ``ImportSchemaGen`` branch, is moved out of it so it runs with ``SchemaGen``
   (``schema_path`` stays ``None``, as in the template).  ``enable_cache=True``,
   ``TRAIN_NUM_STEPS=1000`` (the template default), and ``local_runner.py``
   gets the data folder, an output root outside the source tree and
   ``beam_pipeline_args=['--runner=DirectRunner', '--direct_num_workers=1']``
   (the template passes no Beam args at all).
3. Runs ``local_runner.py`` twice in a subprocess: fresh (empty output root)
   and again unchanged (cache rerun), recording wall time, peak RSS and
   per-component seconds read back from the MLMD SQLite store.
4. Times a bare ``import tfx.v1`` in a fresh interpreter.

Caveats measured on this machine (TFX 1.16, Beam 2.72):

* Beam: ``--runner=DirectRunner`` is what Beam uses anyway when no runner is
  given, and in 2.7x it is ``SwitchingDirectRunner``, which may first try
  ``PrismRunner`` (downloading the Prism binary) and falls back to the
  in-process runner when that fails.  So the explicit args do not by
  themselves keep Prism out; the copy's ``local_runner.py`` raises the Beam
  direct-runner logger to INFO so each attempt is logged and counted
  (``prism_attempts`` / ``prism_fallbacks``; unequal counts mean some work ran
  on Prism).  Non-empty ``beam_pipeline_args`` also make every TFX Beam
  executor build an ephemeral sdist of the installed ``tfx`` package
  (``tfx.utils.dependency_utils.make_beam_dependency_flags``), several seconds
  each; counted as ``sdist_builds``.  ``beam_args=[]`` reproduces the
  template's own behaviour (no args).
* Bytecode: if ``PYTHONDONTWRITEBYTECODE=1`` is set and site-packages has no
  ``__pycache__``, every subprocess compiles TensorFlow/TFX from source, which
  dominates start-up (tens of seconds per process).  ``pycache_prefix`` points
  ``PYTHONPYCACHEPREFIX`` at a directory outside the venv and pre-compiles
  site-packages into it (:func:`warm_bytecode_cache`), so that runs measure
  TFX rather than the compiler without writing into the venv.

Run as a script::

    TF_USE_LEGACY_KERAS=1 CUDA_VISIBLE_DEVICES="" \\
        .venv/bin/python benchmarks/template_baseline.py --data DIR \\
        [--pycache-prefix /tmp/tmplbench/pycache] [--beam-args none] [--json F]

where ``DIR`` contains ``data.csv``.  From Python::

    from benchmarks.template_baseline import benchmark_template
    result = benchmark_template("path/to/data", pycache_prefix="/tmp/pyc")
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Re-exported: callers of this module used to find the measuring code here.
from benchmarks.measure import (  # noqa: E402
    ExecutionRecord,
    ProcessStats,
    bench_env,
    component_seconds,
    latest_run_executions,
    measure_import_tfx,
    run_measured,
    warm_bytecode_cache,
)

__all__ = [
    "ExecutionRecord",
    "ProcessStats",
    "bench_env",
    "benchmark_template",
    "component_seconds",
    "latest_run_executions",
    "measure_import_tfx",
    "run_measured",
    "warm_bytecode_cache",
]

logger = logging.getLogger(__name__)

TEMPLATE_MODEL = "taxi"
DEFAULT_PIPELINE_NAME = "taxi_baseline"
DEFAULT_BEAM_ARGS: tuple[str, ...] = ("--runner=DirectRunner", "--direct_num_workers=1")
TRAIN_NUM_STEPS = 1000

# Log lines written by apache_beam's SwitchingDirectRunner and by TFX.
_PRISM_TRY = "Running pipeline with PrismRunner"
_PRISM_FALLBACK = "Falling back to DirectRunner"
_SDIST_BUILD = "Creating temporary sdist package"


# --------------------------------------------------------------------------
# Template copy and patch
# --------------------------------------------------------------------------


def _venv_bin() -> Path:
    """The directory of the running interpreter, where the ``tfx`` script lives."""
    return Path(sys.executable).parent


def _copy_template_fallback(dest: Path, pipeline_name: str) -> None:
    """Replicate ``tfx template copy`` (tfx/tools/cli/handler/template_handler.py)."""
    tfx_dir = Path(sysconfig.get_paths()["purelib"]) / "tfx"
    src = tfx_dir / "experimental" / "templates" / TEMPLATE_MODEL
    name = pipeline_name
    for ch in ("\\", "'", '"', "/"):
        name = name.replace(ch, "\\" + ch)
    import_re = re.compile(r"from tfx\.experimental\.templates\.[^\.]+\.")
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] == "e2e_tests" or any(p.startswith("_") for p in rel.parts[:-1]):
            continue
        if path.is_dir() or path.suffix == ".pyc":
            continue
        text = import_re.sub("from ", path.read_text())
        text = text.replace("{{PIPELINE_NAME}}", name)
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    data_src = tfx_dir / "examples" / "chicago_taxi_pipeline" / "data" / "simple"
    (dest / "data").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_src / "data.csv", dest / "data" / "data.csv")


def copy_template(
    dest: Path,
    pipeline_name: str = DEFAULT_PIPELINE_NAME,
    env: dict[str, str] | None = None,
) -> str:
    """Copy the taxi template to ``dest``; return ``"cli"`` or ``"fallback"``.

    The real CLI is preferred because it is what users run, so the baseline
    includes any rewrite it does; the fallback keeps the benchmark usable if the
    CLI is broken (e.g. a click/kfp import problem).
    """
    tfx_cli = _venv_bin() / "tfx"
    cmd = [
        str(tfx_cli),
        "template",
        "copy",
        f"--model={TEMPLATE_MODEL}",
        f"--pipeline_name={pipeline_name}",
        f"--destination_path={dest}",
    ]
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            env=env or bench_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode == 0 and (dest / "local_runner.py").is_file():
            logger.info("template copied with the tfx CLI to %s", dest)
            return "cli"
        logger.warning("tfx template copy failed (rc=%s): %s", proc.returncode, proc.stderr[-2000:])
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("tfx CLI unusable (%s); using the fallback copy", exc)
    shutil.rmtree(dest, ignore_errors=True)
    _copy_template_fallback(dest, pipeline_name)
    return "fallback"


def _replace_once(text: str, old: str, new: str, where: str) -> str:
    """Replace exactly one occurrence; fail loudly if the template has changed.

    A silently skipped patch would produce a baseline with components missing,
    which looks like a fast pipeline rather than an error.
    """
    count = text.count(old)
    if count != 1:
        raise RuntimeError(f"{where}: expected 1 occurrence of {old!r}, found {count}")
    return text.replace(old, new)


def _patch_pipeline_py(text: str) -> str:
    """Enable every component, ExampleValidator included, and the cache."""
    # ExampleValidator sits inside the ImportSchemaGen `else:` branch, so it is
    # never built when SchemaGen is used; dedent its block to function level.
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if "# Performs anomaly detection" in ln)
    end = next(i for i in range(start, len(lines)) if "components.append(example_validator)" in lines[i])
    if not lines[start].startswith("    # "):
        raise RuntimeError("pipeline.py: ExampleValidator block not where expected")
    for i in range(start, end + 1):
        lines[i] = lines[i].removeprefix("  ")
    text = "".join(lines)

    text, n = re.subn(r"^(\s*)# (components\.append\(\w+\))", r"\1\2", text, flags=re.MULTILINE)
    # StatisticsGen, SchemaGen, ImportSchemaGen, ExampleValidator, Transform,
    # Trainer, Resolver, Evaluator, Pusher.
    if n != 9:
        raise RuntimeError(f"pipeline.py: expected 9 commented appends, found {n}")
    return _replace_once(text, "# enable_cache=True,", "enable_cache=True,", "pipeline.py")


def _patch_configs_py(text: str) -> str:
    """Pin TRAIN_NUM_STEPS so the baseline does not drift with the template."""
    text, n = re.subn(
        r"^TRAIN_NUM_STEPS = \d+$",
        f"TRAIN_NUM_STEPS = {TRAIN_NUM_STEPS}",
        text,
        flags=re.MULTILINE,
    )
    if n != 1:
        raise RuntimeError("configs.py: TRAIN_NUM_STEPS not found")
    return text


def _patch_local_runner_py(text: str, data_dir: Path, output_root: Path, beam_args: list[str]) -> str:
    """Point the runner at our data and output root, pin Beam, log Prism tries."""
    text = _replace_once(
        text,
        "OUTPUT_DIR = '.'",
        f"OUTPUT_DIR = {str(output_root)!r}",
        "local_runner.py",
    )
    text, n = re.subn(
        r"^DATA_PATH = .*$",
        lambda _m: f"DATA_PATH = {str(data_dir)!r}",
        text,
        flags=re.MULTILINE,
    )
    if n != 1:
        raise RuntimeError("local_runner.py: DATA_PATH not found")
    text = _replace_once(
        text,
        "          metadata_connection_config=",
        f"          beam_pipeline_args={beam_args!r},\n          metadata_connection_config=",
        "local_runner.py",
    )
    # Beam logs its Prism attempt/fallback at INFO, below the default level.
    return _replace_once(
        text,
        "  logging.set_verbosity(logging.INFO)\n",
        "  logging.set_verbosity(logging.INFO)\n"
        "  import logging as std_logging  # added by template_baseline\n"
        "  std_logging.getLogger('apache_beam.runners.direct.direct_runner')"
        ".setLevel(std_logging.INFO)\n",
        "local_runner.py",
    )


def patch_template(
    project_dir: Path,
    data_dir: Path,
    output_root: Path,
    beam_args: list[str] | None = None,
) -> None:
    """Apply the baseline settings (see module docstring) to a template copy."""
    beam_args = list(DEFAULT_BEAM_ARGS if beam_args is None else beam_args)
    edits = {
        project_dir / "pipeline" / "pipeline.py": _patch_pipeline_py,
        project_dir / "pipeline" / "configs.py": _patch_configs_py,
        project_dir / "local_runner.py": lambda t: _patch_local_runner_py(
            t, data_dir.resolve(), output_root.resolve(), beam_args
        ),
    }
    for path, edit in edits.items():
        path.write_text(edit(path.read_text()))
    logger.info("patched template in %s (beam args %s)", project_dir, beam_args)


def _count_log_markers(log_path: Path) -> dict[str, int]:
    """Count Prism attempts/fallbacks and TFX sdist builds in a run's log."""
    text = log_path.read_text(errors="replace")
    return {
        "prism_attempts": text.count(_PRISM_TRY),
        "prism_fallbacks": text.count(_PRISM_FALLBACK),
        "sdist_builds": text.count(_SDIST_BUILD),
    }


def run_template_pipeline(
    project_dir: Path,
    output_root: Path,
    label: str,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run the patched template once and collect process and MLMD figures."""
    log_path = output_root / f"run_{label}.log"
    stats = run_measured(
        [sys.executable, "local_runner.py"],
        project_dir,
        log_path,
        env or bench_env(),
    )
    if stats.returncode != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{label} run failed (rc={stats.returncode}), log {log_path}:\n{tail}")
    metadata_db = next(output_root.glob("tfx_metadata/*/metadata.db"))
    executions = latest_run_executions(metadata_db)
    markers = _count_log_markers(log_path)
    if markers["prism_attempts"] != markers["prism_fallbacks"]:
        logger.warning(
            "%s: %d Beam pipeline(s) ran on Prism, not the Python DirectRunner",
            label,
            markers["prism_attempts"] - markers["prism_fallbacks"],
        )
    logger.info("%s run: %.1f s, peak RSS %.0f MiB", label, stats.wall_s, stats.peak_rss_mib)
    return {
        **asdict(stats),
        "components": component_seconds(metadata_db),
        "executions": [asdict(e) for e in executions],
        **markers,
        "log": str(log_path),
        "metadata_db": str(metadata_db),
    }


def benchmark_template(
    data_dir: Path | str,
    work_dir: Path | str | None = None,
    pipeline_name: str = DEFAULT_PIPELINE_NAME,
    beam_args: list[str] | None = None,
    pycache_prefix: Path | str | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Measure the fully enabled taxi template: fresh run, cached rerun, import.

    Args:
      data_dir: directory holding the CSV file(s) for CsvExampleGen.
      work_dir: where to put the template copy and outputs; a new temp dir if
        None.  Must not already contain a previous run's output.
      pipeline_name: pipeline name given to ``tfx template copy``.
      beam_args: Beam args for the pipeline; default DirectRunner, 1 worker;
        ``[]`` for the template's own setting (no args).
      pycache_prefix: if given, subprocesses use bytecode cached there (warmed
        first); otherwise they inherit this environment as is.
      keep: keep the temp dir (always kept when ``work_dir`` is given).

    Returns:
      ``{'fresh': {...}, 'cached': {...}, 'import_tfx_s': float, ...}`` where
      each run has ``wall_s``, ``peak_rss_mib``, ``components`` and more.
      The ``log``/``metadata_db`` paths only survive with ``keep`` or ``work_dir``;
      with ``work_dir``, ``project_dir``/``output_root`` let a caller rerun the copy
      (:func:`run_template_pipeline`), e.g. to interleave cached reruns with ours.
    """
    data_dir = Path(data_dir).resolve()
    if not any(data_dir.glob("*.csv")):
        raise FileNotFoundError(f"no CSV file in {data_dir}")
    owns_dir = work_dir is None
    root = Path(tempfile.mkdtemp(prefix="tmplbench_")) if owns_dir else Path(work_dir)
    project_dir, output_root = root / "template", root / "output"
    if output_root.exists() and any(output_root.iterdir()):
        raise FileExistsError(f"output root {output_root} is not empty")
    output_root.mkdir(parents=True, exist_ok=True)
    env = bench_env(pycache_prefix)
    warm_s = None if pycache_prefix is None else warm_bytecode_cache(pycache_prefix)
    try:
        copy_method = copy_template(project_dir, pipeline_name, env)
        patch_template(project_dir, data_dir, output_root, beam_args)
        result: dict[str, Any] = {
            "fresh": run_template_pipeline(project_dir, output_root, "fresh", env),
            "cached": run_template_pipeline(project_dir, output_root, "cached", env),
        }
        imp = measure_import_tfx(env=env)
        result.update(
            import_tfx_s=imp["import_s"],
            import_tfx_wall_s=imp["wall_s"],
            copy_method=copy_method,
            data_dir=str(data_dir),
            work_dir=str(root),
            project_dir=str(project_dir),
            output_root=str(output_root),
            beam_args=list(DEFAULT_BEAM_ARGS if beam_args is None else beam_args),
            cpu_count=os.cpu_count(),
            load_avg_1m_after=os.getloadavg()[0],
            pycache_prefix=env.get("PYTHONPYCACHEPREFIX"),
            pycache_warm_s=warm_s,
            dont_write_bytecode=env.get("PYTHONDONTWRITEBYTECODE"),
        )
        return result
    finally:
        if owns_dir and not keep:
            shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _format_table(result: dict[str, Any]) -> str:
    """Side-by-side fresh/cached table, one row per component in run order."""
    runs = {label: result[label] for label in ("fresh", "cached")}
    by_node = {label: {e["node"]: e for e in run["executions"]} for label, run in runs.items()}
    nodes = list(dict.fromkeys(e["node"] for e in runs["fresh"]["executions"]))
    nodes += [n for n in by_node["cached"] if n not in nodes]

    def cell(label: str, node: str) -> str:
        ex = by_node[label].get(node)
        return "-" if ex is None else f"{ex['seconds']:7.2f} {ex['state']:<8}"

    width = max(len(n) for n in nodes + ["component"])
    lines = [
        f"{'component':<{width}}  {'fresh (s, state)':<18}  cached (s, state)",
        "-" * (width + 40),
    ]
    lines += [f"{n:<{width}}  {cell('fresh', n):<18}  {cell('cached', n)}" for n in nodes]
    lines.append("-" * (width + 40))
    for key, fmt in (
        ("wall_s", "{:7.2f} s"),
        ("peak_rss_mib", "{:7.0f} MiB"),
        ("tree_rss_sampled_mib", "{:7.0f} MiB"),
        ("prism_attempts", "{:7d}"),
        ("prism_fallbacks", "{:7d}"),
        ("sdist_builds", "{:7d}"),
    ):
        vals = ["n/a" if runs[r][key] is None else fmt.format(runs[r][key]) for r in ("fresh", "cached")]
        lines.append(f"{key:<{width}}  {vals[0]:<18}  {vals[1]}")
    lines.append(
        f"import tfx.v1: {result['import_tfx_s']:.2f} s in-process, "
        f"{result['import_tfx_wall_s']:.2f} s as a process"
    )
    lines.append(
        f"copy: {result['copy_method']}; beam args: {result['beam_args']}; "
        f"cpus: {result['cpu_count']}; load avg after: "
        f"{result['load_avg_1m_after']:.1f}"
    )
    lines.append(
        f"bytecode: pycache prefix {result['pycache_prefix']}, "
        f"PYTHONDONTWRITEBYTECODE={result['dont_write_bytecode']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a table and optionally writes JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="dir with data.csv")
    parser.add_argument("--work-dir", type=Path, help="keep copy and outputs here")
    parser.add_argument("--pipeline-name", default=DEFAULT_PIPELINE_NAME)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument(
        "--pycache-prefix",
        type=Path,
        help="bytecode cache dir outside the venv (warmed before the runs)",
    )
    parser.add_argument(
        "--beam-args",
        help="Beam args, space separated; 'none' for the template's own (no args);"
        f" default: {' '.join(DEFAULT_BEAM_ARGS)}",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    beam_args = None
    if args.beam_args is not None:
        beam_args = [] if args.beam_args == "none" else args.beam_args.split()
    result = benchmark_template(
        args.data,
        args.work_dir,
        args.pipeline_name,
        beam_args=beam_args,
        pycache_prefix=args.pycache_prefix,
        keep=args.keep,
    )
    print(_format_table(result))
    if args.work_dir or args.keep:
        print(f"outputs kept in {result['work_dir']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
