"""Benchmark: the TFLite variant table on the full shipped sample, and the issue's targets.

Runs the local pipeline (full sample, default configuration, so the TFLite component
measures on the whole eval split) into ``--root`` and prints the component's table
from MLMD, then the three targets: int8 size <= 0.3x float32 TFLite, int8 single-row
latency <= 0.05x a SavedModel serving call, AUC drop <= 0.005.

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

TARGETS = (("int8 size / float32 size", 0.3), ("int8 1-row latency / SavedModel call", 0.05),
           ("AUC drop (SavedModel - int8)", 0.005))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/tflite-variants-bench"))
    parser.add_argument("--train-steps", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from pipeline.components.tflite_converter import report
    from pipeline.components.tflite_converter.gate import VariantResult
    from pipeline.metadata import open_store
    from pipeline.metadata.queries import run_executions
    from pipeline.report.summary import outputs_of
    from pipeline.runners.local import runner as local

    config = profiles.local(root=args.root)
    if args.train_steps:
        config = config.with_training(train_steps=args.train_steps)
    started = time.monotonic()
    result = local.run(config)
    if not result.succeeded:
        print(f"pipeline failed at {result.failed_node}: {result.error}", file=sys.stderr)
        return 1
    store = open_store(config.metadata)
    executions = run_executions(store, result.run_id)
    [artifact] = outputs_of(store, executions["TFLiteConverter"].id)["tflite_models"]
    seconds = {n.node_id: n.seconds for n in result.nodes}
    data = json.loads((Path(artifact.uri) / "report.json").read_text())
    nan = float("nan")
    variants = [VariantResult(**{k: (nan if v is None else v) for k, v in row.items()})
                for row in data["variants"]]
    reference = data["reference"]
    print(f"pipeline run {time.monotonic() - started:.0f} s (TFLiteConverter "
          f"{seconds.get('TFLiteConverter', 0):.1f} s); status: {data['status']}: {data['reason']}\n")
    print(report.markdown_table(variants, reference))
    by_name = {v.name: v for v in variants}
    if "int8" in by_name and "float32" in by_name and by_name["int8"].converted:
        int8, float32 = by_name["int8"], by_name["float32"]
        values = (int8.size_bytes / float32.size_bytes, int8.single_row_ms / reference["single_row_ms"],
                  reference["auc"] - int8.auc)
        print("\ntarget | measured | limit | met")
        for (name, limit), value in zip(TARGETS, values, strict=True):
            print(f"{name} | {value:.4f} | {limit} | {'yes' if value <= limit else 'NO'}")
        print(f"(weights only: int8 {int8.weight_bytes} / float32 {float32.weight_bytes} bytes = "
              f"{int8.weight_bytes / float32.weight_bytes:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
