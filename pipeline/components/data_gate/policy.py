"""Which anomalies block a run: a pure function over TFDV's Anomalies protos."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tensorflow_metadata.proto.v0 import anomalies_pb2


class DataGateClosed(RuntimeError):
    """Blocking anomalies were found; the message names them and the report."""


@dataclass(frozen=True)
class Finding:
    split: str
    feature: str
    severity: str
    kinds: tuple[str, ...]
    description: str

    def __str__(self) -> str:
        kinds = ", ".join(self.kinds)
        return f"[{self.split}] {self.feature}: {self.description} ({self.severity}; {kinds})"


def findings(anomalies_by_split: Mapping[str, anomalies_pb2.Anomalies]) -> list[Finding]:
    """Every anomaly of every split, feature-level and dataset-level."""
    result = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        infos = [(name, info) for name, info in sorted(anomalies.anomaly_info.items())]
        if anomalies.HasField("dataset_anomaly_info"):
            infos.append(("(dataset)", anomalies.dataset_anomaly_info))
        for feature, info in infos:
            result.append(Finding(
                split=split,
                feature=feature,
                severity=anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                kinds=tuple(anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason),
                description=info.description or info.short_description,
            ))
    return result


def blocking(all_findings: Iterable[Finding], block_severities: Iterable[str],
             warn_only_kinds: Iterable[str]) -> list[Finding]:
    """Findings that block: a blocking severity, unless every kind is warn-only."""
    severities = set(block_severities)
    warn_only = set(warn_only_kinds)
    return [
        f for f in all_findings
        if f.severity in severities and not (f.kinds and set(f.kinds) <= warn_only)
    ]
