"""The lineage API: runs, traces and diffs read from ML Metadata.

Everything here reads MLMD through :mod:`pipeline.metadata.queries` and interprets what
it finds through :mod:`pipeline.metadata.facts`; it returns plain dataclasses
(``dataclasses.asdict`` gives the JSON the CLI prints). Three rules keep answers right
when the cache is involved:

- an artifact's producer is the execution that really wrote it (COMPLETE), never a
  CACHED execution of a later run that merely re-linked it; the runs that reused it
  are listed separately;
- an Evaluator's ``baseline_*`` inputs are a comparison, not an origin: a trace does
  not follow them (otherwise every model would descend from the previous one);
- a path (serving folder, ``.tflite`` file, anything inside an artifact folder)
  resolves to the artifact whose URI or recorded destination is its closest parent.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.components import tfx_keys
from pipeline.metadata import facts as run_facts
from pipeline.metadata import queries as q
from pipeline.metadata.drift_acceptance import acceptances
from pipeline.metadata.facts import RunInfo
from pipeline.metadata.read_only import LineageError

Execution = metadata_store_pb2.Execution
Artifact = metadata_store_pb2.Artifact

LATEST = ("latest", "last")


def is_reference_input(key: str) -> bool:
    """Inputs used for comparison only (an Evaluator's baseline model), not as an origin."""
    return key.startswith("baseline")


# --- Results ---------------------------------------------------------------------------------


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
        return run_facts.run_info(self.store, self.resolve_run(ref))

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        accepted = acceptances(self.store)
        return [run_facts.run_info(self.store, run_id, accepted) for run_id in self.run_ids()]

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
            properties=run_facts.execution_properties(execution),
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
            data = run_facts.data_facts(step.properties)
            if data is not None:
                for ids in step.outputs.values():
                    for examples in ids:
                        result.data_sources.append({
                            "examples_artifact_id": examples,
                            "examples_uri": info(examples).uri,
                            "input_base": data.input_base,
                            "input_fingerprint": data.input_fingerprint,
                            "span": data.span,
                            "node_id": step.node_id,
                            "execution_id": step.execution_id,
                            "run_id": step.run_id,
                        })
            training = run_facts.training_facts(step.properties)
            if training is not None:
                result.trainers.append({
                    "node_id": step.node_id,
                    "execution_id": step.execution_id,
                    "run_id": step.run_id,
                    "train_args": training.train_args,
                    "eval_args": training.eval_args,
                    "hyperparameters": training.hyperparameters,
                    "run_fn": training.run_fn,
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
                    push = run_facts.push_facts(self.artifact(down.id))
                    result.pushes.append({
                        "artifact_id": down.id,
                        "pushed": push.pushed,
                        "destination": push.destination,
                        "version": push.version,
                        "reused_existing_push": push.reused,
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
            evaluation_ids = [a.id for a in outputs.get(tfx_keys.EVALUATION_KEY, [])]
            inputs = q.artifacts_by_key(self.store, execution.id, q.INPUT_EVENTS)
            baseline = [a.id for a in inputs.get(tfx_keys.BASELINE_MODEL_KEY, [])]
        evaluation = info(evaluation_ids[0]) if evaluation_ids else None
        return {
            "blessing_artifact_id": blessing.id,
            "blessed": run_facts.is_blessed(self.artifact(blessing.id)),
            "evaluation_artifact_id": evaluation.id if evaluation else None,
            "evaluation_uri": evaluation.uri if evaluation else None,
            "baseline_model_ids": baseline,
            "run_id": blessing.run_id,
        }

    # -- diff --

    def facts(self, ref: str) -> dict[str, Any]:
        """The comparable facts of one run, flat ('hyperparameters.train_steps': 150, ...)."""
        run_id = self.resolve_run(ref)
        read = run_facts.read_run(self.store, run_id)
        info = self.run(run_id)
        facts: dict[str, Any] = {"run.status": info.status}
        if info.window:
            facts["data.window"] = info.window
        if info.version is not None:
            facts["data.version"] = info.version
        for node, each in read.nodes.items():
            facts[f"state.{node}"] = q.state_name(each.execution)
            outputs, properties = each.outputs, each.properties
            if tfx_keys.SCHEMA_FILE in properties:
                facts["schema.file"] = properties.get(tfx_keys.SCHEMA_FILE)
            schema = outputs.get(tfx_keys.SCHEMA_KEY)
            if schema and node == _producer_node(self, schema):
                facts["schema.artifact"] = _ids(schema)
                facts["schema.sha256"] = _schema_digest(schema[0].uri)
            if tfx_keys.PREPROCESSING_FN in properties:
                facts["transform.preprocessing_fn"] = properties.get(tfx_keys.PREPROCESSING_FN)
                facts["transform.graph_artifact"] = _ids(outputs.get(tfx_keys.TRANSFORM_GRAPH_KEY))
            if tfx_keys.ANOMALIES_KEY in outputs:
                facts["data.anomalies_artifact"] = _ids(outputs[tfx_keys.ANOMALIES_KEY])
        if read.data is not None:
            facts["data.input_base"] = read.data.input_base
            facts["data.input_fingerprint"] = read.data.input_fingerprint
            facts["data.span"] = read.data.span
            facts["data.examples_artifact"] = _ids(read.examples)
        if read.training is not None:
            facts["hyperparameters.train_steps"] = read.training.train_steps
            facts["hyperparameters.eval_steps"] = read.training.eval_steps
            if isinstance(read.training.hyperparameters, dict):
                for name, value in sorted(read.training.hyperparameters.items()):
                    facts[f"hyperparameters.{name}"] = value
            facts["trainer.run_fn"] = read.training.run_fn
            facts["model.artifact"] = _ids(read.model)
        if read.blessed is not None:
            facts["evaluation.blessed"] = read.blessed
        if read.evaluation is not None:
            facts["evaluation.artifact"] = _ids([read.evaluation])
            for name, value in sorted(read.metrics.items()):
                if not name.endswith("_diff"):  # relative to a baseline, not a fact of the run
                    facts[f"metrics.{name}"] = round(value, 6)
        if read.push is not None:
            facts["push.pushed"] = read.push.pushed
            facts["push.destination"] = read.push.destination
        return facts

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
