"""Our local pipeline against the TFX 1.16 taxi template, side by side in one run.

Both run on the same data (the full shipped sample unless ``--data`` says otherwise),
on the same machine, one after the other, each in fresh subprocesses, so the ratios
are meaningful even on a noisy machine. Printed per pipeline:

- fresh run (empty output root): wall time, peak RSS, seconds per component;
- unchanged rerun as a user types it (``python -m pipeline run`` again: our CLI's
  up-to-date check answers without importing TFX);
- unchanged rerun through TFX's cache (``--force``), for comparison with the
  template's cached rerun, which has no such check.

Targets (ROADMAP): fresh no slower than the template; unchanged rerun at most half of
the template's cached rerun, with nothing retrained or re-pushed.

    .venv/bin/python benchmarks/pipeline_vs_template.py [--data DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import bench_env, component_seconds, run_measured  # noqa: E402
from benchmarks.template_baseline import benchmark_template  # noqa: E402
from pipeline.config import DEFAULT_DATA, REPO_ROOT  # noqa: E402
from pipeline.profiles import LOCAL_BEAM_ARGS  # noqa: E402

# The template gets the same Beam engine as our local profile: FnApiRunner (what
# DirectRunner falls back to offline, without first trying to download Prism).
TEMPLATE_BEAM_ARGS = [arg for arg in LOCAL_BEAM_ARGS if not arg.startswith("--direct_num_workers")]


def _models_and_pushes(metadata_db: Path) -> tuple[int, int]:
    """How many Model artifacts and distinct pushed versions MLMD holds."""
    with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True) as db:
        models = db.execute(
            "SELECT COUNT(*) FROM Artifact a JOIN Type t ON a.type_id = t.id WHERE t.name = 'Model'"
        ).fetchone()[0]
        pushes = db.execute(
            "SELECT COUNT(DISTINCT p.string_value) FROM ArtifactProperty p "
            "WHERE p.name = 'pushed_destination'"
        ).fetchone()[0]
    return models, pushes


def run_ours(data: Path, root: Path, label: str, extra: list[str]) -> dict[str, Any]:
    """One CLI run of our pipeline, measured."""
    cmd = [sys.executable, "-m", "pipeline", "run", "--data", str(data), "--root", str(root), *extra]
    log_path = root.parent / f"ours_{label}.log"
    root.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    stats = run_measured(cmd, REPO_ROOT, log_path, bench_env())
    if stats.returncode != 0:
        raise RuntimeError(f"our {label} run failed; log {log_path}:\n{log_path.read_text()[-3000:]}")
    metadata_db = root / "metadata.sqlite"
    models, pushes = _models_and_pushes(metadata_db)
    return {
        "wall_s": stats.wall_s,
        "load_1m_before": load_before,
        "peak_rss_mib": stats.peak_rss_mib,
        "components": component_seconds(metadata_db) if "--force" in extra or label == "fresh" else {},
        "models_in_mlmd": models,
        "pushed_versions": pushes,
        "serving_versions": len(list((root / "serving").glob("[0-9]*"))),
    }


def _row(name: str, ours: float, theirs: float) -> str:
    return f"  {name:<44} {ours:9.1f} {theirs:9.1f} {ours / theirs:7.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    args = parser.parse_args(argv)
    data = args.data.resolve()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench_") as work:
        root = Path(work) / "ours"
        print(f"data: {data}", flush=True)
        print("ours: fresh ...", flush=True)
        ours = {"fresh": run_ours(data, root, "fresh", [])}
        print("ours: unchanged rerun ...", flush=True)
        ours["unchanged"] = run_ours(data, root, "unchanged", [])
        print("ours: rerun through the TFX cache (--force) ...", flush=True)
        ours["tfx_cache"] = run_ours(data, root, "tfx_cache", ["--force"])
        print("template: fresh and cached ...", flush=True)
        template = benchmark_template(data, work_dir=Path(work) / "template", beam_args=TEMPLATE_BEAM_ARGS)

    print(f"\nSide by side on {data} ({time.monotonic() - started:.0f} s in all)")
    print(f"  {'':<44} {'ours':>9} {'template':>9} {'ratio':>8}")
    print(_row("fresh run, wall s", ours["fresh"]["wall_s"], template["fresh"]["wall_s"]))
    print(_row("fresh run, peak RSS MiB", ours["fresh"]["peak_rss_mib"], template["fresh"]["peak_rss_mib"]))
    print(_row("unchanged rerun (CLI as typed), wall s", ours["unchanged"]["wall_s"],
               template["cached"]["wall_s"]))
    print(_row("unchanged rerun through TFX cache, wall s", ours["tfx_cache"]["wall_s"],
               template["cached"]["wall_s"]))
    print(f"  import tfx.v1 in a fresh process: {template['import_tfx_s']:.1f} s")
    # The machine may be shared: the load says how far apart in conditions the two sides ran.
    loads = {label: ours[key]["load_1m_before"] for label, key in
             (("fresh", "fresh"), ("as typed", "unchanged"), ("--force", "tfx_cache"))}
    print("  load average (1 min) before ours: " + ", ".join(f"{k} {v:.1f}" for k, v in loads.items())
          + f"; after the template's runs: {template['load_avg_1m_after']:.1f} ({os.cpu_count()} cores)")
    for label, result in (("ours fresh", ours["fresh"]), ("template fresh", template["fresh"]),
                          ("ours --force rerun", ours["tfx_cache"]), ("template cached", template["cached"])):
        parts = ", ".join(f"{k} {v:.1f}" for k, v in result["components"].items())
        print(f"  {label} per component (s): {parts}")
    final = ours["tfx_cache"]
    print(f"  ours after three runs: {final['models_in_mlmd']} Model artifact(s) in MLMD, "
          f"{final['serving_versions']} serving version(s)")
    if args.json:
        args.json.write_text(json.dumps({"ours": ours, "template": template}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
