"""The one reader of run facts: MLMD executions and artifacts turned into typed facts.

The end-of-run summary, ``runs``/``trace``/``diff`` and the HTML report all read a run
through this module, so each recorded name (a TFX property, a component's custom
property or file) is interpreted in exactly one function here:

============================  ==============================================================
fact                          function (what it reads)
============================  ==============================================================
status, timings               :func:`run_info` (execution states and times)
span, version, window         :func:`run_info` via :func:`pipeline.metadata.spans.run_spans`
                              (Examples ``span``/``version``, Transform's input Examples)
blocked, drift accepted       :func:`run_info` (a failed DataGate; the acceptances recorded by
                              :mod:`pipeline.metadata.drift_acceptance`)
data fingerprint, span        :func:`data_facts` (ExampleGen's ``input_*``/``span``)
hyperparameters               :func:`training_facts` (Trainer's ``train_args``/``custom_config``)
blessing                      :func:`is_blessed` (ModelBlessing ``blessed``)
push                          :func:`push_facts` (``pushed``/``pushed_destination``/...)
metrics, overall and sliced   :func:`evaluation_metrics` over :func:`load_eval_result` (TFMA)
drift                         :func:`drift_facts` (drift report properties and ``drift.json``),
                              :func:`failed_gate_drift` (a gate that failed)
TFLite variants               :func:`edge_facts` (TFLite properties), :func:`variant_tables`
                              (``report.json`` and any other variants table)
============================  ==============================================================

Writers keep the names in their component's light ``spec`` module (or
:mod:`pipeline.components.tfx_keys` for TFX's own); nothing here imports TFX or the runners
at import time. TFMA and TFX's file API are imported inside the functions that read files.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.components import tfx_keys as tfx
from pipeline.components.data_gate import spec as gate
from pipeline.components.data_gate.drift import DriftMeasurement
from pipeline.components.evaluator.spec import SLICE_METRICS_FILE
from pipeline.components.safe_pusher import spec as pusher
from pipeline.components.tflite_converter import spec as tflite
from pipeline.metadata import queries as q
from pipeline.metadata.drift_acceptance import GATE_NODE, Acceptance, acceptances
from pipeline.metadata.spans import run_spans

Execution = metadata_store_pb2.Execution
Artifact = metadata_store_pb2.Artifact


# --- status and timings ------------------------------------------------------------------------


def _iso(ms: int) -> str | None:
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000).isoformat(timespec="seconds")


@dataclass
class ComponentRun:
    """One node in one run: how it ended and how long it took."""

    node_id: str
    execution_id: int
    state: str
    started: str | None
    ended: str | None
    seconds: float


@dataclass
class RunInfo:
    """One pipeline run as MLMD recorded it."""

    run_id: str
    pipeline: str | None
    status: str
    started: str | None
    ended: str | None
    seconds: float
    components: list[ComponentRun] = field(default_factory=list)
    span: int | None = None  # the data span ExampleGen read (spanned sources; else TFX's 0)
    version: int | None = None
    window: list[int] = field(default_factory=list)  # spans trained on, newest first
    blocked: bool = False  # the data gate refused the run's data
    drift_accepted: str | None = None  # "by <who> at <when>: <why>" when an operator accepted it

    @property
    def ran(self) -> list[str]:
        return [c.node_id for c in self.components if c.state == "complete"]

    @property
    def cached(self) -> list[str]:
        return [c.node_id for c in self.components if c.state == "cached"]


def run_info(store: metadata_store.MetadataStore, run_id: str,
             accepted: dict[str, Acceptance] | None = None) -> RunInfo:
    """Status, timing, per-component state and data (span, window, gate) of one run.

    Any failed node fails the run. ``accepted`` (run id -> drift acceptance) saves one
    MLMD query per run when many runs are read; by default it is read here.
    """
    executions = sorted(q.run_executions(store, run_id).items(), key=lambda item: item[1].id)
    components = [
        ComponentRun(node_id=node, execution_id=e.id, state=q.state_name(e),
                     started=_iso(e.create_time_since_epoch), ended=_iso(e.last_update_time_since_epoch),
                     seconds=max(0.0, (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000))
        for node, e in executions
    ]
    states = {c.state for c in components}
    if "failed" in states:
        status = "failed"
    elif states & {"running", "new", "unknown"}:
        status = "running"
    elif not components:
        status = "empty"
    else:
        status = "complete"
    first = min((e.create_time_since_epoch for _, e in executions), default=0)
    last = max((e.last_update_time_since_epoch for _, e in executions), default=0)
    read = run_spans(store, run_id)
    acceptance = (acceptances(store) if accepted is None else accepted).get(run_id)
    return RunInfo(
        run_id=run_id,
        pipeline=q.pipeline_name_of(store, executions[0][1].id) if executions else None,
        status=status, started=_iso(first), ended=_iso(last), seconds=max(0.0, (last - first) / 1000),
        components=components,
        span=read.span, version=read.version, window=read.window,
        blocked=any(c.node_id == GATE_NODE and c.state == "failed" for c in components),
        drift_accepted=(f"by {acceptance.accepted_by} at {acceptance.accepted_at}: {acceptance.reason}"
                        if acceptance else None),
    )


# --- execution properties: data and training -------------------------------------------------------


def decoded(value: object) -> object:
    """TFX records many exec properties as JSON strings; decode those that are."""
    if isinstance(value, str) and value[:1] in "{[" or value in ("null", "true", "false"):
        try:
            return json.loads(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return value
    return value


def execution_properties(execution: Execution) -> dict[str, Any]:
    """An execution's properties with JSON strings decoded."""
    return {k: decoded(v) for k, v in q.all_properties(execution).items()}


