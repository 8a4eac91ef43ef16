"""The run-facts reader on small real MLMD stores: each recorded name read in one place."""

from __future__ import annotations

import json
import subprocess
import sys

from ml_metadata.proto import metadata_store_pb2 as pb

from pipeline.config import REPO_ROOT
from pipeline.metadata import facts
from tests.support.mlmd_builder import StoreBuilder, two_run_store

RUN = "2026-02-01T10:00:00"


def one_artifact(tmp_path, type_name: str, **properties: object) -> pb.Artifact:
    tmp_path.mkdir(parents=True, exist_ok=True)
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    folder = tmp_path / type_name
    folder.mkdir(exist_ok=True)
    [artifact] = builder.store.get_artifacts_by_id([builder.artifact(type_name, str(folder), **properties)])
    return artifact


def test_a_blessing_counts_only_when_blessed_is_recorded_as_one(tmp_path):
    assert facts.is_blessed(one_artifact(tmp_path / "yes", "ModelBlessing", blessed=1))
    assert not facts.is_blessed(one_artifact(tmp_path / "no", "ModelBlessing", blessed=0))
    assert not facts.is_blessed(one_artifact(tmp_path / "absent", "ModelBlessing"))


def test_a_push_reads_destination_version_and_reuse(tmp_path):
    pushed = facts.push_facts(one_artifact(tmp_path / "p", "PushedModel", pushed=1,
                                           pushed_destination="/srv/3", pushed_version="3",
                                           reused_existing_push=1))
    assert pushed == facts.PushFacts(pushed=True, destination="/srv/3", version="3", reused=True)
    assert facts.push_facts(one_artifact(tmp_path / "n", "PushedModel", pushed=0)) == facts.PushFacts(
        pushed=False, destination=None, version=None, reused=False)


def test_data_and_training_facts_come_only_from_their_components_properties():
    gen = {"input_base": "/data", "input_fingerprint": "split:a,num_files:1", "span": 0}
    assert facts.data_facts(gen) == facts.DataFacts("/data", "split:a,num_files:1", 0)
    trainer = {"train_args": {"num_steps": 150}, "eval_args": {"num_steps": 10},
               "custom_config": {"learning_rate": 0.003}, "module_file": "models/model.py"}
    training = facts.training_facts(trainer)
    assert (training.train_steps, training.eval_steps) == (150, 10)
    assert training.hyperparameters == {"learning_rate": 0.003} and training.run_fn == "models/model.py"
    assert facts.data_facts(trainer) is None and facts.training_facts(gen) is None


def test_a_cached_rerun_reads_data_and_hyperparameters_from_the_real_producer(tmp_path):
    ids = two_run_store(tmp_path / "metadata.sqlite")
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    second = facts.read_run(builder.store, ids["runs"][1])
    assert second.data == facts.DataFacts("/data/taxi", "files:1", None)
    assert [a.id for a in second.examples] == [ids["examples"]]
    assert second.training.hyperparameters == {"learning_rate": 0.003}
    assert [a.id for a in second.model] == [ids["model"]]
    assert second.blessed is True and second.baseline_model == ids["model"]
    assert second.push is None and second.problems == []
    first = facts.read_run(builder.store, ids["runs"][0])
    assert first.push == facts.PushFacts(True, "/srv/serving/17", None, False)
    assert first.nodes["CsvExampleGen"].execution.last_known_state == pb.Execution.COMPLETE


def test_run_status_is_failed_when_any_node_failed(tmp_path):
    builder = StoreBuilder(tmp_path / "metadata.sqlite")
    builder.execution(RUN, "CsvExampleGen", {}, {"examples": [builder.artifact("Examples", "/e")]})
    builder.execution(RUN, "DataGate", {}, {}, state=pb.Execution.FAILED)
    info = facts.run_info(builder.store, RUN)
    assert info.status == "failed" and [c.state for c in info.components] == ["complete", "failed"]
    assert info.pipeline == "taxi-edge"


def drift_report(tmp_path, drift_file: object = None, **properties: object) -> pb.Artifact:
    artifact = one_artifact(tmp_path, "ExampleAnomalies", **properties)
    if drift_file is not None:
        text = drift_file if isinstance(drift_file, str) else json.dumps(drift_file)
        (tmp_path / "ExampleAnomalies" / "drift.json").write_text(text)
    return artifact


def test_drift_reads_the_properties_then_the_measurements(tmp_path):
    rows = [{"split": "train", "feature": "fare", "comparator": "JS", "value": 0.07, "threshold": "0.02",
             "drifted": True},
            {"split": "eval", "feature": "fare", "comparator": "JS", "value": 0.001, "threshold": "0.02",
             "drifted": False}]
    drift = facts.drift_facts(drift_report(tmp_path, {"checked": True, "action": "warn", "baseline_uri": "/b",
                                                      "measurements": rows},
                                           drift_checked=1, drift_action="warn", baseline_uri="/b"))
    assert (drift.enabled, drift.checked, drift.action, drift.baseline_uri) == (True, True, "warn", "/b")
    assert [(m.feature, m.split) for m in drift.drifted] == [("fare", "train")]
    assert drift.findings == 1 and drift.reason is None and drift.unreadable is None


