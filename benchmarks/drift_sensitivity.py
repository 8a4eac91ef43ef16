"""Benchmark: what the drift checks measure on the shipped sample, and why the histograms are rebuilt.

For pairs of datasets made from the sample (a 3,000-row baseline against disjoint random
slices of the same data, and against the same slice with one feature shifted as real
pipelines see it: another currency, another unit, a changed payment mix), prints each
model input's distance twice, side by side in one run:

* ``tfdv``: TFDV's comparator on StatisticsGen's own histograms (equal-width for numbers);
* ``gate``: what the data gate measures (numbers on the baseline's deciles, see
  ``pipeline/components/data_gate/drift.py``),

then the default limits. Same-distribution rows should stay under the limits, shifted
rows should exceed them on the shifted feature only.

    .venv/bin/python benchmarks/drift_sensitivity.py [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorflow_metadata.proto.v0 import schema_pb2  # noqa: E402

from pipeline.components.data_gate import drift  # noqa: E402
from pipeline.config import DEFAULT_DATA, DEFAULT_SCHEMA, DriftConfig  # noqa: E402


def _cases(data: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    order = np.random.default_rng(seed).permutation(len(data))
    baseline, same = data.iloc[order[:3000]], data.iloc[order[3000:6000]].copy()
    cases = {
        "same data, 3,000 rows": same,
        "same data, 1,000 rows": data.iloc[order[6000:7000]],
        "same data, 400 rows": data.iloc[order[7000:7400]],
        "fares x1.3 (currency)": same.assign(fare=same["fare"] * 1.3),
        "miles recorded as km": same.assign(trip_miles=same["trip_miles"] * 1.609),
        "seconds recorded as minutes": same.assign(trip_seconds=(same["trip_seconds"] / 60).round()),
    }
    cash = same.copy()
    card = (cash["payment_type"] == "Credit Card").to_numpy()
    cash.loc[card & (np.arange(len(cash)) % 10 < 7), "payment_type"] = "Cash"
    cases["70% of card trips paid cash"] = cash
    return baseline, cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import tensorflow_data_validation as tfdv

    config = DriftConfig()
    schema = text_format.Parse(DEFAULT_SCHEMA.read_text(), schema_pb2.Schema())
    baseline, cases = _cases(pd.read_csv(DEFAULT_DATA / "data.csv"), args.seed)
    base_stats = tfdv.generate_statistics_from_dataframe(baseline)
    features = [c.feature for c in config.checks]
    print(f"{'case':<30}" + "".join(f"{name:>26}" for name in features))
    print(f"{'':<30}" + "".join(f"{'tfdv / gate':>26}" for _ in features))
    gate_seconds = []
    for name, frame in cases.items():
        stats = tfdv.generate_statistics_from_dataframe(frame)
        raw = tfdv.validate_statistics(stats, drift.drift_schema(schema, config),
                                       previous_statistics=base_stats)
        stock = {".".join(i.path.step): i.drift_measurements[0].value for i in raw.drift_skew_info}
        started = time.perf_counter()
        gate = drift.measure_drift({"train": stats}, {"train": base_stats}, schema, config)
        gate_seconds.append(time.perf_counter() - started)
        measured = {m.feature: m for m in gate.measurements}
        cells = []
        for feature in features:
            flag = "*" if measured[feature].drifted else " "
            cells.append(f"{stock[feature]:.4f} / {measured[feature].value:.4f}{flag}")
        print(f"{name:<30}" + "".join(f"{cell:>26}" for cell in cells))
    limits = {c.feature: f"{c.comparator} {c.threshold:g}" for c in config.checks}
    print(f"{'limit':<30}" + "".join(f"{limits[f]:>26}" for f in features))
    print("* = over the limit (the gate blocks by default)")
    print(f"gate comparison time per split: median {np.median(gate_seconds) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
