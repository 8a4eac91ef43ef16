"""Continuous training, simulated: 14 daily spans, a price rise on day 8, the drift caught and accepted.

Cuts the shipped taxi sample into daily folders (``YYYY-MM-DD/``, see
:mod:`benchmarks.daily_spans`), fares x1.3 from day 8, and runs the pipeline once per
day, in order, through the local runner, as a daily schedule would. When the data
gate blocks a day for drift, the simulated operator accepts it
(:mod:`pipeline.metadata.drift_acceptance`, as ``python -m pipeline accept-drift`` does) and
the day is run again. Then one day is rerun unchanged to show that nothing is
retrained or pushed twice. One row per run:

    day  date  rows  window (spans trained on)  drift  AUC  blessed  pushed  wall s  cached nodes

AUC is the candidate's on the day's eval split. Run: ``.venv/bin/python
benchmarks/continuous_training.py`` (about 3 to 6 minutes per day on a laptop; the
TFLite branch is off unless ``--tflite``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.daily_spans import DaySpan, write_daily_spans  # noqa: E402
from pipeline import profiles, spans  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402

HEADER = (f"{'day':>4} {'date':<10} {'rows':>5} {'window':>6} {'drift':<22} {'AUC':>6} {'blessed':<7} "
          f"{'pushed':<10} {'wall s':>6}  cached")


def _drift_verdict(store, run_id: str, result) -> str:  # noqa: ANN001
    from pipeline.report.summary import summarise

    if result.failed_node == "DataGate":
        message = str(result.error)
        kinds = [k for k in ("drift", "anomal") if k in message]
        return "BLOCKED (" + ("drift" if "drift" in kinds else "anomalies") + ")"
    summary = summarise(store, run_id, result.nodes)
    line = summary.drift or ""
    if "no baseline" in line or "not checked" in line or "no blessed" in line:
        return "no baseline"
    if " 0 of " in line:
        return "ok"
    return line[:22] if line else "-"


def run_day(config: PipelineConfig, day: DaySpan, label: str) -> dict:
    """One scheduled run of ``day``; returns the row's facts."""
    from pipeline.metadata import open_store
    from pipeline.metadata.spans import run_spans
    from pipeline.report.summary import summarise
    from pipeline.runners.local import runner as local

    started = time.monotonic()
    result = local.run(config, span=spans.date_to_span(day.date))
    wall = time.monotonic() - started
    store = open_store(config.metadata)
    summary = summarise(store, result.run_id, result.nodes)
    read = run_spans(store, result.run_id)
    cached = [n.node_id for n in result.nodes if n.state == "cached"]
    ran = [n.node_id for n in result.nodes if n.state == "complete"]
    version = Path(summary.pushed_destination).name if summary.pushed and summary.pushed_destination else "-"
    row = {
        "label": label, "date": day.date.isoformat(), "rows": day.rows, "run_id": result.run_id,
        "window": len(read.window), "drift": _drift_verdict(store, result.run_id, result),
        "auc": summary.metrics.get("auc"), "blessed": summary.blessed, "pushed": version, "wall": wall,
        "cached": cached, "ran": ran, "result": result,
    }
    auc = f"{row['auc']:.4f}" if row["auc"] is not None else "-"
    blessed = {True: "yes", False: "no", None: "-"}[row["blessed"]]
    cached_text = "all " + str(len(cached)) if not ran else ", ".join(cached) or "none"
    print(f"{label:>4} {row['date']:<10} {day.rows:>5} {row['window']:>6} {row['drift']:<22} {auc:>6} "
          f"{blessed:<7} {version:<10} {wall:>6.0f}  {cached_text}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("outputs/continuous_training"))
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--shift-from", type=int, default=8)
    parser.add_argument("--fare-factor", type=float, default=1.3)
    parser.add_argument("--rows-per-day", type=int, default=None, help="default: the sample dealt evenly")
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--tflite", action="store_true", help="also convert and push the edge bundle")
    args = parser.parse_args(argv)

    from pipeline.cli.common import quiet_libraries
    from pipeline.metadata import open_store
    from pipeline.metadata.drift_acceptance import accept

    quiet_libraries(verbose=False)
    root = args.root.resolve()
    shutil.rmtree(root, ignore_errors=True)
    days = write_daily_spans(root / "data", args.days, rows_per_day=args.rows_per_day,
                             shift_from=args.shift_from, fare_factor=args.fare_factor)
    config = (profiles.local(root=root / "outputs", data=root / "data")
              .with_training(train_steps=args.train_steps, window_spans=args.window)
              .with_tflite(enabled=args.tflite))
    print(f"{args.days} daily spans under {root / 'data'} (fares x{args.fare_factor} from day "
          f"{args.shift_from}); window {args.window} spans, {args.train_steps} train steps, "
          f"TFLite {'on' if args.tflite else 'off'}")
    print(HEADER, flush=True)
    rows = []
    for day in days:
        row = run_day(config, day, str(day.day))
        rows.append(row)
        if row["drift"].startswith("BLOCKED (drift"):
            acceptance = accept(open_store(config.metadata), config.pipeline_name, config.pipeline_root,
                                row["run_id"], accepted_by="benchmark",
                                reason=f"fares x{args.fare_factor} from day {args.shift_from}: a price rise")
            print(f"     accept-drift {row['run_id']}: by {acceptance.accepted_by} "
                  f"at {acceptance.accepted_at}", flush=True)
            rows.append(run_day(config, day, f"{day.day}a"))
    rows.append(run_day(config, days[-1], f"{days[-1].day}r"))
    total = sum(r["wall"] for r in rows)
    print(f"total wall time {total:.0f} s for {len(rows)} runs; 'a' = rerun after accept-drift, "
          f"'r' = unchanged rerun (machine load affects times)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
