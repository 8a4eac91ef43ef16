"""The report's drift section, on small real MLMD stores and real drift.json files."""

from __future__ import annotations

import json
import re

from ml_metadata.proto import metadata_store_pb2 as pb

from pipeline.config import SqliteMetadata
from pipeline.lineage.api import Lineage
from pipeline.metadata.read_only import open_read_only
from pipeline.report import collect, html
from tests.support.mlmd_builder import StoreBuilder

RUN = "2026-02-01T10:00:00"
BASELINE = "/out/DataBaselineRecorder/baseline/11"
MEASUREMENTS = [
    {"split": "train", "feature": "fare", "comparator": "Jensen-Shannon", "value": 0.0683,
     "threshold": "0.02", "drifted": True},
    {"split": "eval", "feature": "fare", "comparator": "Jensen-Shannon", "value": 0.0071,
     "threshold": "0.02", "drifted": False},
    {"split": "train", "feature": "payment_type", "comparator": "L-infinity", "value": 0.0412,
     "threshold": "0.1", "drifted": False},
    {"split": "train", "feature": "(dataset)", "comparator": "example-count ratio", "value": 1.25,
     "threshold": "0.5..2", "drifted": False},
]


def gate_run(tmp_path, drift_file: object = None, **properties: object) -> Lineage:
    """One run whose DataGate published a drift_report artifact with ``properties``.

    ``drift_file``: a dict written as drift.json, a string written as is, None: no file.
    """
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    folder = tmp_path / "DataGate" / "drift_report" / "7"
    folder.mkdir(parents=True)
    if drift_file is not None:
        text = drift_file if isinstance(drift_file, str) else json.dumps(drift_file)
        (folder / "drift.json").write_text(text)
    anomalies = builder.artifact("ExampleAnomalies", str(tmp_path / "ExampleValidator" / "anomalies" / "6"))
    report = builder.artifact("ExampleAnomalies", str(folder), **properties)
    builder.execution(RUN, "DataGate", {"anomalies": [anomalies]}, {"drift_report": [report]},
                      block_severities="ERROR")
    return Lineage(open_read_only(SqliteMetadata(str(tmp_path / "metadata.sqlite"))))


def drift_section(page: str) -> str:
    return re.search(r'<section id="drift">(.*?)</section>', page, re.S).group(1)


def test_checked_drift_shows_every_measurement_the_drifted_one_highlighted_and_a_chart(tmp_path):
    lineage = gate_run(tmp_path, {"checked": True, "action": "warn", "baseline_uri": BASELINE,
                                  "measurements": MEASUREMENTS},
                       drift_checked=1, drift_findings=1, drift_action="warn", baseline_uri=BASELINE)
    data = collect.collect(lineage, "latest")
    assert data.problems == []
    assert data.drift.checked and data.drift.action == "warn" and data.drift.baseline_uri == BASELINE
    assert [(m.feature, m.split, m.value) for m in data.drift.drifted] == [("fare", "train", 0.0683)]

    section = drift_section(html.render(data, None))
    assert "Data drift vs last blessed model" in section
    assert "1 drifted (warning)" in section and f"<code>{BASELINE}</code>" in section
    assert "<b>warn</b>" in section
    highlighted = re.findall(r"<tr class='hl'>(.*?)</tr>", section)
    assert len(highlighted) == 1
    assert "<td>fare</td>" in highlighted[0] and "0.0683" in highlighted[0] and "DRIFT" in highlighted[0]
    assert "<td>0.02</td>" in highlighted[0]
    # Measurements within their limits, the example-count ratio with its range as the limit.
    assert "0.0071" in section and "payment_type" in section and "0.5..2" in section
    # The chart: one bar per feature and split with a numeric limit (not the ratio).
    [svg] = re.findall(r"<svg.*?</svg>", section, re.S)
    assert "fare (train)" in svg and "payment_type (train)" in svg and "(dataset)" not in svg


def test_the_first_run_says_there_was_no_blessed_model_to_compare_with(tmp_path):
    first_run = {"checked": False, "action": "block", "baseline_uri": None, "measurements": []}
    lineage = gate_run(tmp_path, first_run, drift_checked=0, drift_findings=0, drift_action="block")
    data = collect.collect(lineage, "latest")
    section = drift_section(html.render(data, None))
    assert "not checked" in section and "no blessed model yet" in section
    assert "<table" not in section and "<svg" not in section
    assert data.problems == []


def test_disabled_drift_checks_write_no_file_and_are_reported_as_disabled(tmp_path):
    lineage = gate_run(tmp_path, None, drift_checked=0)
    data = collect.collect(lineage, "latest")
    assert data.problems == []
    section = drift_section(html.render(data, None))
    assert "not checked" in section and "drift checks disabled" in section


def test_an_unreadable_drift_file_is_listed_and_the_report_still_renders(tmp_path):
    lineage = gate_run(tmp_path, "{not json", drift_checked=1, drift_findings=2, drift_action="block",
                       baseline_uri=BASELINE)
    data = collect.collect(lineage, "latest")
    assert [p.split(":")[0] for p in data.problems] == ["drift report"]
    page = html.render(data, None)
    section = drift_section(page)
    assert "2 drifted" in section and BASELINE in section and "could not be read" in section
    assert '<section id="problems">' in page


def test_a_failed_gate_shows_what_mlmd_holds(tmp_path):
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    baseline = builder.artifact("pipeline.DataBaseline", "/out/DataBaselineRecorder/baseline/24")
    config = json.dumps({"enabled": True, "action": "block", "checks": []})
    execution = builder.execution(RUN, "DataGate", {"baseline": [baseline]}, {}, state=pb.Execution.FAILED,
                                  drift_config=config)
    data = collect.collect(Lineage(open_read_only(SqliteMetadata(str(tmp_path / "metadata.sqlite")))), RUN)
    assert data.drift.failed_execution == execution and data.drift.action == "block"
    section = drift_section(html.render(data, None))
    assert f"execution #{execution} failed" in section
    assert "/out/DataBaselineRecorder/baseline/24" in section


def test_a_run_without_a_data_gate_has_no_drift_report(tmp_path):
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    builder.execution(RUN, "CsvExampleGen", {}, {"examples": [builder.artifact("Examples", "/out/e/1")]})
    data = collect.collect(Lineage(open_read_only(SqliteMetadata(str(tmp_path / "metadata.sqlite")))), RUN)
    assert data.drift is None
    assert "No drift report in this run." in drift_section(html.render(data, None))
