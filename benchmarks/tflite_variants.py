"""Benchmark: every TFLite variant, TFMOT techniques and distilled students included, on the full sample.

Runs the local pipeline (full shipped sample) into ``--root`` with every TFMOT technique
switched on (``pruned``, ``qat``, ``clustered``, ``pruned_clustered``, ``student``),
each converted as ``--conversions`` lists, so all variants are measured side by side by
the TFLite component on the whole eval split. Prints the component's table (from its
``report.json``), the AUC drops by slice, then the issue's targets for the variant the
gate pushed:

- its ``.tflite`` file <= 0.3x the float32 TFLite file (file bytes: what the device
  loads; gzip is printed for reference and NOT counted, so the client loads plain files);
- its single-row latency (ai-edge-litert) <= 0.05x a SavedModel ``serving_default`` call;
- overall AUC drop <= 0.005 and no gated slice dropping more than 0.02.

    .venv/bin/python benchmarks/tflite_variants.py [--root /tmp/tflite-bench] [--train-steps N]
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--train-steps", type=int, default=None)
    parser.add_argument("--conversions", default="int8,dynamic_range",
                        help="conversions of every optimised model (qat is always int8)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from pipeline.components.tflite_converter import report, spec
    from pipeline.components.tflite_converter.gate import SliceMetrics, VariantResult
    from pipeline.metadata import open_store
    from pipeline.metadata.queries import outputs_of, run_executions
    from pipeline.runners.local import runner as local

    config = profiles.local(root=args.root).with_tflite(
        techniques=TFMOT_TECHNIQUES, technique_conversions=tuple(args.conversions.split(",")))
    if args.train_steps:
        config = config.with_training(train_steps=args.train_steps)
    started = time.monotonic()
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
    drops = [v for k, v in [(chosen.worst_slice, chosen.worst_slice_drop)] if k]
    rows = [
        (f"{chosen.name} file / float32 TFLite file ({chosen.size_bytes} / {float32.size_bytes} bytes)",
         chosen.size_bytes / float32.size_bytes, SIZE_LIMIT),
        (f"{chosen.name} 1-row latency / SavedModel call ({chosen.single_row_ms:.4f} / "
         f"{reference['single_row_ms']:.4f} ms)", chosen.single_row_ms / reference["single_row_ms"],
         LATENCY_LIMIT),
        ("overall AUC drop (SavedModel - pushed)", reference["auc"] - chosen.auc,
         data["policy"]["auc_budget"]),
        (f"worst gated slice AUC drop ({chosen.worst_slice or '-'})", drops[0] if drops else 0.0,
         data["policy"]["slice_auc_budget"]),
    ]
    print(f"\npushed: {chosen.name} (technique {chosen.technique}, conversion {chosen.conversion})")
    print("\ntarget | measured | limit | met")
    for name, value, limit in rows:
        print(f"{name} | {value:.4f} | {limit} | {'yes' if value <= limit else 'NO'}")
    print(f"(gzip, not counted: {chosen.gzip_bytes} / {float32.gzip_bytes} bytes = "
          f"{chosen.gzip_bytes / float32.gzip_bytes:.3f}; smallest file of any variant: "
          f"{min((v for v in variants if v.converted), key=lambda v: v.size_bytes).name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
