"""Benchmark: every TFLite variant, TFMOT techniques and distilled students included, on the full sample.

Runs the local pipeline (full shipped sample) into ``--root`` with every TFMOT technique
switched on (``pruned``, ``qat``, ``clustered``, ``pruned_clustered``, ``student``),
each converted as ``--conversions`` lists, so all variants are measured side by side by
the TFLite component on the whole eval split. Prints the component's table (from its
``report.json``), the AUC drops by slice, then the issue's targets for the variant the
gate pushed:

- what the bundle ships <= 0.3x the float32 TFLite file (uncompressed): the plain
  ``.tflite`` by default; with ``TFLiteConfig.compress_model`` (``--compress``) the bundle
  ships ``model.tflite.gz``, which the edge client decompresses before loading, and the
  gate ranks by gzip bytes. Both rankings are printed from the one run (the other one
  re-gated on the same measurements);
- its single-row latency (ai-edge-litert) <= 0.05x a SavedModel ``serving_default`` call;
- overall AUC drop <= 0.005 and no gated slice dropping more than 0.02.

    .venv/bin/python benchmarks/tflite_variants.py [--root /tmp/tflite-bench] [--compress]
        [--data DIR --train-steps N --finetune-steps N]   # a small slice, to try it
    .venv/bin/python benchmarks/tflite_variants.py --report <TFLite artifact>/report.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline import profiles  # noqa: E402
from pipeline.config import TFMOT_TECHNIQUES  # noqa: E402

SIZE_LIMIT, LATENCY_LIMIT = 0.3, 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/tflite-variants-bench"))
    parser.add_argument("--data", type=Path, default=None,
                        help="CSV folder (default: the shipped sample, the full-size run)")
    parser.add_argument("--train-steps", type=int, default=None)
    parser.add_argument("--finetune-steps", type=int, default=None,
                        help="TFMOT fine-tuning steps (default: TFLiteConfig's)")
    parser.add_argument("--report", type=Path, default=None,
                        help="print the tables of an earlier run's report.json instead of running")
    parser.add_argument("--compress", action="store_true",
                        help="ship model.tflite.gz (the gate counts gzip bytes)")
    parser.add_argument("--conversions", default="int8,dynamic_range",
                        help="conversions of every optimised model (qat is always int8)")
    args = parser.parse_args()
    if args.report and not args.report.is_file():
        print(f"no such report file: {args.report}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)

    from pipeline.components.tflite_converter import report, spec
    from pipeline.components.tflite_converter.gate import GatePolicy, SliceMetrics, VariantResult, apply_gate
    from pipeline.metadata import open_store
    from pipeline.metadata.queries import outputs_of, run_executions
    from pipeline.runners.local import runner as local

    tflite = {"techniques": TFMOT_TECHNIQUES, "technique_conversions": tuple(args.conversions.split(","))}
    if args.finetune_steps:
        tflite["finetune_steps"] = args.finetune_steps
    if args.compress:
        tflite["compress_model"] = True
    config = profiles.local(root=args.root, data=args.data).with_tflite(**tflite)
    if args.train_steps:
        config = config.with_training(train_steps=args.train_steps)
    started = time.monotonic()
    if args.report:
        data = json.loads(args.report.read_text())
        seconds: dict[str, float] = {}
    else:
        result = local.run(config)
        if not result.succeeded:
            print(f"pipeline failed at {result.failed_node}: {result.error}", file=sys.stderr)
            return 1
        store = open_store(config.metadata)
        executions = run_executions(store, result.run_id)
        [artifact] = outputs_of(store, executions["TFLiteConverter"].id)[spec.OUTPUT_KEY]
        seconds = {n.node_id: n.seconds for n in result.nodes}
        data = json.loads((Path(artifact.uri) / spec.REPORT_FILE).read_text())
    nan = float("nan")
    variants = []
    for row in data["variants"]:
        variant = VariantResult(**{k: (nan if v is None else v) for k, v in row.items()})
        variant.slices = {k: SliceMetrics(**{m: (nan if v is None else v) for m, v in s.items()})
                          for k, s in data["slices"].get(variant.name, {}).items()}
        variants.append(variant)
    reference = data["reference"]
    print(f"pipeline run {time.monotonic() - started:.0f} s (TFLiteConverter "
          f"{seconds.get('TFLiteConverter', 0):.1f} s); status: {data['status']}: {data['reason']}\n")
    print(f"{reference['eval_rows']} eval rows, runtime {reference.get('runtime')}\n")
    print(report.markdown_table(variants, reference))
    print("\nAUC drop by slice (SavedModel minus variant):\n")
    print(report.slice_table(variants, data["saved_model_slices"], data["policy"]))
    by_name = {v.name: v for v in variants}
    float32 = by_name.get("float32")
    chosen = next((v for v in variants if v.reason.startswith("chosen")), None)
    if chosen is None or float32 is None or not float32.converted:
        print("\nno pushed variant (or no float32 baseline): targets not measurable")
        return 0
    compressed = bool(data.get("compress_model"))
    ships = "model.tflite.gz (gzip counted)" if compressed else "model.tflite (gzip not counted)"
    print(f"\npushed: {chosen.name} (technique {chosen.technique}, conversion {chosen.conversion}); "
          f"the bundle ships {ships}")
    # The other route, on the same measurements: what the gate picks when it ranks by the
    # other size (plain file bytes, or gzip bytes with the bundle shipping model.tflite.gz).
    other = [dataclasses.replace(v) for v in variants]
    for v in other:
        v.shipped_bytes = v.size_bytes if compressed else v.gzip_bytes
    policy = GatePolicy(**data["policy"])
    saved_slices = {k: SliceMetrics(**{m: (nan if x is None else x) for m, x in s.items()})
                    for k, s in data["saved_model_slices"].items()}
    other_chosen = apply_gate(other, reference["auc"], policy, saved_slices)
    routes = [(chosen, compressed, "pushed")]
    if other_chosen is not None:
        routes.append((other_chosen, not compressed, "same run, other ranking"))
    print("\ntarget | route | measured | limit | met")
    print("---|---|---|---|---")
    for variant, gzip_counted, label in routes:
        route = f"{'gzip counted' if gzip_counted else 'plain file'} ({label}): {variant.name}"
        shipped = variant.gzip_bytes if gzip_counted else variant.size_bytes
        drop = variant.worst_slice_drop if variant.worst_slice else 0.0
        rows = [
            (f"shipped bytes / float32 .tflite file ({shipped:,} / {float32.size_bytes:,})",
             shipped / float32.size_bytes, SIZE_LIMIT),
            (f"1-row latency / SavedModel call ({variant.single_row_ms:.4f} / "
             f"{reference['single_row_ms']:.4f} ms)", variant.single_row_ms / reference["single_row_ms"],
             LATENCY_LIMIT),
            ("overall AUC drop (SavedModel - variant)", reference["auc"] - variant.auc, policy.auc_budget),
            (f"worst gated slice AUC drop ({variant.worst_slice or '-'})", drop, policy.slice_auc_budget),
        ]
        for name, value, limit in rows:
            print(f"{name} | {route} | {value:.4f} | {limit} | {'yes' if value <= limit else 'NO'}")
    print(f"\n(float32 reference: the uncompressed float32 .tflite, {float32.size_bytes:,} bytes; gzip vs "
          f"gzip for the pushed variant: {chosen.gzip_bytes:,} / {float32.gzip_bytes:,} = "
          f"{chosen.gzip_bytes / float32.gzip_bytes:.3f}; the gate counts "
          f"{'gzip' if compressed else 'file'} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
