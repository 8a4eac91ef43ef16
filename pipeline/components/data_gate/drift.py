"""Drift of new data against a baseline: TFDV's comparators, on comparable histograms.

TFDV compares numeric features with Jensen-Shannon divergence over each dataset's
*equal-width* histogram, re-bucketed onto the union of both datasets' bucket edges
with the mass spread evenly inside each bucket. On heavy-tailed data such as taxi
trips (fares up to 700, trips up to 86,000 s) one extreme value sets every bucket's
width, and the divergence measures the outliers, not the distribution: two random
3,000-row halves of the same sample score 0.44 on ``trip_seconds``.

So before TFDV compares them, both datasets' numeric histograms are replaced by
counts over the same buckets: the baseline's deciles (StatisticsGen's quantiles
histogram). The new data's share of each bucket is read off its own quantiles
histogram (linear inside a bucket). With identical edges TFDV's re-bucketing is the
identity and the divergence reflects where the mass moved: same-distribution slices
score at most 0.0085, fares recorded x1.3 score 0.070. Categorical features use
TFDV's L-infinity distance unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from pipeline.config import DriftCheck, DriftConfig

Histogram = statistics_pb2.Histogram
DATASET = "(dataset)"
# TFDV's anomaly kinds for drift: these are what a drift check can add to a split.
DRIFT_KINDS = frozenset({
    "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH",
    "COMPARATOR_L_INFTY_HIGH",
    "COMPARATOR_LOW_NUM_EXAMPLES",
    "COMPARATOR_HIGH_NUM_EXAMPLES",
})


@dataclass(frozen=True)
class DriftMeasurement:
    """One comparison on one split: the distance, the limit, and whether TFDV flagged it."""

    split: str
    feature: str
    comparator: str
    value: float
    threshold: str  # "0.02", or "0.5..2" for the example-count ratio
    drifted: bool

    @classmethod
    def from_json(cls, row: Mapping[str, object]) -> DriftMeasurement:
        """One entry of the gate's ``drift.json`` (written from ``dataclasses.asdict``)."""
        return cls(str(row["split"]), str(row["feature"]), str(row.get("comparator", "?")),
                   float(row["value"]), str(row.get("threshold", "")), bool(row.get("drifted")))  # type: ignore[arg-type]

    @property
    def limit(self) -> float | None:
        """The threshold as a number; None for a range (the example-count ratio)."""
        try:
            return float(self.threshold)
        except ValueError:
            return None

    def __str__(self) -> str:
        verdict = "DRIFT" if self.drifted else "ok"
        return (f"[{self.split}] {self.feature}: {self.comparator} {self.value:.4f} "
                f"(limit {self.threshold}) {verdict}")


@dataclass(frozen=True)
class DriftResult:
    """Every measurement plus TFDV's anomalies per split (written as the gate's report)."""

    measurements: list[DriftMeasurement]
    anomalies: dict[str, anomalies_pb2.Anomalies]

    @property
    def drifted(self) -> list[DriftMeasurement]:
        return [m for m in self.measurements if m.drifted]


def _kinds(info: anomalies_pb2.AnomalyInfo) -> set[str]:
    return {anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason}


def _feature_stats(dataset: statistics_pb2.DatasetFeatureStatistics
                   ) -> dict[str, statistics_pb2.FeatureNameStatistics]:
    return {(f.path.step[0] if f.path.step else f.name): f for f in dataset.features}


def _histogram(feature: statistics_pb2.FeatureNameStatistics, kind: int) -> Histogram | None:
    for histogram in feature.num_stats.histograms:
        if histogram.type == kind:
            return histogram
    return None


def share_below(buckets: Sequence[Histogram.Bucket], x: float) -> float:
    """The fraction of values <= x, reading a quantiles histogram as piecewise uniform."""
    total = sum(b.sample_count for b in buckets)
    if total <= 0:
        return 0.0
    below = 0.0
    for bucket in buckets:
        if x >= bucket.high_value:
            below += bucket.sample_count
            continue
        if x > bucket.low_value:
            below += bucket.sample_count * (x - bucket.low_value) / (bucket.high_value - bucket.low_value)
        break
    return below / total


