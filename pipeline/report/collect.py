"""Everything a run report shows, read from MLMD and the artifacts it points to.

The run's facts (status, data, hyperparameters, metrics, blessing, push, drift, TFLite
variants) come from :mod:`pipeline.metadata.facts`; this module adds what only the report
shows: TFDV statistics and anomalies, the calibration plot and the blessing thresholds.

Collected as plain data first (:class:`ReportData`), rendered separately, so that
the facts can be tested without parsing HTML and the page has one job: layout.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from pipeline.components import tfx_keys
from pipeline.lineage.api import Lineage
from pipeline.metadata.facts import (
    DriftFacts,
    RunInfo,
    VariantTable,
    load_eval_result,
    read_run,
    slice_metrics_file,
    slice_name,
    variant_tables,
)
from pipeline.report.summary import edge_outcome

log = logging.getLogger(__name__)

@dataclass
class FeatureStats:
    name: str
    type: str
    count: int
    missing: float
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    median: float | None = None
    max: float | None = None
    unique: int | None = None
    top_values: list[tuple[str, float]] = field(default_factory=list)
    histogram: list[float] = field(default_factory=list)


@dataclass
class SplitStats:
    split: str
    num_examples: int
    features: list[FeatureStats]


@dataclass
class Anomaly:
    split: str
    feature: str
    severity: str
    description: str


@dataclass
class ThresholdCheck:
    metric: str
    slice: str
    lower_bound: float | None
    upper_bound: float | None
    change_bound: float | None
    direction: str | None
    value: float | None
    change: float | None
    failed: bool


@dataclass
class ReportData:
    run: RunInfo
    statistics: list[SplitStats] = field(default_factory=list)
    statistics_artifact: int | None = None
    anomalies: list[Anomaly] = field(default_factory=list)
    anomalies_artifact: int | None = None
    drift: DriftFacts | None = None
    metrics_by_slice: dict[str, dict[str, float]] = field(default_factory=dict)
    calibration: list[tuple[float, float, float]] = field(default_factory=list)
    evaluation_artifact: int | None = None
    blessed: bool | None = None
    validation_ok: bool | None = None
    checks: list[ThresholdCheck] = field(default_factory=list)
    baseline_model: int | None = None
    model_artifact: int | None = None
    pushed_destination: str | None = None
    pushed: bool | None = None
    push_reused: bool | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    data_source: dict[str, Any] = field(default_factory=dict)
    variants: list[VariantTable] = field(default_factory=list)
    # The TFLite component's outcome in one line (which variant was pushed; a student's teacher).
    edge: str | None = None
    problems: list[str] = field(default_factory=list)


def _split_dirs(uri: str, filename: str) -> list[tuple[str, str]]:
    from tfx.dsl.io import fileio

    if not fileio.exists(uri):
        return []
    found = []
    for name in sorted(fileio.listdir(uri)):
        name = name.rstrip("/")
        path = os.path.join(uri, name, filename)
        if name.startswith("Split-") and fileio.exists(path):
            found.append((name[len("Split-"):], path))
    return found


def load_statistics(uri: str) -> list[SplitStats]:
    """Per-split feature statistics from a StatisticsGen artifact."""
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import statistics_pb2

    splits = []
    for split, path in _split_dirs(uri, "FeatureStats.pb"):
        dataset = tfdv.load_stats_binary(path).datasets[0]
        features = []
        for feature in dataset.features:
            name = ".".join(feature.path.step) or feature.name
            kind = statistics_pb2.FeatureNameStatistics.Type.Name(feature.type)
            if feature.HasField("num_stats"):
                stats, common = feature.num_stats, feature.num_stats.common_stats
                buckets = [b.sample_count for h in stats.histograms if h.type == h.STANDARD
                           for b in h.buckets]
                features.append(FeatureStats(
                    name, kind, common.num_non_missing, _missing(common, dataset.num_examples),
                    mean=stats.mean, std=stats.std_dev, min=stats.min, median=stats.median, max=stats.max,
                    histogram=buckets))
            else:
                stats, common = feature.string_stats, feature.string_stats.common_stats
                top = [(v.value, v.frequency) for v in stats.top_values[:3]]
                buckets = [b.sample_count for b in stats.rank_histogram.buckets[:20]]
                features.append(FeatureStats(
                    name, kind, common.num_non_missing, _missing(common, dataset.num_examples),
                    unique=stats.unique, top_values=top, histogram=buckets))
        splits.append(SplitStats(split, dataset.num_examples, features))
    return splits


def _missing(common: Any, total: int) -> float:
    """Share of examples without a value (TFDV counts an empty CSV cell as present but empty)."""
    if not total:
        return 0.0
    with_value = min(common.num_non_missing, common.tot_num_values) if common.max_num_values <= 1 \
        else common.num_non_missing
    return max(0.0, 1 - with_value / total)


def load_anomalies(uri: str) -> list[Anomaly]:
    """Per-split anomalies from an ExampleValidator artifact."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    from tfx.dsl.io import fileio

    found = []
    for split, path in _split_dirs(uri, "SchemaDiff.pb"):
        anomalies = anomalies_pb2.Anomalies()
        with fileio.open(path, "rb") as handle:
            anomalies.ParseFromString(handle.read())
        for feature, info in sorted(anomalies.anomaly_info.items()):
            found.append(Anomaly(split, feature, anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                                 info.description or info.short_description))
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            found.append(Anomaly(split, "(dataset)", anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                                 info.description))
    return found


