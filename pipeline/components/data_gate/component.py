"""DataGate: fails the run on blocking anomalies or on drift from the last blessed model's data.

No ``from __future__ import annotations`` here: TFX reads the function's annotations
as real types to build the component spec.
"""


import json
import logging
import os

from tfx import v1 as tfx

from pipeline.components.data_baseline.component import DataBaseline
from pipeline.components.data_gate import artifact_io, drift, spec
from pipeline.components.data_gate.policy import DataGateClosed, blocking, findings

log = logging.getLogger(__name__)

def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _check_drift(statistics, schema, baseline, drift_report, config) -> list:  # noqa: ANN001
    """Measures drift (if there is a baseline), writes the report, returns drifted measurements."""
    summary = {spec.SUMMARY_CHECKED: False, spec.SUMMARY_ACTION: config.action,
               spec.SUMMARY_BASELINE_URI: None, spec.SUMMARY_MEASUREMENTS: []}
    result = None
    if baseline is None:
        log.info("data gate: no data baseline yet (no blessed model): drift not checked")
        artifact_io.write_anomalies(drift_report, {})
    else:
        result = drift.measure_drift(artifact_io.load_statistics(statistics),
                                     artifact_io.load_statistics(baseline),
                                     artifact_io.load_schema(schema), config)
        artifact_io.write_anomalies(drift_report, result.anomalies)
        summary.update({spec.SUMMARY_CHECKED: True, spec.SUMMARY_BASELINE_URI: baseline.uri,
                        spec.SUMMARY_MEASUREMENTS: [m.__dict__ for m in result.measurements]})
        for measurement in result.measurements:
            log.info("data gate drift: %s", measurement)
    tfx.dsl.io.fileio.makedirs(drift_report.uri)  # Kubeflow does not create output folders
    with tfx.dsl.io.fileio.open(os.path.join(drift_report.uri, spec.SUMMARY_FILE), "w") as handle:
        json.dump(summary, handle, indent=1)
    drifted = result.drifted if result else []
    drift_report.set_int_custom_property(spec.DRIFT_CHECKED, int(result is not None))
    drift_report.set_int_custom_property(spec.DRIFT_FINDINGS, len(drifted))
    drift_report.set_string_custom_property(spec.DRIFT_ACTION, config.action)
    if baseline is not None:
        drift_report.set_string_custom_property(spec.BASELINE_URI, baseline.uri)
    return drifted


def _keep_after_failure(drift_report) -> str:  # noqa: ANN001
    """A copy of the report beside the artifact's folder, which TFX deletes when the gate fails."""
    from tfx.utils import io_utils

    kept = f"{drift_report.uri.rstrip('/')}-blocked"
    io_utils.copy_dir(drift_report.uri, kept)
    return kept


@tfx.dsl.components.component
def DataGate(  # noqa: N802 - TFX names components like classes
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    schema: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Schema],
    drift_report: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    baseline: tfx.dsl.components.InputArtifact[DataBaseline] = None,  # None until a model is blessed
    block_severities: tfx.dsl.components.Parameter[str] = "ERROR",
    warn_only_kinds: tfx.dsl.components.Parameter[str] = "",
    drift_config: tfx.dsl.components.Parameter[str] = "",
) -> None:
    """Raises DataGateClosed naming each blocking anomaly or drift, and where the reports are.

    ``drift_config`` is a :class:`DriftConfig` as JSON (empty: drift not checked).
    ``drift_report`` holds TFDV's drift anomalies per split and ``drift.json``.
    """
    found = findings(artifact_io.load_anomalies(anomalies))
    blockers = blocking(found, _split_list(block_severities), _split_list(warn_only_kinds))
    for finding in found:
        if finding not in blockers:
            log.warning("data gate: not blocking: %s", finding)
    config = drift.config_from_json(drift_config) if drift_config else None
    drifted = []
    if config is not None and config.enabled:
        drifted = _check_drift(statistics, schema, baseline, drift_report, config)
    else:
        artifact_io.write_anomalies(drift_report, {})
        drift_report.set_int_custom_property(spec.DRIFT_CHECKED, 0)
    problems = []
    if blockers:
        listed = "\n  ".join(str(f) for f in blockers)
        problems.append(
            f"{len(blockers)} blocking anomal{'y' if len(blockers) == 1 else 'ies'} against the curated "
            f"schema:\n  {listed}\nFull report: {anomalies.uri}"
        )
    if drifted:
        report = drift.describe(drift.DriftResult(drifted, {}), config.action)
        if config.action == "block":
            problems.append(f"{report}\nFull report: {_keep_after_failure(drift_report)}")
        else:
            log.warning("data gate: %s", report)
    if problems:
        raise DataGateClosed("data gate closed; nothing is trained or pushed.\n" + "\n".join(problems))
    log.info("data gate open: %d non-blocking finding(s), %d drift warning(s)", len(found), len(drifted))
