"""The end-of-run summary's drift line, read from a small real MLMD store and drift.json."""

from __future__ import annotations

import json

from pipeline.report.summary import format_summary, summarise
from pipeline.runners.ir import NodeResult
from tests.support.mlmd_builder import StoreBuilder

RUN = "2026-02-01T10:00:00"
BASELINE = "/out/DataBaselineRecorder/baseline/11"


def _row(split: str, feature: str, value: float, drifted: bool, threshold: str = "0.02") -> dict:
    return {"split": split, "feature": feature, "comparator": "Jensen-Shannon", "value": value,
            "threshold": threshold, "drifted": drifted}


def summary_text(tmp_path, drift_file: object = None, **properties: object) -> str:
    """The formatted summary of a run whose DataGate published a drift_report artifact."""
    folder = tmp_path / "drift_report"
    folder.mkdir(parents=True)
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    if drift_file is not None:
        text = drift_file if isinstance(drift_file, str) else json.dumps(drift_file)
        (folder / "drift.json").write_text(text)
    report = builder.artifact("ExampleAnomalies", str(folder), **properties)
    execution = builder.execution(RUN, "DataGate", {}, {"drift_report": [report]})
    summary = summarise(builder.store, RUN, [NodeResult("DataGate", "complete", 1.5, execution)])
    return format_summary(summary)


def drift_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("drift:")]


def test_checked_without_drift_counts_the_measurements(tmp_path):
    rows = [_row(split, feature, 0.001, False) for split in ("eval", "train")
            for feature in ("fare", "trip_miles", "trip_seconds")]
    text = summary_text(tmp_path, {"checked": True, "action": "block", "baseline_uri": BASELINE,
                                   "measurements": rows},
                        drift_checked=1, drift_findings=0, drift_action="block", baseline_uri=BASELINE)
    assert drift_lines(text) == [
        f"drift: checked against baseline {BASELINE}: 0 of 6 measurements over their limits (action block)"]
    assert text.splitlines()[1].split()[0] == "DataGate"  # the node list stays first


def test_warned_drift_names_the_drifted_features_and_splits(tmp_path):
    rows = [_row("train", "fare", 0.0683, True), _row("eval", "fare", 0.0702, True),
            _row("train", "trip_miles", 0.004, False), _row("train", "payment_type", 0.31, True, "0.1")]
    text = summary_text(tmp_path, {"checked": True, "action": "warn", "baseline_uri": BASELINE,
                                   "measurements": rows},
                        drift_checked=1, drift_findings=3, drift_action="warn", baseline_uri=BASELINE)
    assert drift_lines(text) == [
        f"drift: checked against baseline {BASELINE}: 3 of 4 measurements over their limits (action warn); "
        "drifted: fare (train, eval), payment_type (train)"]


def test_not_checked_says_why(tmp_path):
    first = summary_text(tmp_path / "first", {"checked": False, "action": "block", "baseline_uri": None,
                                              "measurements": []},
                         drift_checked=0, drift_findings=0, drift_action="block")
    assert drift_lines(first) == [
        "drift: not checked (no blessed model yet, so no data baseline to compare with)"]
    disabled = summary_text(tmp_path / "disabled", None, drift_checked=0)
    assert drift_lines(disabled) == ["drift: not checked (drift checks disabled)"]


def test_an_unreadable_drift_file_falls_back_to_the_recorded_count(tmp_path):
    text = summary_text(tmp_path, "{not json", drift_checked=1, drift_findings=2, drift_action="warn",
                        baseline_uri=BASELINE)
    [line] = drift_lines(text)
    assert line.startswith(f"drift: checked against baseline {BASELINE}: 2 measurement(s) over their limits "
                           "(action warn); drift.json unreadable: ")


def test_no_data_gate_no_drift_line(tmp_path):
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    examples = builder.artifact("Examples", "/e")
    execution = builder.execution(RUN, "CsvExampleGen", {}, {"examples": [examples]})
    nodes = [NodeResult("CsvExampleGen", "complete", 1.0, execution)]
    text = format_summary(summarise(builder.store, RUN, nodes))
    assert drift_lines(text) == []


def test_a_pushed_student_names_its_teacher_on_the_edge_line(tmp_path):
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    (tmp_path / "tflite").mkdir()
    tflite = builder.artifact(
        "pipeline.TFLiteModels", str(tmp_path / "tflite"), status="pushed", reason="ok",
        chosen_variant="student_dynamic_range", chosen_technique="student",
        student_dynamic_range_size_bytes=3160, student_dynamic_range_auc=0.9446,
        student_teacher_model_id=12, student_teacher_model_uri="/out/Trainer/model/12", pushed=1,
        pushed_destination="/edge/6")
    execution = builder.execution(RUN, "TFLiteConverter", {}, {"tflite_models": [tflite]})
    text = format_summary(summarise(builder.store, RUN, [NodeResult("TFLiteConverter", "complete", 9.0,
                                                                    execution)]))
    assert ("edge bundle: student_dynamic_range (3160 bytes, AUC 0.9446, a student distilled from model #12 "
            "(/out/Trainer/model/12)) -> /edge/6") in text