@dataclass(frozen=True)
class DataFacts:
    """What an ExampleGen read: the input, TFX's fingerprint of its files, the span."""

    input_base: Any
    input_fingerprint: Any
    span: Any


def data_facts(properties: dict[str, Any]) -> DataFacts | None:
    """ExampleGen's recorded input (from decoded exec properties); None for other nodes."""
    if tfx.INPUT_BASE not in properties:
        return None
    return DataFacts(properties.get(tfx.INPUT_BASE), properties.get(tfx.INPUT_FINGERPRINT),
                     properties.get(tfx.SPAN))


@dataclass(frozen=True)
class TrainingFacts:
    """A Trainer's arguments: steps, hyperparameters (its ``custom_config``), training code."""

    train_args: Any
    eval_args: Any
    hyperparameters: Any  # a dict when recorded as one
    run_fn: Any

    @property
    def train_steps(self) -> Any:
        return _steps(self.train_args)

    @property
    def eval_steps(self) -> Any:
        return _steps(self.eval_args)


def _steps(args: object) -> object:
    return args.get("num_steps") if isinstance(args, dict) else args


def training_facts(properties: dict[str, Any]) -> TrainingFacts | None:
    """A Trainer's recorded arguments (from decoded exec properties); None for other nodes."""
    if tfx.TRAIN_ARGS not in properties:
        return None
    return TrainingFacts(properties.get(tfx.TRAIN_ARGS), properties.get(tfx.EVAL_ARGS),
                         properties.get(tfx.CUSTOM_CONFIG),
                         properties.get(tfx.RUN_FN) or properties.get(tfx.MODULE_FILE))


# --- blessing and push -----------------------------------------------------------------------------


def is_blessed(blessing: Artifact) -> bool:
    """Whether the Evaluator blessed the model (like TFX's ``model_utils.is_model_blessed``)."""
    return q.property_value(blessing, tfx.BLESSED) == 1


@dataclass(frozen=True)
class PushFacts:
    """A push record (Pusher's PushedModel, or the TFLite component's own bundle push)."""

    pushed: bool
    destination: str | None
    version: str | None
    reused: bool  # the model already served there: nothing was copied


def push_facts(artifact: Artifact) -> PushFacts:
    """The push as recorded in TFX's Pusher properties (plus SafePusher's reuse flag)."""
    destination = q.property_value(artifact, tfx.PUSHED_DESTINATION)
    version = q.property_value(artifact, tfx.PUSHED_VERSION)
    return PushFacts(
        pushed=q.property_value(artifact, tfx.PUSHED) == 1,
        destination=destination if isinstance(destination, str) and destination else None,
        version=version if isinstance(version, str) and version else None,
        reused=q.property_value(artifact, pusher.REUSED_EXISTING_PUSH) == 1,
    )


