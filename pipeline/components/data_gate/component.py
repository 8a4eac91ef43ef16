"""DataGate: fails when ExampleValidator's anomalies contain blocking findings.

No ``from __future__ import annotations`` here: TFX reads the function's annotations
as real types to build the component spec.
"""


import logging
import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils

from pipeline.components.data_gate.policy import DataGateClosed, blocking, findings

log = logging.getLogger(__name__)

ANOMALIES_FILE = "SchemaDiff.pb"


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def load_anomalies(artifact: tfx.types.standard_artifacts.ExampleAnomalies) -> dict:
    """Anomalies proto per split, read from the ExampleValidator's output."""
    result = {}
    for split in artifact_utils.decode_split_names(artifact.split_names):
        path = os.path.join(artifact.uri, f"Split-{split}", ANOMALIES_FILE)
        anomalies = anomalies_pb2.Anomalies()
        with tfx.dsl.io.fileio.open(path, "rb") as handle:
            anomalies.ParseFromString(handle.read())
        result[split] = anomalies
    return result


@tfx.dsl.components.component
def DataGate(  # noqa: N802 - TFX names components like classes
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    block_severities: tfx.dsl.components.Parameter[str] = "ERROR",
    warn_only_kinds: tfx.dsl.components.Parameter[str] = "",
) -> None:
    """Raises DataGateClosed naming each blocking anomaly and where the report is."""
    found = findings(load_anomalies(anomalies))
    blockers = blocking(found, _split_list(block_severities), _split_list(warn_only_kinds))
    for finding in found:
        if finding not in blockers:
            log.warning("data gate: not blocking: %s", finding)
    if blockers:
        listed = "\n  ".join(str(f) for f in blockers)
        raise DataGateClosed(
            f"data gate closed: {len(blockers)} blocking anomal{'y' if len(blockers) == 1 else 'ies'} "
            f"against the curated schema; nothing is trained or pushed.\n  {listed}\n"
            f"Full report: {anomalies.uri}"
        )
    log.info("data gate open: %d non-blocking finding(s)", len(found))