def common_edge_histograms(current: statistics_pb2.FeatureNameStatistics,
                           baseline: statistics_pb2.FeatureNameStatistics) -> bool:
    """Rewrites both features' standard histograms onto the baseline's decile edges.

    Returns False (and changes nothing) when either side lacks a quantiles histogram,
    e.g. a feature with no values.
    """
    base_q = _histogram(baseline, Histogram.QUANTILES)
    cur_q = _histogram(current, Histogram.QUANTILES)
    if base_q is None or cur_q is None or not base_q.buckets or not cur_q.buckets:
        return False
    inner_edges = sorted({b.high_value for b in base_q.buckets[:-1]})
    low = min(base_q.buckets[0].low_value, cur_q.buckets[0].low_value)
    high = max(base_q.buckets[-1].high_value, cur_q.buckets[-1].high_value)
    edges = [low, *[e for e in inner_edges if low < e < high], high]
    for feature, quantiles in ((current, cur_q), (baseline, base_q)):
        count = sum(b.sample_count for b in quantiles.buckets)
        shares = [0.0, *[share_below(quantiles.buckets, e) for e in edges[1:-1]], 1.0]
        standard = _histogram(feature, Histogram.STANDARD)
        if standard is None:
            standard = feature.num_stats.histograms.add(type=Histogram.STANDARD)
        del standard.buckets[:]
        for lo, hi, below_lo, below_hi in zip(edges, edges[1:], shares, shares[1:], strict=False):
            standard.buckets.add(low_value=lo, high_value=hi, sample_count=(below_hi - below_lo) * count)
    return True


def _comparable(current: statistics_pb2.DatasetFeatureStatisticsList,
                baseline: statistics_pb2.DatasetFeatureStatisticsList,
                numeric_features: Iterable[str]) -> tuple[statistics_pb2.DatasetFeatureStatisticsList, ...]:
    """Copies of both statistics with the numeric features' histograms on common edges."""
    current_copy = statistics_pb2.DatasetFeatureStatisticsList()
    current_copy.CopyFrom(current)
    baseline_copy = statistics_pb2.DatasetFeatureStatisticsList()
    baseline_copy.CopyFrom(baseline)
    cur = _feature_stats(current_copy.datasets[0])
    base = _feature_stats(baseline_copy.datasets[0])
    for name in numeric_features:
        numeric = name in cur and name in base and cur[name].HasField("num_stats")
        if numeric and base[name].HasField("num_stats"):
            common_edge_histograms(cur[name], base[name])
    return current_copy, baseline_copy


def drift_schema(schema: schema_pb2.Schema, config: DriftConfig) -> schema_pb2.Schema:
    """A copy of the curated schema with the configured comparators attached.

    Unknown features fail here, with the schema's feature names, rather than being
    silently unchecked.
    """
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    features = {f.name: f for f in result.feature}
    for check in config.checks:
        if check.feature not in features:
            raise ValueError(f"drift check on {check.feature!r}: no such feature in the schema "
                             f"(features: {', '.join(sorted(features))})")
        comparator = features[check.feature].drift_comparator
        if check.comparator == "jensen_shannon":
            comparator.jensen_shannon_divergence.threshold = check.threshold
        else:
            comparator.infinity_norm.threshold = check.threshold
    if config.min_examples_ratio is not None or config.max_examples_ratio is not None:
        examples = result.dataset_constraints.num_examples_drift_comparator
        if config.min_examples_ratio is not None:
            examples.min_fraction_threshold = config.min_examples_ratio
        if config.max_examples_ratio is not None:
            examples.max_fraction_threshold = config.max_examples_ratio
    return result


def _ratio_limit(config: DriftConfig) -> str:
    low = "0" if config.min_examples_ratio is None else f"{config.min_examples_ratio:g}"
    high = "inf" if config.max_examples_ratio is None else f"{config.max_examples_ratio:g}"
    return f"{low}..{high}"


def _num_examples(dataset: statistics_pb2.DatasetFeatureStatistics) -> int:
    return int(dataset.num_examples)