def test_drift_disabled_has_no_file_and_an_enabled_check_without_one_is_unreadable(tmp_path):
    disabled = facts.drift_facts(drift_report(tmp_path / "off", None, drift_checked=0))
    assert disabled.reason == "drift checks disabled" and disabled.unreadable is None
    missing = facts.drift_facts(drift_report(tmp_path / "lost", None, drift_checked=1, drift_action="block",
                                             drift_findings=2))
    assert missing.measurements is None and missing.findings == 2
    assert missing.unreadable.endswith("drift.json not found")


def test_edge_facts_name_the_pushed_variant_or_why_nothing_was_pushed(tmp_path):
    pushed = facts.edge_facts(one_artifact(
        tmp_path / "p", "pipeline.TFLiteModels", status="pushed", reason="ok", chosen_variant="int8",
        int8_size_bytes=7352, int8_auc=0.9452, pushed=1, pushed_destination="/edge/5"))
    assert (pushed.variant, pushed.size_bytes, pushed.auc, pushed.push.destination) == (
        "int8", 7352, 0.9452, "/edge/5")
    refused = facts.edge_facts(one_artifact(tmp_path / "n", "pipeline.TFLiteModels", status="not_blessed",
                                            reason="model not blessed", pushed=0))
    assert (refused.variant, refused.status, refused.push.pushed) == (None, "not_blessed", False)


def test_edge_facts_name_a_pushed_students_teacher(tmp_path):
    student = facts.edge_facts(one_artifact(
        tmp_path / "s", "pipeline.TFLiteModels", status="pushed", reason="ok",
        chosen_variant="student_dynamic_range", chosen_technique="student", student_teacher_model_id=12,
        student_teacher_model_uri="/out/Trainer/model/12", pushed=1, pushed_destination="/edge/6"))
    assert (student.technique, student.teacher_model_id, student.teacher_model_uri) == (
        "student", 12, "/out/Trainer/model/12")
    base = facts.edge_facts(one_artifact(
        tmp_path / "b", "pipeline.TFLiteModels", status="pushed", reason="ok", chosen_variant="int8",
        chosen_technique="base", student_teacher_model_id=12, pushed=1, pushed_destination="/edge/7"))
    assert (base.technique, base.teacher_model_id) == ("base", 12)  # a student was built, not pushed


def test_the_tflite_report_file_is_read_as_a_variants_table(tmp_path):
    artifact = one_artifact(tmp_path, "pipeline.TFLiteModels")
    rows = [{"name": "int8", "size_bytes": 7352}, {"name": "float16", "size_bytes": 13000}]
    (tmp_path / "pipeline.TFLiteModels" / "report.json").write_text(json.dumps({"status": "pushed",
                                                                                "variants": rows}))
    [table] = facts.variant_tables([artifact])
    assert (table.source, table.rows) == ("report.json", rows)


def test_reading_runs_imports_neither_tfx_nor_tensorflow():
    code = ("import sys; import pipeline.metadata.facts, pipeline.report.summary, pipeline.lineage.api, "
            "pipeline.lineage.text; "
            "print(sorted(m for m in ('tfx', 'tensorflow', 'tensorflow_model_analysis', 'pipeline.runners') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_an_evaluation_is_read_once_per_artifact(monkeypatch, tmp_path):
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.writers import eval_config_writer

    reads = []
    monkeypatch.setattr(eval_config_writer, "load_eval_run",
                        lambda uri: reads.append(uri) or (None, "", "tfrecord", {}))
    monkeypatch.setattr(tfma, "load_metrics", lambda uri: iter(()))
    monkeypatch.setattr(tfma, "load_plots", lambda uri: iter(()))
    facts.load_eval_result.cache_clear()
    first, second = str(tmp_path / "evaluation-1"), str(tmp_path / "evaluation-2")
    assert facts.load_eval_result(first) is facts.load_eval_result(first)
    facts.load_eval_result(second)
    assert reads == [first, second]
    facts.load_eval_result.cache_clear()


def test_tfmas_metrics_are_completed_by_the_evaluators_numpy_slices(monkeypatch, tmp_path):
    class Result:  # TFMA's EvalResult as read: (slice key, {output: {sub key: {metric: value}}})
        slicing_metrics = [((), {"": {"": {"auc": {"doubleValue": 0.951}}}})]

    monkeypatch.setattr(facts, "load_eval_result", lambda uri: Result())
    (tmp_path / "slice_metrics.json").write_text(json.dumps({
        "overall": {"auc": 0.9512, "binary_accuracy": 0.89},
        "slices": {"trip_start_hour=3": {"auc": 0.98, "example_count": 999.0}}}))
    metrics = facts.evaluation_metrics(str(tmp_path))
    assert metrics["overall"] == {"auc": 0.951, "binary_accuracy": 0.89}  # the blessing's AUC is TFMA's
    assert metrics["trip_start_hour=3"] == {"auc": 0.98, "example_count": 999.0}