def calibration_points(uri: str, bins: int = 10) -> list[tuple[float, float, float]]:
    """(mean prediction, mean label, examples) per prediction decile, overall slice.

    From the Evaluator's ``slice_metrics.json`` when it holds the histogram, else from
    TFMA's calibration plot (artifacts written before the numpy pass existed).
    """
    numpy_result = slice_metrics_file(uri)
    if numpy_result is not None and "calibration_buckets" in numpy_result:
        return _deciles(numpy_result["calibration_buckets"], bins)
    result = load_eval_result(uri)
    for slice_key, plots in result.plots:
        if slice_key:
            continue
        for sub in plots.values():
            for plot in sub.values():
                return _deciles(plot.get("calibrationHistogramBuckets", {}).get("buckets", []), bins)
    return []


def _deciles(buckets: list[dict], bins: int) -> list[tuple[float, float, float]]:
    """Calibration histogram buckets (TFMA's field names) summed into ``bins`` equal-width bins."""
    sums = [[0.0, 0.0, 0.0] for _ in range(bins)]
    for bucket in buckets:
        low = bucket.get("lowerThresholdInclusive", 0.0)
        low = 0.0 if not isinstance(low, float | int) else float(low)
        index = min(bins - 1, max(0, int(low * bins)))
        sums[index][0] += bucket.get("totalWeightedRefinedPrediction", 0.0)
        sums[index][1] += bucket.get("totalWeightedLabel", 0.0)
        sums[index][2] += bucket.get("numWeightedExamples", 0.0)
    return [(p / n, label / n, n) for p, label, n in sums if n > 0]


def threshold_checks(
    uri: str, metrics_by_slice: dict[str, dict[str, float]]
) -> tuple[bool, list[ThresholdCheck]]:
    """The blessing gate as configured in the evaluation, with the values it saw."""
    import tensorflow_model_analysis as tfma

    validation = tfma.load_validation_result(uri)
    failed = {(f.metric_key.name, slice_name(_slice_tuple(v.slice_key)))
              for v in validation.metric_validations_per_slice for f in v.failures}
    checks = []
    config = load_eval_result(uri).config
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            name = _metric_name(metric.class_name)
            for per_slice in metric.per_slice_thresholds:
                for slicing in per_slice.slicing_specs:
                    slice_label = "overall" if not slicing.feature_keys else ", ".join(slicing.feature_keys)
                    values = metrics_by_slice.get(slice_label, {})
                    threshold = per_slice.threshold
                    value_t, change_t = threshold.value_threshold, threshold.change_threshold
                    checks.append(ThresholdCheck(
                        metric=name,
                        slice=slice_label,
                        lower_bound=value_t.lower_bound.value if value_t.HasField("lower_bound") else None,
                        upper_bound=value_t.upper_bound.value if value_t.HasField("upper_bound") else None,
                        change_bound=change_t.absolute.value if change_t.HasField("absolute") else None,
                        direction=(tfma.MetricDirection.Name(change_t.direction)
                                   if threshold.HasField("change_threshold") else None),
                        value=values.get(name),
                        change=values.get(f"{name}_diff"),
                        failed=(name, slice_label) in failed,
                    ))
    return validation.validation_ok, checks


