"""Which anomalies block, decided on real TFDV Anomalies protos."""

from __future__ import annotations

from tensorflow_metadata.proto.v0 import anomalies_pb2

from pipeline.components.data_gate.policy import blocking, findings

T = anomalies_pb2.AnomalyInfo


def _anomalies(**features: tuple[int, int]) -> anomalies_pb2.Anomalies:
    result = anomalies_pb2.Anomalies()
    for name, (severity, kind) in features.items():
        info = result.anomaly_info[name]
        info.severity = severity
        info.description = f"{name} is off"
        info.reason.add(type=kind)
    return result


def test_errors_block_and_warnings_do_not():
    found = findings({"train": _anomalies(
        payment_type=(T.ERROR, T.ENUM_TYPE_UNEXPECTED_STRING_VALUES),
        company=(T.WARNING, T.ENUM_TYPE_UNEXPECTED_STRING_VALUES),
    )})
    assert [f.feature for f in blocking(found, ["ERROR"], [])] == ["payment_type"]
    assert "payment_type is off" in str(blocking(found, ["ERROR"], [])[0])


def test_warn_only_kinds_are_logged_not_blocking():
    found = findings({"eval": _anomalies(payment_type=(T.ERROR, T.ENUM_TYPE_UNEXPECTED_STRING_VALUES))})
    assert blocking(found, ["ERROR"], ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]) == []


def test_no_anomalies_means_open_gate():
    assert blocking(findings({"train": anomalies_pb2.Anomalies()}), ["ERROR"], []) == []


def test_dataset_level_anomalies_count():
    anomalies = anomalies_pb2.Anomalies()
    anomalies.dataset_anomaly_info.severity = T.ERROR
    anomalies.dataset_anomaly_info.description = "too few examples"
    [finding] = blocking(findings({"train": anomalies}), ["ERROR"], [])
    assert finding.feature == "(dataset)"
