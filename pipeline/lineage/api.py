"""The lineage API: runs, traces and diffs read from ML Metadata.

Everything here reads MLMD through :mod:`pipeline.metadata.queries` and returns plain
dataclasses (``dataclasses.asdict`` gives the JSON the CLI prints). Three rules keep
answers right when the cache is involved:

- an artifact's producer is the execution that really wrote it (COMPLETE), never a
  CACHED execution of a later run that merely re-linked it; the runs that reused it
  are listed separately;
- an Evaluator's ``baseline_*`` inputs are a comparison, not an origin: a trace does
  not follow them (otherwise every model would descend from the previous one);
- a path (serving folder, ``.tflite`` file, anything inside an artifact folder)
  resolves to the artifact whose URI or recorded destination is its closest parent.
"""

from __future__ import annotations

import datetime
import json
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.metadata import queries as q
from pipeline.metadata.drift_acceptance import acceptances
from pipeline.metadata.read_only import LineageError
from pipeline.metadata.spans import run_spans

Execution = metadata_store_pb2.Execution
Artifact = metadata_store_pb2.Artifact

LATEST = ("latest", "last")


def _iso(ms: int) -> str | None:
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000).isoformat(timespec="seconds")


def _json_or_value(value: object) -> object:
    """TFX records many exec properties as JSON strings; decode those that are."""
    if isinstance(value, str) and value[:1] in "{[" or value in ("null", "true", "false"):
        try:
            return json.loads(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return value
    return value


def is_reference_input(key: str) -> bool:
    """Inputs used for comparison only (an Evaluator's baseline model), not as an origin."""
    return key.startswith("baseline")


# --- Results ---------------------------------------------------------------------------------


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


@dataclass
class ArtifactInfo:
    """An artifact and the execution that really produced it."""

    id: int
    type: str
    uri: str
    output_key: str | None
    producer_node: str | None
    producer_execution_id: int | None
    run_id: str | None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """One execution on a lineage path (the real producer, never a cache hit)."""

    execution_id: int
    node_id: str
    state: str
    run_id: str | None
    inputs: dict[str, list[int]]
    outputs: dict[str, list[int]]
    properties: dict[str, Any]
    reused_by_runs: list[str] = field(default_factory=list)


@dataclass
class Trace:
    """Where an artifact came from and what became of its model."""

    target: ArtifactInfo
    matched_by: str
    steps: list[Step]
    artifacts: dict[int, ArtifactInfo]
    data_sources: list[dict[str, Any]] = field(default_factory=list)
    schemas: list[int] = field(default_factory=list)
    statistics: list[int] = field(default_factory=list)
    anomalies: list[int] = field(default_factory=list)
    transform_graphs: list[int] = field(default_factory=list)
    trainers: list[dict[str, Any]] = field(default_factory=list)
    model: int | None = None
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    derived: list[int] = field(default_factory=list)
    forward_steps: list[Step] = field(default_factory=list)


@dataclass
class DiffRow:
    """One compared fact of two runs."""

    key: str
    a: Any
    b: Any

    @property
    def changed(self) -> bool:
        return self.a != self.b


@dataclass
class RunDiff:
    run_a: str
    run_b: str
    rows: list[DiffRow]

    @property
    def changed(self) -> list[DiffRow]:
        return [row for row in self.rows if row.changed]


# --- The API ---------------------------------------------------------------------------------


class Lineage:
    """Read-only lineage questions over one MLMD store."""

    def __init__(self, store: metadata_store.MetadataStore, where: str = "the MLMD store") -> None:
        self.store = store
        self.where = where
        self._executions: dict[int, Execution] = {}
        self._node_ids: dict[int, str] = {}
        self._run_ids: dict[int, str | None] = {}

    # -- small cached look-ups --

    def execution(self, execution_id: int) -> Execution:
        if execution_id not in self._executions:
            [self._executions[execution_id]] = self.store.get_executions_by_id([execution_id])
        return self._executions[execution_id]

    def node_id(self, execution_id: int) -> str:
        if execution_id not in self._node_ids:
            try:
                self._node_ids[execution_id] = q.node_id_of(self.store, execution_id)
            except LookupError:
                self._node_ids[execution_id] = self.execution(execution_id).type.rsplit(".", 1)[-1]
        return self._node_ids[execution_id]

    def run_id(self, execution_id: int) -> str | None:
        if execution_id not in self._run_ids:
            self._run_ids[execution_id] = q.run_id_of(self.store, execution_id)
        return self._run_ids[execution_id]

    def artifact(self, artifact_id: int) -> Artifact:
        found = self.store.get_artifacts_by_id([artifact_id])
        if not found:
            raise LineageError(f"no artifact with id {artifact_id} in {self.where}")
        return found[0]

    def artifact_info(self, artifact: Artifact) -> ArtifactInfo:
        """The artifact with its real producer (COMPLETE beats CACHED)."""
        producers = q.producers(self.store, artifact.id)
        producer = producers[0] if producers else None
        key = None
        if producer is not None:
            for name, artifacts in q.artifacts_by_key(self.store, producer.id, q.OUTPUT_EVENTS).items():
                if any(a.id == artifact.id for a in artifacts):
                    key = name
        return ArtifactInfo(
            id=artifact.id,
            type=artifact.type,
            uri=artifact.uri,
            output_key=key,
            producer_node=self.node_id(producer.id) if producer else None,
            producer_execution_id=producer.id if producer else None,
            run_id=self.run_id(producer.id) if producer else None,
            properties={k: v for k, v in q.all_properties(artifact).items()
                        if k not in ("tfx_version", "is_external", "state")},
        )

    # -- runs --

    def run_ids(self) -> list[str]:
        """All run ids, oldest first; raises if the store has none."""
        ids = q.run_ids(self.store)
        if not ids:
            raise LineageError(f"no pipeline runs recorded in {self.where}")
        return ids

    def resolve_run(self, ref: str) -> str:
        """A run id from 'latest', an exact id, or a unique prefix of one."""
        ids = self.run_ids()
        if ref in LATEST:
            return ids[-1]
        if ref in ids:
            return ref
        matches = [run_id for run_id in ids if run_id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise LineageError(f"run id {ref!r} is ambiguous: {', '.join(matches)}")
        raise LineageError(f"no pipeline run {ref!r} in {self.where}; `runs` lists the known ones")

    def run(self, ref: str) -> RunInfo:
        """Status, timing and per-component state of one run."""
        run_id = self.resolve_run(ref)
        executions = sorted(q.run_executions(self.store, run_id).items(), key=lambda item: item[1].id)
        components = [
            ComponentRun(
                node_id=node,
                execution_id=e.id,
                state=q.state_name(e),
                started=_iso(e.create_time_since_epoch),
                ended=_iso(e.last_update_time_since_epoch),
                seconds=max(0.0, (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000),
            )
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
        read = run_spans(self.store, run_id)
        accepted = acceptances(self.store).get(run_id)
        first = min((e.create_time_since_epoch for _, e in executions), default=0)
        last = max((e.last_update_time_since_epoch for _, e in executions), default=0)
        return RunInfo(
            run_id=run_id,
            pipeline=q.pipeline_name_of(self.store, executions[0][1].id) if executions else None,
            status=status,
            started=_iso(first),
            ended=_iso(last),
            seconds=max(0.0, (last - first) / 1000),
            components=components,
            span=read.span,
            version=read.version,
            window=read.window,
            blocked=any(c.node_id == "DataGate" and c.state == "failed" for c in components),
            drift_accepted=(f"by {accepted.accepted_by} at {accepted.accepted_at}: {accepted.reason}"
                            if accepted else None),
        )

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        return [self.run(run_id) for run_id in self.run_ids()]

    def run_outputs(self, ref: str) -> dict[str, dict[str, list[Artifact]]]:
        """Node id -> output name -> artifacts, as linked in one run (cached nodes included)."""
        run_id = self.resolve_run(ref)
        return {node: q.artifacts_by_key(self.store, e.id, q.OUTPUT_EVENTS)
                for node, e in q.run_executions(self.store, run_id).items()}

    def run_executions(self, ref: str) -> dict[str, Execution]:
        return q.run_executions(self.store, self.resolve_run(ref))

    # -- resolving a trace target --

    def resolve_artifact(self, target: str) -> tuple[Artifact, str]:
        """An artifact from an id or a path; returns it and how it matched."""
        target = str(target).strip()
        if target.isdigit():
            return self.artifact(int(target)), "artifact id"
        if not target:
            raise LineageError("empty trace target: give an artifact id or a path")
        wanted = _normalised_paths(target)
        best: tuple[int, int, Artifact, str] | None = None
        for artifact in self.store.get_artifacts():
            for where, location in _recorded_locations(artifact):
                length = _match_length(wanted, location)
                if length is None:
                    continue
                # Longest (closest) match wins; among equals the oldest artifact (the
                # original push, not a later run's "already there" record).
                rank = (length, -artifact.id)
                if best is None or rank > (best[0], best[1]):
                    best = (length, -artifact.id, artifact, where)
        if best is None:
            if not self.store.get_artifacts(list_options=metadata_store.ListOptions(limit=1)):
                raise LineageError(f"no artifacts recorded in {self.where}")
            raise LineageError(f"no artifact in {self.where} is recorded at or above {target}")
        return best[2], best[3]

    # -- tracing --

    def step(self, execution: Execution, reused_by: list[Execution]) -> Step:
        inputs = q.artifacts_by_key(self.store, execution.id, q.INPUT_EVENTS)
        outputs = q.artifacts_by_key(self.store, execution.id, q.OUTPUT_EVENTS)
        return Step(
            execution_id=execution.id,
            node_id=self.node_id(execution.id),
            state=q.state_name(execution),
            run_id=self.run_id(execution.id),
            inputs={k: [a.id for a in v] for k, v in inputs.items()},
            outputs={k: [a.id for a in v] for k, v in outputs.items()},
            properties={k: _json_or_value(v) for k, v in q.all_properties(execution).items()},
            reused_by_runs=sorted({r for e in reused_by if (r := self.run_id(e.id))}),
        )

    def upstream(self, artifact_id: int) -> tuple[list[Step], set[int]]:
        """Real producers back to the sources, each once, oldest execution first."""
        steps: dict[int, Step] = {}
        seen: set[int] = set()
        queue = deque([artifact_id])
        while queue:
            current = queue.popleft()
            if current in seen:
                continue
            seen.add(current)
            producers = q.producers(self.store, current)
            if not producers:
                continue
            real = producers[0]
            if real.id not in steps:
                reused = [p for p in producers[1:] if p.last_known_state == Execution.CACHED]
                steps[real.id] = self.step(real, reused)
                for key, ids in steps[real.id].inputs.items():
                    if not is_reference_input(key):
                        queue.extend(ids)
        return [steps[i] for i in sorted(steps)], seen

    def downstream(self, artifact_id: int) -> tuple[list[Step], set[int]]:
        """Everything made from the artifact (not through baseline inputs), each once."""
        steps: dict[int, Step] = {}
        seen: set[int] = {artifact_id}
        queue = deque([artifact_id])
        while queue:
            current = queue.popleft()
            for execution, keys in q.consumers(self.store, current):
                if all(is_reference_input(k) for k in keys):
                    continue
                # A cached consumer re-links the same outputs as the one that ran.
                if execution.last_known_state == Execution.CACHED or execution.id in steps:
                    continue
                steps[execution.id] = self.step(execution, [])
                for ids in steps[execution.id].outputs.values():
                    for output in ids:
                        if output not in seen:
                            seen.add(output)
                            queue.append(output)
        seen.discard(artifact_id)
        return [steps[i] for i in sorted(steps)], seen

    def trace(self, target: str) -> Trace:
        """Back to the data, schema and hyperparameters; forward to evaluations and pushes."""
        artifact, matched_by = self.resolve_artifact(target)
        up_steps, up_ids = self.upstream(artifact.id)
        infos: dict[int, ArtifactInfo] = {}

        def info(artifact_id: int) -> ArtifactInfo:
            if artifact_id not in infos:
                infos[artifact_id] = self.artifact_info(self.artifact(artifact_id))
            return infos[artifact_id]

        for artifact_id in up_ids:
            info(artifact_id)
        result = Trace(target=info(artifact.id), matched_by=matched_by, steps=up_steps, artifacts=infos)

        model_ids = [i for i in sorted(up_ids) if infos[i].type == "Model"]
        result.model = artifact.id if artifact.type == "Model" else (model_ids[-1] if model_ids else None)
        for step in up_steps:
            if "input_base" in step.properties:
                for ids in step.outputs.values():
                    for examples in ids:
                        result.data_sources.append({
                            "examples_artifact_id": examples,
                            "examples_uri": info(examples).uri,
                            "input_base": step.properties.get("input_base"),
                            "input_fingerprint": step.properties.get("input_fingerprint"),
                            "span": step.properties.get("span"),
                            "node_id": step.node_id,
                            "execution_id": step.execution_id,
                            "run_id": step.run_id,
                        })
            if "train_args" in step.properties:
                result.trainers.append({
                    "node_id": step.node_id,
                    "execution_id": step.execution_id,
                    "run_id": step.run_id,
                    "train_args": step.properties.get("train_args"),
                    "eval_args": step.properties.get("eval_args"),
                    "hyperparameters": step.properties.get("custom_config"),
                    "run_fn": step.properties.get("run_fn") or step.properties.get("module_file"),
                    "reused_by_runs": step.reused_by_runs,
                })
        result.schemas = [i for i in sorted(up_ids)
                          if infos[i].type == "Schema" and infos[i].output_key == "schema"]
        result.transform_graphs = [i for i in sorted(up_ids) if infos[i].type == "TransformGraph"]

        # Data checks sit beside the path: statistics of the upstream examples, and the
        # anomalies found in them.
        examples = [i for i in sorted(up_ids) if infos[i].type == "Examples"]
        stats = self._outputs_of_consumers(examples, "ExampleStatistics")
        result.statistics = [a for a in stats if info(a)]
        anomalies = self._outputs_of_consumers(examples + stats, "ExampleAnomalies")
        result.anomalies = [a for a in anomalies if info(a)]

        if result.model is not None:
            result.forward_steps, down_ids = self.downstream(result.model)
            for artifact_id in sorted(down_ids):
                down = info(artifact_id)
                if down.type == "ModelBlessing":
                    result.evaluations.append(self._evaluation(down, info))
                elif down.type == "PushedModel":
                    result.pushes.append({
                        "artifact_id": down.id,
                        "pushed": bool(down.properties.get("pushed")),
                        "destination": down.properties.get("pushed_destination"),
                        "version": down.properties.get("pushed_version"),
                        "reused_existing_push": bool(down.properties.get("reused_existing_push")),
                        "run_id": down.run_id,
                    })
                elif down.type != "ModelEvaluation":
                    result.derived.append(down.id)
        return result

    def _outputs_of_consumers(self, artifact_ids: list[int], type_name: str) -> list[int]:
        found: set[int] = set()
        for artifact_id in artifact_ids:
            for execution, _ in q.consumers(self.store, artifact_id):
                for artifacts in q.artifacts_by_key(self.store, execution.id, q.OUTPUT_EVENTS).values():
                    found.update(a.id for a in artifacts if a.type == type_name)
        return sorted(found)

    def _evaluation(self, blessing: ArtifactInfo, info) -> dict[str, Any]:  # noqa: ANN001
        evaluation_ids: list[int] = []
        baseline: list[int] = []
        if blessing.producer_execution_id is not None:
            execution = self.execution(blessing.producer_execution_id)
            outputs = q.artifacts_by_key(self.store, execution.id, q.OUTPUT_EVENTS)
            evaluation_ids = [a.id for a in outputs.get("evaluation", [])]
            inputs = q.artifacts_by_key(self.store, execution.id, q.INPUT_EVENTS)
            baseline = [a.id for a in inputs.get("baseline_model", [])]
        evaluation = info(evaluation_ids[0]) if evaluation_ids else None
        return {
            "blessing_artifact_id": blessing.id,
            "blessed": bool(blessing.properties.get("blessed")),
            "evaluation_artifact_id": evaluation.id if evaluation else None,
            "evaluation_uri": evaluation.uri if evaluation else None,
            "baseline_model_ids": baseline,
            "run_id": blessing.run_id,
        }

    # -- diff --

    def facts(self, ref: str) -> dict[str, Any]:
        """The comparable facts of one run, flat ('hyperparameters.train_steps': 150, ...)."""
        run_id = self.resolve_run(ref)
        run = self.run(run_id)
        facts: dict[str, Any] = {"run.status": run.status}
        if run.window:
            facts["data.window"] = run.window
        if run.version is not None:
            facts["data.version"] = run.version
        executions = self.run_executions(run_id)
        for node, execution in sorted(executions.items()):
            outputs = q.artifacts_by_key(self.store, execution.id, q.OUTPUT_EVENTS)
            facts[f"state.{node}"] = q.state_name(execution)
            # A CACHED execution does not carry all of the original's properties (ExampleGen's
            # fingerprint, for one): read them from the execution that produced the outputs.
            source = self.real_execution(execution, outputs)
            properties = {k: _json_or_value(v) for k, v in q.all_properties(source).items()}
            if "input_base" in properties:
                facts["data.input_base"] = properties.get("input_base")
                facts["data.input_fingerprint"] = properties.get("input_fingerprint")
                facts["data.span"] = properties.get("span")
                facts["data.examples_artifact"] = _ids(outputs.get("examples"))
            if "schema_file" in properties:
                facts["schema.file"] = properties.get("schema_file")
            if "schema" in outputs and node == _producer_node(self, outputs["schema"]):
                facts["schema.artifact"] = _ids(outputs["schema"])
                facts["schema.sha256"] = _schema_digest(outputs["schema"][0].uri)
            if "train_args" in properties:
                facts["hyperparameters.train_steps"] = _steps(properties.get("train_args"))
                facts["hyperparameters.eval_steps"] = _steps(properties.get("eval_args"))
                custom = properties.get("custom_config")
                if isinstance(custom, dict):
                    for name, value in sorted(custom.items()):
                        facts[f"hyperparameters.{name}"] = value
                facts["trainer.run_fn"] = properties.get("run_fn") or properties.get("module_file")
                facts["model.artifact"] = _ids(outputs.get("model"))
            if "preprocessing_fn" in properties:
                facts["transform.preprocessing_fn"] = properties.get("preprocessing_fn")
                facts["transform.graph_artifact"] = _ids(outputs.get("transform_graph"))
            if "anomalies" in outputs:
                facts["data.anomalies_artifact"] = _ids(outputs["anomalies"])
            if "blessing" in outputs:
                facts["evaluation.blessed"] = q.property_value(outputs["blessing"][0], "blessed") == 1
            if "evaluation" in outputs:
                facts["evaluation.artifact"] = _ids(outputs["evaluation"])
                for name, value in sorted(_overall_metrics(outputs["evaluation"][0].uri).items()):
                    if not name.endswith("_diff"):  # relative to a baseline, not a fact of the run
                        facts[f"metrics.{name}"] = round(value, 6)
            if "pushed_model" in outputs:
                pushed = outputs["pushed_model"][0]
                facts["push.pushed"] = q.property_value(pushed, "pushed") == 1
                facts["push.destination"] = q.property_value(pushed, "pushed_destination")
        return facts

    def real_execution(self, execution: Execution, outputs: dict[str, list[Artifact]]) -> Execution:
        """The execution that really produced a (possibly CACHED) execution's outputs."""
        if execution.last_known_state != Execution.CACHED:
            return execution
        for artifacts in outputs.values():
            producers = q.producers(self.store, artifacts[0].id)
            if producers:
                return producers[0]
        return execution

    def diff(self, ref_a: str, ref_b: str) -> RunDiff:
        """Every fact of two runs side by side (``.changed`` keeps the differences)."""
        run_a, run_b = self.resolve_run(ref_a), self.resolve_run(ref_b)
        facts_a, facts_b = self.facts(run_a), self.facts(run_b)
        keys = sorted(set(facts_a) | set(facts_b), key=_diff_order)
        return RunDiff(run_a, run_b, [DiffRow(k, facts_a.get(k), facts_b.get(k)) for k in keys])


# --- helpers ---------------------------------------------------------------------------------


def _ids(artifacts: list[Artifact] | None) -> int | list[int] | None:
    if not artifacts:
        return None
    ids = [a.id for a in artifacts]
    return ids[0] if len(ids) == 1 else ids


def _steps(args: object) -> object:
    return args.get("num_steps") if isinstance(args, dict) else args


def _producer_node(lineage: Lineage, artifacts: list[Artifact]) -> str | None:
    producers = q.producers(lineage.store, artifacts[0].id)
    return lineage.node_id(producers[0].id) if producers else None


_DIFF_SECTIONS = ("run.", "data.", "schema.", "transform.", "hyperparameters.", "trainer.", "model.",
                  "metrics.", "evaluation.", "push.", "state.")


def _diff_order(key: str) -> tuple[int, str]:
    for index, prefix in enumerate(_DIFF_SECTIONS):
        if key.startswith(prefix):
            return index, key
    return len(_DIFF_SECTIONS), key


def _schema_digest(uri: str) -> str | None:
    """A content hash of a Schema artifact, so an edited schema shows up in a diff."""
    import hashlib

    from tfx.dsl.io import fileio

    path = os.path.join(uri, "schema.pbtxt")
    if not fileio.exists(path):
        return None
    with fileio.open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:16]


def _overall_metrics(uri: str) -> dict[str, float]:
    from pipeline.report.summary import evaluation_metrics

    try:
        return evaluation_metrics(uri).get("overall", {})
    except Exception:  # noqa: BLE001 - an unreadable evaluation is reported as no metrics
        return {}


def _normalised_paths(target: str) -> list[str]:
    if "://" in target:
        return [target.rstrip("/")]
    paths = {os.path.normpath(os.path.abspath(target))}
    paths.add(os.path.normpath(os.path.realpath(target)))
    return sorted(paths)


def _recorded_locations(artifact: Artifact) -> list[tuple[str, str]]:
    """The artifact folder and every path-like string property (pushed_destination, ...)."""
    locations = [("artifact uri", artifact.uri)] if artifact.uri else []
    for name, value in artifact.custom_properties.items():
        text = value.string_value if value.WhichOneof("value") == "string_value" else ""
        if text.startswith("/") or "://" in text:
            locations.append((name, text))
    return locations


def _match_length(wanted: list[str], location: str) -> int | None:
    """Length of ``location`` if one of the wanted paths is it or lies inside it."""
    base = location.rstrip("/") if "://" in location else os.path.normpath(location)
    for path in wanted:
        if path == base or path.startswith(base + "/"):
            return len(base)
    return None
