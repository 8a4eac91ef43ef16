"""Report facts that need no pipeline run: the TFLite variants hook and report names."""

from __future__ import annotations

import json

import numpy as np

from pipeline.binary_metrics import calibration_buckets
from pipeline.config import SqliteMetadata
from pipeline.metadata.read_only import open_read_only
from pipeline.report.build import report_name
from pipeline.report.collect import calibration_points, variant_tables
from pipeline.report.html import _variants
from tests.support.mlmd_builder import StoreBuilder


def test_any_artifact_with_a_variants_table_is_shown(tmp_path):
    builder = StoreBuilder(tmp_path / "m.sqlite")
    rows = [{"variant": "int8", "size_kb": 21.5, "auc": 0.947}, {"variant": "float16", "size_kb": 40.1}]
    folder = tmp_path / "lite"
    folder.mkdir()
    (folder / "variants.json").write_text(json.dumps({"variants": rows[:1]}))
    with_property = builder.artifact("TFLiteModel", str(tmp_path / "x"), variants_table=json.dumps(rows))
    with_file = builder.artifact("EdgeBundle", str(folder))
    plain = builder.artifact("Model", str(tmp_path / "m"), note="not a table")
    # The TFLite component's own report file: {"status": ..., "variants": [...]}
    tflite_folder = tmp_path / "tflite"
    tflite_folder.mkdir()
    (tflite_folder / "report.json").write_text(json.dumps({"status": "pushed", "variants": rows}))
    tflite = builder.artifact("pipeline.TFLiteModels", str(tflite_folder))
    store = open_read_only(SqliteMetadata(str(tmp_path / "m.sqlite")))
    tables = variant_tables(store.get_artifacts_by_id([with_property, with_file, plain, tflite]))
    assert [(t.artifact_id, t.source, len(t.rows)) for t in tables] == [
        (with_property, "property variants_table", 2), (with_file, "variants.json", 1),
        (tflite, "report.json", 2)]

    class Data:
        variants = tables
        edge = "student_dynamic_range (3160 bytes, AUC 0.9446, a student distilled from model #12 (/m)) -> /e"

    page = _variants(Data())
    assert "float16" in page and "TFLiteModel" in page and "0.9470" in page
    assert "Edge bundle: student_dynamic_range" in page and "a student distilled from model #12" in page


def test_report_names_are_safe_file_names():
    assert report_name("2026-11-21T20:48:57.157885") == "run-2026-11-21T20-48-57.157885.html"


def test_the_calibration_plot_comes_from_the_evaluators_histogram_when_it_wrote_one(tmp_path):
    labels = np.array([0, 0, 1, 1, 1, 0], dtype=bool)
    scores = np.array([0.05, 0.12, 0.55, 0.58, 0.91, 0.95])
    (tmp_path / "slice_metrics.json").write_text(json.dumps(
        {"overall": {}, "slices": {}, "calibration_buckets": calibration_buckets(labels, scores)}))
    points = calibration_points(str(tmp_path))
    assert [n for _, _, n in points] == [1, 1, 2, 2]  # deciles 0, 1, 5, 9
    assert np.allclose(points[2][:2], (0.565, 1.0)) and np.allclose(points[3][:2], (0.93, 0.5))
