"""Airflow DAG parse time: our manifest-based DAG vs. a DAG built by TFX's AirflowDagRunner.

Both DAGs are for the same pipeline (``create_pipeline`` with the ``onprem`` profile),
measured side by side in one run, each repetition in a fresh interpreter:

- cold: the DagBag's own parse duration for the file in a fresh interpreter that has
  imported only ``airflow`` and ``DagBag`` (so it includes the modules the file pulls in:
  Airflow's operators, jsonschema for params; for the TFX DAG also TensorFlow and TFX);
- warm: the same file parsed again in that process, as the scheduler's DAG processor
  re-parses it with those modules already imported (Airflow's parsing_pre_import_modules).

Usage: ``.venv/bin/python benchmarks/airflow_dag_parse.py [--repeat 3]``. It compiles the
pipeline first (into a temporary folder); nothing touches a database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
AIRFLOW3_PYTHON = REPO / ".tools" / "airflow3" / "bin" / "python"

TFX_DAG = textwrap.dedent('''
    """The same pipeline through TFX's own (legacy-launcher) AirflowDagRunner."""
    import datetime
    from pathlib import Path

    from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner, AirflowPipelineConfig

    from pipeline import profiles
    from pipeline.pipeline import create_pipeline

    config = profiles.onprem()
    DAG = AirflowDagRunner(AirflowPipelineConfig(airflow_dag_config={
        "schedule": "@daily", "start_date": datetime.datetime(2024, 1, 1), "catchup": False,
    })).run(create_pipeline(config))
''')

MEASURE = textwrap.dedent('''
    import inspect, json, sys, time
    started = time.perf_counter()
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2
    imported = time.perf_counter() - started
    accepted = inspect.signature(DagBag).parameters
    options = {"include_examples": False} if "include_examples" in accepted else {}
    def parse():
        bag = DagBag(dag_folder=sys.argv[1], **options)
        assert not bag.import_errors, bag.import_errors
        assert len(bag.dags) == 1, bag.dags
        [stat] = bag.dagbag_stats
        return stat.duration.total_seconds(), len(next(iter(bag.dags.values())).tasks)
    cold, tasks = parse()
    warm, _ = parse()
    heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("tensorflow", "tfx")})
    print(json.dumps({"airflow_import": imported, "cold": cold, "warm": warm, "tasks": tasks,
                      "heavy": heavy, "total": time.perf_counter() - started}))
''')


def measure(folder: Path, env: dict[str, str], python: Path = PYTHON) -> dict:
    done = subprocess.run([str(python), "-c", MEASURE, str(folder)], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="fresh interpreters per DAG (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag_parse_") as folder:
        return benchmark(Path(folder), args.repeat)


def benchmark(work: Path, repeat: int) -> int:
    """Compiles into ``work``, writes both DAG folders, parses them ``repeat`` times each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(work / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "EDGE_PIPELINE_ROOT": str(work / "root"), "EDGE_AIRFLOW_MANIFEST": str(work / "c" / "taxi-edge.json"),
        # AirflowDagRunner's DAG holds the MLMD connection, password included, at parse time.
        "MLMD_MYSQL_PASSWORD": "benchmark-only", "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # Airflow gives up on a DAG file after 30 s by default; TFX's DAG can take longer on a
        # loaded machine (it then shows as an import error), so allow it to finish here.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "900",
    })
    started = time.perf_counter()
    subprocess.run([str(PYTHON), "-m", "pipeline", "compile", "--profile", "onprem",
                    "--out", env["EDGE_AIRFLOW_MANIFEST"]], env=env, cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"compile (deployment step, once): {time.perf_counter() - started:.1f} s")

    ours, tfx = work / "dags_ours", work / "dags_tfx"
    ours.mkdir()
    tfx.mkdir()
    (ours / "taxi_edge.py").write_text((REPO / "dags" / "taxi_edge.py").read_text())
    (tfx / "taxi_tfx.py").write_text(TFX_DAG)

    # Interleaved, so machine load affects every DAG alike. TFX's runner cannot run under
    # Airflow 3 (TFX 1.16 cannot be installed next to it), so it is measured under 2.10 only.
    runs = {"ours, Airflow 2.10": (ours, PYTHON), "TFX AirflowDagRunner, 2.10": (tfx, PYTHON)}
    if AIRFLOW3_PYTHON.exists():
        runs["ours, Airflow 3 (own env)"] = (ours, AIRFLOW3_PYTHON)
    results: dict[str, list[dict]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, (folder, python) in runs.items():
            results[name].append(measure(folder, env, python))

    print(f"\nDAG parse time, {repeat} fresh interpreters each (median [min-max], seconds)")
    print(f"{'DAG':<28} {'tasks':>5} {'cold parse':>22} {'warm re-parse':>22}  imports TF/TFX")
    for name, runs in results.items():
        def cell(key: str, runs: list[dict] = runs) -> str:
            values = [r[key] for r in runs]
            return f"{statistics.median(values):7.3f} [{min(values):.3f}-{max(values):.3f}]"
        print(f"{name:<28} {runs[0]['tasks']:>5} {cell('cold'):>22} {cell('warm'):>22}  "
              f"{', '.join(runs[0]['heavy']) or 'no'}")
    print("(Airflow's default dagbag_import_timeout is 30 s: a cold parse above it is an import error)")
    for name, runs in results.items():
        print(f"({name}: importing airflow + DagBag itself, before any DAG file: "
              f"{statistics.median(r['airflow_import'] for r in runs):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