def compare_split(split: str, current: statistics_pb2.DatasetFeatureStatisticsList,
                  baseline: statistics_pb2.DatasetFeatureStatisticsList,
                  schema: schema_pb2.Schema, config: DriftConfig
                  ) -> tuple[list[DriftMeasurement], anomalies_pb2.Anomalies]:
    """TFDV's drift validation of one split against the same split of the baseline."""
    import tensorflow_data_validation as tfdv

    numeric = [c.feature for c in config.checks if c.comparator == "jensen_shannon"]
    current_cmp, baseline_cmp = _comparable(current, baseline, numeric)
    anomalies = tfdv.validate_statistics(current_cmp, drift_schema(schema, config),
                                         previous_statistics=baseline_cmp)
    flagged = {name for name, info in anomalies.anomaly_info.items() if _kinds(info) & DRIFT_KINDS}
    names = {"jensen_shannon": "Jensen-Shannon", "l_infinity": "L-infinity"}
    thresholds = {c.feature: c for c in config.checks}
    measurements = []
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        check = thresholds.get(feature)
        for measured in info.drift_measurements:
            measurements.append(DriftMeasurement(
                split=split, feature=feature,
                comparator=names.get(check.comparator, "?") if check else "?",
                value=float(measured.value), threshold=f"{measured.threshold:g}",
                drifted=feature in flagged,
            ))
    if config.min_examples_ratio is not None or config.max_examples_ratio is not None:
        base_count = _num_examples(baseline.datasets[0])
        ratio = _num_examples(current.datasets[0]) / base_count if base_count else float("inf")
        kinds = _kinds(anomalies.dataset_anomaly_info)  # empty when TFDV set none
        measurements.append(DriftMeasurement(
            split=split, feature=DATASET, comparator="example-count ratio", value=ratio,
            threshold=_ratio_limit(config), drifted=bool(kinds & DRIFT_KINDS),
        ))
    return measurements, _drift_only(anomalies)


def _drift_only(anomalies: anomalies_pb2.Anomalies) -> anomalies_pb2.Anomalies:
    """TFDV's result without the schema anomalies (ExampleValidator reports those)."""
    result = anomalies_pb2.Anomalies()
    result.CopyFrom(anomalies)
    for name, info in anomalies.anomaly_info.items():
        if not _kinds(info) & DRIFT_KINDS:
            del result.anomaly_info[name]
    if not _kinds(anomalies.dataset_anomaly_info) & DRIFT_KINDS:
        result.ClearField("dataset_anomaly_info")
    return result


def measure_drift(current: Mapping[str, statistics_pb2.DatasetFeatureStatisticsList],
                  baseline: Mapping[str, statistics_pb2.DatasetFeatureStatisticsList],
                  schema: schema_pb2.Schema, config: DriftConfig) -> DriftResult:
    """Compares every split present in both; a split the baseline lacks is not compared."""
    measurements: list[DriftMeasurement] = []
    anomalies: dict[str, anomalies_pb2.Anomalies] = {}
    for split in sorted(set(current) & set(baseline)):
        found, anomalies[split] = compare_split(split, current[split], baseline[split], schema, config)
        measurements.extend(found)
    return DriftResult(measurements, anomalies)


def describe(result: DriftResult, action: str) -> str:
    """Lines for a log or an error: each drifted measurement, then the verdict."""
    lines = [str(m) for m in result.drifted]
    verdict = "blocks the run" if action == "block" else "recorded as a warning (drift action: warn)"
    listed = "\n  ".join(lines)
    return f"{len(lines)} drift finding(s) against the last blessed model's data, {verdict}:\n  {listed}"


def config_to_json(config: DriftConfig) -> str:
    """The drift configuration as a component parameter (a string)."""
    import dataclasses

    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def config_from_json(payload: str) -> DriftConfig:
    """The inverse of :func:`config_to_json`."""
    data = json.loads(payload)
    return DriftConfig(
        enabled=bool(data["enabled"]), action=str(data["action"]),
        checks=tuple(DriftCheck(str(c["feature"]), float(c["threshold"]), str(c["comparator"]))
                     for c in data["checks"]),
        min_examples_ratio=data.get("min_examples_ratio"), max_examples_ratio=data.get("max_examples_ratio"),
    )
