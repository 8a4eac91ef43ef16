"""The launcher's MLMD records: one run written the way TFX's launcher writes it, read back for resolvers.

A KFP or Vertex backend records every task of a run in its metadata store; this module
does the same for the local launcher, in an ordinary MLMD store (SQLite by default), so
that ``runs``/``trace``/``report`` (pipeline/metadata/facts.py) read a compiled-spec run
exactly as they read a local TFX run. Everything goes through ml_metadata's public API
(``put_*_type``, ``put_execution``, ``get_*``); nothing from TFX is imported.

What is recorded, as TFX's portable launcher records it:

* contexts of the types ``pipeline`` (the pipeline name), ``pipeline_run`` (the run id,
  child of the pipeline context) and ``node`` (``<pipeline>.<task name>``), each execution
  and artifact associated/attributed to all three;
* one execution per container task, RUNNING when its first command starts, then COMPLETE with an
  OUTPUT event per output artifact, or FAILED; its custom properties are the task's input
  parameters (TFX's exec properties) with the values an ExampleGen driver added
  (``input_fingerprint``, ``span``, ...), integers as ints, structures as JSON strings;
  INPUT events (path: key, index) link the artifacts it read;
* one execution per resolver task, COMPLETE, linking what it found by INTERNAL_OUTPUT events
  (TFX's resolver node does the same, so lineage readers do not take a resolver for a
  producer); a task skipped by its trigger condition records nothing;
* artifacts LIVE, their type named as TFX names it (``tfx.Examples`` -> ``Examples``; a custom
  type keeps its title, e.g. ``pipeline.TFLiteModels``), the properties its schema declares
  (``span``, ``split_names``, ...) as properties and every other metadata key (``blessed``,
  ``pushed_destination``, the TFLite gate's properties, ``custom:span`` as ``span``) as a custom
  property; the artifact's name is the launcher's runtime name, which the Evaluator writes into
  ``current_model_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"
# Where a compiled spec's type title names a TFX first-party type (``tfx.Examples``).
TFX_TITLE_PREFIX = "tfx."
RESOLVER_EXECUTION_TYPE = "kfp_local.Resolver"
# How TFX's KFP entrypoint spells a custom property whose name is also a declared property
# (ExampleGen's ``custom:span`` next to the ``span`` property).
CUSTOM_PREFIX = "custom:"

_SCHEMA_TYPES = {"integer": mlmd.INT, "number": mlmd.DOUBLE, "string": mlmd.STRING}
_PARAMETER_INTEGER = "NUMBER_INTEGER"


def type_title(artifact_type: Mapping[str, Any]) -> str:
    """The schema title of a KFP artifact type dict (``schemaTitle`` or the instance schema's title)."""
    if artifact_type.get("schemaTitle"):
        return str(artifact_type["schemaTitle"])
    schema = yaml.safe_load(artifact_type.get("instanceSchema") or "{}") or {}
    return str(schema.get("title", "system.Artifact"))


def type_name(title: str) -> str:
    """The MLMD type name TFX records for a compiled type title."""
    return title[len(TFX_TITLE_PREFIX):] if title.startswith(TFX_TITLE_PREFIX) else title


def declared_properties(artifact_type: Mapping[str, Any]) -> dict[str, int]:
    """The typed properties an artifact type's instance schema declares (``span: integer`` ...)."""
    schema = yaml.safe_load(artifact_type.get("instanceSchema") or "{}") or {}
    declared = schema.get("properties") or {}
    return {name: _SCHEMA_TYPES[spec["type"]] for name, spec in declared.items()
            if isinstance(spec, dict) and spec.get("type") in _SCHEMA_TYPES}


def to_value(value: Any, integer: bool | None = None) -> mlmd.Value | None:
    """A JSON value as an MLMD value: whole numbers as ints (KFP carries every number as a double)."""
    result = mlmd.Value()
    if value is None:
        return None
    if isinstance(value, bool):
        result.int_value = int(value)
    elif isinstance(value, int | float):
        if integer or (integer is None and float(value).is_integer()):
            result.int_value = int(value)
        else:
            result.double_value = float(value)
    elif isinstance(value, str):
        result.string_value = value
    else:
        result.string_value = json.dumps(value, sort_keys=True)
    return result


def from_value(value: mlmd.Value) -> Any:
    """An MLMD value as the JSON value KFP puts in artifact metadata (numbers as floats)."""
    which = value.WhichOneof("value")
    if which == "int_value":
        return float(value.int_value)
    if which == "double_value":
        return value.double_value
    if which == "string_value":
        return value.string_value
    if which == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToDict(value.struct_value)
    return None


def artifact_metadata(artifact: mlmd.Artifact) -> dict[str, Any]:
    """Properties and custom properties of a recorded artifact, as KFP artifact metadata."""
    metadata = {k: from_value(v) for k, v in artifact.properties.items()}
    metadata.update({(f"{CUSTOM_PREFIX}{k}" if k in artifact.properties else k): from_value(v)
                     for k, v in artifact.custom_properties.items()})
    return {k: v for k, v in metadata.items() if v is not None}


class RunRecorder:
    """Writes one launcher run into an MLMD store, task by task."""

    def __init__(self, store: metadata_store.MetadataStore, pipeline_name: str, run_id: str) -> None:
        self.store = store
        self.pipeline_name = pipeline_name
        self.run_id = run_id
        self._type_ids: dict[tuple[str, str], int] = {}
        self._ids_by_name: dict[str, int] = {}
        pipeline = self._context(PIPELINE_CONTEXT, pipeline_name)
        self._run_context = self._context(RUN_CONTEXT, run_id)
        parent = mlmd.ParentContext(child_id=self._run_context.id, parent_id=pipeline.id)
        if not self.store.get_parent_contexts_by_context(self._run_context.id):
            self.store.put_parent_contexts([parent])
        self._pipeline_context = pipeline

    # -- types and contexts --

    def _context_type(self, name: str) -> int:
        key = ("context", name)
        if key not in self._type_ids:
            self._type_ids[key] = self.store.put_context_type(mlmd.ContextType(name=name))
        return self._type_ids[key]

    def _context(self, type_name_: str, name: str) -> mlmd.Context:
        existing = self.store.get_context_by_type_and_name(type_name_, name)
        if existing is not None:
            return existing
        context = mlmd.Context(type_id=self._context_type(type_name_), name=name)
        [context.id] = self.store.put_contexts([context])
        return context

    def _execution_type(self, name: str) -> int:
        key = ("execution", name)
        if key not in self._type_ids:
            self._type_ids[key] = self.store.put_execution_type(mlmd.ExecutionType(name=name),
                                                                can_add_fields=True, can_omit_fields=True)
        return self._type_ids[key]

    def _artifact_type(self, artifact_type: Mapping[str, Any]) -> tuple[int, dict[str, int]]:
        name = type_name(type_title(artifact_type))
        properties = declared_properties(artifact_type)
        key = ("artifact", name)
        if key not in self._type_ids:
            self._type_ids[key] = self.store.put_artifact_type(
                mlmd.ArtifactType(name=name, properties=properties),
                can_add_fields=True, can_omit_fields=True)
        return self._type_ids[key], properties

    def _contexts(self, task_name: str) -> list[mlmd.Context]:
        return [self._pipeline_context, self._run_context,
                self._context(NODE_CONTEXT, f"{self.pipeline_name}.{task_name}")]

    # -- artifacts --

    def artifact_id(self, artifact: Mapping[str, Any]) -> int:
        """The MLMD id of an artifact this or an earlier run recorded (looked up by its runtime name)."""
        name = artifact["name"]
        if name not in self._ids_by_name:
            found = self.store.get_artifact_by_type_and_name(
                type_name(type_title(artifact.get("type", {}))), name)
            if found is None:
                raise LookupError(f"artifact {name} ({artifact.get('uri')}) is not in the metadata store")
            self._ids_by_name[name] = found.id
        return self._ids_by_name[name]

    def _new_artifact(self, artifact: Mapping[str, Any]) -> mlmd.Artifact:
        type_id, properties = self._artifact_type(artifact.get("type", {}))
        record = mlmd.Artifact(type_id=type_id, uri=artifact["uri"], name=artifact["name"],
                               state=mlmd.Artifact.LIVE)
        for key, value in (artifact.get("metadata") or {}).items():
            # ``custom:span`` is the custom property ``span``, as TFX's entrypoint reads it back.
            custom = key.startswith(CUSTOM_PREFIX) and key[len(CUSTOM_PREFIX):] in properties
            name = key[len(CUSTOM_PREFIX):] if custom else key
            declared = None if custom else properties.get(name)
            converted = to_value(value, integer=True if declared == mlmd.INT else None)
            if converted is None:
                continue
            if declared is not None and converted.WhichOneof("value") == _property_field(declared):
                record.properties[name].CopyFrom(converted)
            else:
                record.custom_properties[name].CopyFrom(converted)
        return record

    # -- executions --

    def start(self, task_name: str, execution_type: str, parameters: Mapping[str, Any],
              parameter_types: Mapping[str, str], inputs: Mapping[str, Iterable[Mapping[str, Any]]]) -> int:
        """Records a container task as RUNNING with its exec properties and input events; its id."""
        execution = mlmd.Execution(type_id=self._execution_type(execution_type),
                                   last_known_state=mlmd.Execution.RUNNING, name=f"{self.run_id}.{task_name}")
        _set_properties(execution, parameters, parameter_types)
        return self._put_with_events(execution, task_name, mlmd.Event.INPUT, inputs)

    def set_properties(self, execution_id: int, parameters: Mapping[str, Any],
                       parameter_types: Mapping[str, str]) -> None:
        """Adds or overrides exec properties of a recorded execution (what an ExampleGen driver adds)."""
        if not parameters:
            return
        [execution] = self.store.get_executions_by_id([execution_id])
        _set_properties(execution, parameters, parameter_types)
        self.store.put_executions([execution])

    def complete(self, execution_id: int, task_name: str,
                 outputs: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Publishes a task's output artifacts (OUTPUT events) and marks its execution COMPLETE."""
        [execution] = self.store.get_executions_by_id([execution_id])
        execution.last_known_state = mlmd.Execution.COMPLETE
        pairs = []
        for key, artifacts in sorted(outputs.items()):
            for index, artifact in enumerate(artifacts):
                pairs.append((self._new_artifact(artifact), _event(mlmd.Event.OUTPUT, key, index)))
        _, artifact_ids, _ = self.store.put_execution(execution, pairs, self._contexts(task_name),
                                                      reuse_context_if_already_exist=True)
        for (artifact, _), artifact_id in zip(pairs, artifact_ids, strict=True):
            self._ids_by_name[artifact.name] = artifact_id

    def fail(self, execution_id: int) -> None:
        """Marks a task's execution FAILED (it published nothing)."""
        [execution] = self.store.get_executions_by_id([execution_id])
        execution.last_known_state = mlmd.Execution.FAILED
        self.store.put_executions([execution])

    def resolved(self, task_name: str, outputs: Mapping[str, Iterable[Mapping[str, Any]]]) -> int:
        """Records a resolver task: COMPLETE, linked to what it found by INTERNAL_OUTPUT events."""
        execution = mlmd.Execution(type_id=self._execution_type(RESOLVER_EXECUTION_TYPE),
                                   last_known_state=mlmd.Execution.COMPLETE,
                                   name=f"{self.run_id}.{task_name}")
        return self._put_with_events(execution, task_name, mlmd.Event.INTERNAL_OUTPUT, outputs)

    def _put_with_events(self, execution: mlmd.Execution, task_name: str, kind: int,
                         artifacts: Mapping[str, Iterable[Mapping[str, Any]]]) -> int:
        """A new execution in the node's contexts, linked to already recorded artifacts (left unchanged)."""
        ids = [(key, index, self.artifact_id(artifact))
               for key, listed in sorted(artifacts.items()) for index, artifact in enumerate(listed)]
        execution_id, _, _ = self.store.put_execution(execution, [], self._contexts(task_name),
                                                      reuse_context_if_already_exist=True)
        events = [_event(kind, key, index, artifact_id) for key, index, artifact_id in ids]
        for event in events:
            event.execution_id = execution_id
        if events:
            self.store.put_events(events)
        return execution_id


def _set_properties(execution: mlmd.Execution, parameters: Mapping[str, Any],
                    parameter_types: Mapping[str, str]) -> None:
    for key, value in sorted(parameters.items()):
        converted = to_value(value, integer=True if parameter_types.get(key) == _PARAMETER_INTEGER else None)
        if converted is not None:
            execution.custom_properties[key].CopyFrom(converted)


def _property_field(kind: int) -> str:
    return {mlmd.INT: "int_value", mlmd.DOUBLE: "double_value", mlmd.STRING: "string_value"}[kind]


def _event(kind: int, key: str, index: int, artifact_id: int | None = None) -> mlmd.Event:
    event = mlmd.Event(type=kind)
    if artifact_id is not None:
        event.artifact_id = artifact_id
    event.path.steps.add().key = key
    event.path.steps.add().index = index
    return event