# --- files in artifact folders ---------------------------------------------------------------------


def read_text(path: str) -> str | None:
    """A file's text, or None when it does not exist (local paths and TFX's filesystems)."""
    from tfx.dsl.io import fileio

    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as handle:
        return handle.read()


# --- evaluation (TFMA) -----------------------------------------------------------------------------


def slice_name(slice_key: tuple) -> str:
    """'overall' for the whole eval split, else 'feature=value'."""
    if not slice_key:
        return "overall"
    return ", ".join(f"{name}={value}" for name, value in slice_key)


def candidate_model_name(uri: str) -> str | None:
    """The evaluated (non-baseline) model's name when TFMA compared several models, else None.

    With a baseline, TFMA stores results per model name; naming the candidate reads its
    metrics and plots without TFMA warning that an unnamed model has no plots.
    """
    text = read_text(os.path.join(uri, "eval_config.json"))
    if text is None:
        return None
    specs = json.loads(text).get("evalConfig", {}).get("modelSpecs", [])
    if len(specs) < 2:
        return None
    return next((s.get("name") for s in specs if not s.get("isBaseline")), None)


@functools.lru_cache(maxsize=8)
def load_eval_result(uri: str) -> Any:
    """The candidate model's TFMA result from an Evaluator's ``evaluation`` artifact.

    What ``tfma.load_eval_result`` returns, with two exceptions: ``plots`` holds the overall
    slice only and ``attributions`` is empty. TFMA turns every slice's plots (a 10,000-bucket
    calibration histogram and more; 29 slices here) into dicts through protobuf's JSON
    conversion (0.3 s idle, 0.7-0.8 s under load, per end-of-run summary), while the only
    plot anything here shows is the overall slice's calibration; no attributions are computed.
    Built from TFMA's public loaders and the converters ``tfma.load_eval_result`` itself uses
    (TFMA internals, used here only; a test compares the result with TFMA's own).

    Read once per process and artifact: a published artifact never changes, and the
    end-of-run summary and the report read the same one several times. Callers must not
    modify the result. A failed read is not remembered.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.view import util as view_util
    from tensorflow_model_analysis.writers import eval_config_writer

    model_name = candidate_model_name(uri)
    config, data_location, file_format, model_locations = eval_config_writer.load_eval_run(uri)
    metrics = [view_util.convert_metrics_proto_to_dict(m, model_name=model_name)
               for m in tfma.load_metrics(uri)]
    plots = [view_util.convert_plots_proto_to_dict(p, model_name=model_name)
             for p in tfma.load_plots(uri)
             if not p.HasField("cross_slice_key") and not tfma.slicer.deserialize_slice_key(p.slice_key)]
    if not model_locations:
        model_location = ""
    else:
        model_location = model_locations[model_name] if model_name else next(iter(model_locations.values()))
    return tfma.EvalResult(
        slicing_metrics=[m for m in metrics if m is not None], plots=[p for p in plots if p is not None],
        attributions=[], config=config, data_location=data_location, file_format=file_format,
        model_location=model_location)


def evaluation_metrics(uri: str) -> dict[str, dict[str, float]]:
    """Scalar metrics per slice ('overall', 'feature=value') of the evaluated model.

    TFMA's metrics, completed from the Evaluator's ``slice_metrics.json`` when present (the
    slices and the unthresholded metrics; artifacts from before it existed have everything
    in TFMA's files).
    """
    by_slice: dict[str, dict[str, float]] = {}
    for slice_key, metrics in load_eval_result(uri).slicing_metrics:
        values: dict[str, float] = {}
        for sub_key_metrics in metrics.values():
            for metric_map in sub_key_metrics.values():
                for name, value in metric_map.items():
                    if isinstance(value, dict) and "doubleValue" in value:
                        values[name] = float(value["doubleValue"])
        by_slice[slice_name(slice_key)] = values
    # The Evaluator computes its single-feature slicings beside TFMA (pipeline/components/evaluator).
    # TFMA's values win where both exist: the blessing was decided on TFMA's.
    numpy_result = slice_metrics_file(uri)
    if numpy_result is not None:
        for name, values in {"overall": numpy_result["overall"], **numpy_result["slices"]}.items():
            by_slice[name] = {**values, **by_slice.get(name, {})}
    return by_slice


def slice_metrics_file(uri: str) -> dict[str, Any] | None:
    """The Evaluator's ``slice_metrics.json`` (pipeline/components/evaluator/spec.py), if written."""
    text = read_text(os.path.join(uri, SLICE_METRICS_FILE))
    return None if text is None else json.loads(text)


# --- drift -----------------------------------------------------------------------------------------


@dataclass
class DriftFacts:
    """The data gate's drift check in one run: its artifact's properties and drift.json."""

    artifact_id: int | None  # None: the gate failed before publishing its drift report
    enabled: bool  # False: drift checks are switched off in the configuration
    checked: bool  # False: no baseline yet (no model blessed), or not enabled
    action: str | None = None  # "block" or "warn"
    baseline_uri: str | None = None
    findings: int | None = None
    measurements: list[DriftMeasurement] | None = None  # None: drift.json not read (or not written)
    failed_execution: int | None = None
    unreadable: str | None = None  # why drift.json could not be read

    @property
    def drifted(self) -> list[DriftMeasurement]:
        return [m for m in self.measurements or [] if m.drifted]

    @property
    def reason(self) -> str | None:
        """Why there are no measurements, or None when drift was checked."""
        if self.failed_execution is not None:
            return "the data gate failed before publishing its drift report"
        if not self.enabled:
            return "drift checks disabled"
        if not self.checked:
            return "no blessed model yet, so no data baseline to compare with"
        return None


def drift_facts(artifact: Artifact) -> DriftFacts:
    """The drift check as the gate recorded it: the report's properties, then its drift.json.

    The gate records ``drift_action`` only when drift checks are enabled, and writes no
    drift.json when they are disabled. A drift.json that cannot be read (or is missing
    although checks were enabled) leaves ``measurements`` None and says why in ``unreadable``.
    """
    action = q.property_value(artifact, gate.DRIFT_ACTION)
    facts = DriftFacts(
        artifact_id=artifact.id,
        enabled=action is not None,
        checked=q.property_value(artifact, gate.DRIFT_CHECKED) == 1,
        action=action,  # type: ignore[arg-type]
        baseline_uri=q.property_value(artifact, gate.BASELINE_URI),  # type: ignore[arg-type]
        findings=q.property_value(artifact, gate.DRIFT_FINDINGS),  # type: ignore[arg-type]
    )
    path = os.path.join(artifact.uri, gate.SUMMARY_FILE)
    try:
        text = read_text(path)
        if text is None:
            if facts.enabled:
                raise FileNotFoundError(f"{path} not found")
            return facts
        recorded = json.loads(text)
        rows = recorded.get(gate.SUMMARY_MEASUREMENTS) or []
        measurements = [DriftMeasurement.from_json(row) for row in rows]
    except Exception as error:  # noqa: BLE001 - the properties still say what happened
        facts.unreadable = str(error) or type(error).__name__
        return facts
    facts.enabled = True
    facts.checked = facts.checked or bool(recorded.get(gate.SUMMARY_CHECKED))
    facts.action = facts.action or recorded.get(gate.SUMMARY_ACTION)
    facts.baseline_uri = facts.baseline_uri or recorded.get(gate.SUMMARY_BASELINE_URI)
    facts.measurements = measurements
    if facts.findings is None:
        facts.findings = len(facts.drifted)
    return facts


def failed_gate_drift(store: metadata_store.MetadataStore, execution: Execution) -> DriftFacts:
    """What MLMD holds of a data gate that failed (a failed execution publishes no outputs)."""
    config = decoded(q.property_value(execution, gate.DRIFT_CONFIG_KEY))
    config = config if isinstance(config, dict) else {}
    baseline = q.artifacts_by_key(store, execution.id, q.INPUT_EVENTS).get(gate.BASELINE_KEY)
    return DriftFacts(artifact_id=None, enabled=bool(config.get("enabled")), checked=False,
                      action=config.get("action"), baseline_uri=baseline[0].uri if baseline else None,
                      failed_execution=execution.id)


def is_failed_gate(execution: Execution) -> bool:
    """A DataGate execution (it has the drift parameter) that failed."""
    return (execution.last_known_state == Execution.FAILED
            and q.property_value(execution, gate.DRIFT_CONFIG_KEY) is not None)


# --- TFLite variants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeFacts:
    """The TFLite component's outcome: its status and, when it pushed, the chosen variant."""

    status: str | None
    reason: str
    variant: str | None
    size_bytes: int | None
    auc: float | None
    push: PushFacts
    # Why each variant was or was not chosen, as the gate recorded it (``<variant>_reason``).
    variant_reasons: dict[str, str] = field(default_factory=dict)
    # What the pushed variant was converted from: ``base`` (the blessed model) or a TFMOT
    # technique; for a distilled ``student``, the Model artifact that taught it.
    technique: str | None = None
    teacher_model_id: int | None = None
    teacher_model_uri: str | None = None


def edge_facts(artifact: Artifact) -> EdgeFacts:
    """The TFLite component's outcome as recorded in its artifact's custom properties."""

    def text(name: str) -> str | None:
        value = q.property_value(artifact, name)
        return value if isinstance(value, str) and value else None

    status = text(tflite.STATUS)
    variant = text(tflite.CHOSEN_VARIANT) if status == tflite.STATUS_PUSHED else None
    size = (q.property_value(artifact, tflite.variant_property(variant, tflite.SIZE_BYTES))
            if variant else None)
    auc = q.property_value(artifact, tflite.variant_property(variant, tflite.AUC)) if variant else None
    suffix = tflite.variant_property("", tflite.REASON)
    reasons = {name[:-len(suffix)]: text(name) or "" for name in sorted(artifact.custom_properties)
               if name.endswith(suffix) and name != tflite.REASON}
    technique = text(tflite.CHOSEN_TECHNIQUE) if variant else None
    teacher = q.property_value(artifact, tflite.STUDENT_TEACHER_MODEL_ID)
    return EdgeFacts(status=status, reason=text(tflite.REASON) or "", variant=variant,
                     size_bytes=size if isinstance(size, int) else None,
                     auc=float(auc) if isinstance(auc, float | int) else None,
                     push=push_facts(artifact), variant_reasons=reasons, technique=technique,
                     teacher_model_id=teacher if isinstance(teacher, int) and teacher else None,
                     teacher_model_uri=text(tflite.STUDENT_TEACHER_MODEL_URI))


# An artifact carries a variants table when one of its string custom properties, whose
# name contains this word, holds a JSON list of objects (one row per variant), or when
# its folder holds one of VARIANTS_FILES with such a list (or an object with a "variants"
# list). The TFLite component writes its REPORT_FILE so.
VARIANTS_WORD = "variant"
VARIANTS_FILES = ("variants.json", tflite.REPORT_FILE)


@dataclass
class VariantTable:
    artifact_id: int
    artifact_type: str
    source: str
    rows: list[dict[str, Any]]


def variant_tables(artifacts: list[Artifact]) -> list[VariantTable]:
    """Variant tables recorded by any artifact (the TFLite component's hook; see VARIANTS_WORD)."""
    tables = []
    for artifact in artifacts:
        for name, value in artifact.custom_properties.items():
            if VARIANTS_WORD in name.lower() and value.WhichOneof("value") == "string_value":
                rows = _rows(value.string_value)
                if rows:
                    tables.append(VariantTable(artifact.id, artifact.type, f"property {name}", rows))
        for file_name in VARIANTS_FILES:
            text = read_text(os.path.join(artifact.uri, file_name)) if artifact.uri else None
            rows = _rows(text) if text is not None else []
            if rows:
                tables.append(VariantTable(artifact.id, artifact.type, file_name, rows))
    return tables


def _rows(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return []
    if isinstance(value, dict):
        value = value.get("variants", value.get("rows"))
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        return value
    return []


# --- one run ---------------------------------------------------------------------------------------


def real_execution(store: metadata_store.MetadataStore, execution: Execution,
                   outputs: dict[str, list[Artifact]]) -> Execution:
    """The execution that really produced a (possibly CACHED) execution's outputs.

    A CACHED execution does not carry all of the original's properties (ExampleGen's
    fingerprint, for one); they are read from the COMPLETE execution that wrote the outputs.
    """
    if execution.last_known_state != Execution.CACHED:
        return execution
    for artifacts in outputs.values():
        producers = q.producers(store, artifacts[0].id)
        if producers:
            return producers[0]
    return execution


@dataclass
class NodeFacts:
    """One node of a run: its execution, what it linked as outputs, its decoded properties."""

    node_id: str
    execution: Execution
    outputs: dict[str, list[Artifact]]
    properties: dict[str, Any]  # of the real producer when the node came from the cache


@dataclass
class RunFacts:
    """Everything the summary, ``diff`` and the report say about one run."""

    run_id: str
    nodes: dict[str, NodeFacts] = field(default_factory=dict)
    data: DataFacts | None = None
    examples: list[Artifact] = field(default_factory=list)
    training: TrainingFacts | None = None
    model: list[Artifact] = field(default_factory=list)
    blessed: bool | None = None
    baseline_model: int | None = None
    evaluation: Artifact | None = None
    metrics_by_slice: dict[str, dict[str, float]] = field(default_factory=dict)
    push: PushFacts | None = None
    drift: DriftFacts | None = None
    edge: EdgeFacts | None = None
    problems: list[str] = field(default_factory=list)  # "what: error" for facts that could not be read

    @property
    def metrics(self) -> dict[str, float]:
        """The overall (whole eval split) metrics."""
        return self.metrics_by_slice.get("overall", {})


def read_run(store: metadata_store.MetadataStore, run_id: str,
             executions: dict[str, Execution] | None = None) -> RunFacts:
    """The facts of one run; ``executions`` (node id -> execution) defaults to the run's in MLMD.

    A fact whose files cannot be read is left out and named in ``problems``; callers
    decide whether to show it.
    """
    if executions is None:
        executions = q.run_executions(store, run_id)
    facts = RunFacts(run_id=run_id)
    for node, execution in sorted(executions.items()):
        outputs = q.artifacts_by_key(store, execution.id, q.OUTPUT_EVENTS)
        properties = execution_properties(real_execution(store, execution, outputs))
        facts.nodes[node] = NodeFacts(node, execution, outputs, properties)
        if (data := data_facts(properties)) is not None:
            facts.data, facts.examples = data, outputs.get(tfx.EXAMPLES_KEY, [])
        if (training := training_facts(properties)) is not None:
            facts.training, facts.model = training, outputs.get(tfx.MODEL_KEY, [])
        if tfx.BLESSING_KEY in outputs:
            facts.blessed = is_blessed(outputs[tfx.BLESSING_KEY][0])
            baseline = q.artifacts_by_key(store, execution.id, q.INPUT_EVENTS).get(tfx.BASELINE_MODEL_KEY)
            facts.baseline_model = baseline[0].id if baseline else None
        if tfx.EVALUATION_KEY in outputs:
            facts.evaluation = outputs[tfx.EVALUATION_KEY][0]
            try:
                facts.metrics_by_slice = evaluation_metrics(facts.evaluation.uri)
            except Exception as error:  # noqa: BLE001 - a run's other facts stay readable
                facts.problems.append(f"evaluation metrics: {error}")
        if tfx.PUSHED_MODEL_KEY in outputs:
            facts.push = push_facts(outputs[tfx.PUSHED_MODEL_KEY][0])
        if gate.DRIFT_REPORT_KEY in outputs:
            facts.drift = drift_facts(outputs[gate.DRIFT_REPORT_KEY][0])
            if facts.drift.unreadable:
                facts.problems.append(f"drift report: {facts.drift.unreadable}")
        elif is_failed_gate(execution):
            facts.drift = failed_gate_drift(store, execution)
        if tflite.OUTPUT_KEY in outputs:
            facts.edge = edge_facts(outputs[tflite.OUTPUT_KEY][0])
    return facts