def _slice_tuple(slice_key: Any) -> tuple:
    return tuple((c.column, c.bytes_value.decode() if c.HasField("bytes_value") else
                  c.int64_value if c.HasField("int64_value") else c.float_value)
                 for c in slice_key.single_slice_keys)


def _metric_name(class_name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower().replace("a_u_c", "auc")


def collect(lineage: Lineage, run_ref: str) -> ReportData:
    """All report facts of one run; a part that cannot be read becomes a listed problem."""
    run = lineage.run(run_ref)
    facts = read_run(lineage.store, run.run_id)
    data = ReportData(run=run, drift=facts.drift, metrics_by_slice=facts.metrics_by_slice,
                      blessed=facts.blessed, baseline_model=facts.baseline_model,
                      problems=list(facts.problems))
    for problem in facts.problems:
        log.warning("report: cannot read %s", problem)

    def attempt(what: str, action) -> None:  # noqa: ANN001
        try:
            action()
        except Exception as error:  # noqa: BLE001 - the report shows what it could not read
            log.warning("report: cannot read %s: %s", what, error)
            data.problems.append(f"{what}: {error}")

    if facts.data is not None:
        data.data_source = {"input_base": facts.data.input_base,
                            "input_fingerprint": facts.data.input_fingerprint, "span": facts.data.span}
    if facts.training is not None:
        custom = facts.training.hyperparameters
        data.hyperparameters = {"train_args": facts.training.train_args,
                                "eval_args": facts.training.eval_args,
                                **(custom if isinstance(custom, dict) else {})}
        data.model_artifact = facts.model[0].id if facts.model else None
    if facts.push is not None:
        data.pushed = facts.push.pushed
        data.pushed_destination = facts.push.destination
        data.push_reused = facts.push.reused
    for node in facts.nodes.values():
        if tfx_keys.STATISTICS_KEY in node.outputs:
            artifact = node.outputs[tfx_keys.STATISTICS_KEY][0]
            data.statistics_artifact = artifact.id
            attempt("statistics", lambda a=artifact: data.statistics.extend(load_statistics(a.uri)))
        if tfx_keys.ANOMALIES_KEY in node.outputs:
            artifact = node.outputs[tfx_keys.ANOMALIES_KEY][0]
            data.anomalies_artifact = artifact.id
            attempt("anomalies", lambda a=artifact: data.anomalies.extend(load_anomalies(a.uri)))
    if facts.evaluation is not None:
        data.evaluation_artifact = facts.evaluation.id
        _collect_evaluation(data, facts.evaluation.uri, attempt)
    if facts.edge is not None:
        data.edge = edge_outcome(facts.edge)
    everything = [a for node in facts.nodes.values() for items in node.outputs.values() for a in items]
    attempt("variant tables", lambda: data.variants.extend(variant_tables(everything)))
    return data


def _collect_evaluation(data: ReportData, uri: str, attempt) -> None:  # noqa: ANN001
    attempt("calibration plot", lambda: data.calibration.extend(calibration_points(uri)))

    def gate() -> None:
        data.validation_ok, checks = threshold_checks(uri, data.metrics_by_slice)
        data.checks.extend(checks)

    attempt("blessing thresholds", gate)
