"""Small, named MLMD queries shared by the summary, the lineage tools and the tests.

TFX links every execution to three contexts: the pipeline, the pipeline run (named by
the run id) and the node (named ``<pipeline>.<node id>``). These helpers turn that
into "which execution did node X have in run Y".
"""

from __future__ import annotations

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"


def node_id_of(store: metadata_store.MetadataStore, execution_id: int) -> str:
    """The pipeline node an execution belongs to."""
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == NODE_CONTEXT:
            return context.name.split(".", 1)[1]
    raise LookupError(f"execution {execution_id} has no node context")


def run_executions(
    store: metadata_store.MetadataStore, run_id: str
) -> dict[str, metadata_store_pb2.Execution]:
    """Node id -> execution for one pipeline run; empty if the run is unknown."""
    context = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    if context is None:
        return {}
    return {node_id_of(store, e.id): e for e in store.get_executions_by_context(context.id)}


def run_ids(store: metadata_store.MetadataStore) -> list[str]:
    """All pipeline run ids, oldest first."""
    contexts = store.get_contexts_by_type(RUN_CONTEXT)
    return [c.name for c in sorted(contexts, key=lambda c: c.create_time_since_epoch)]


# --- Events, producers and consumers -------------------------------------------------
#
# MLMD links artifacts and executions by events: INPUT (3) and OUTPUT (4), plus the
# DECLARED_* variants some launchers write. When TFX serves a node from the cache it
# records a new CACHED execution that re-links the *original* output artifacts, so an
# artifact can have several "producers"; only the COMPLETE one really made it.

INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)

STATE_NAMES = {
    metadata_store_pb2.Execution.UNKNOWN: "unknown",
    metadata_store_pb2.Execution.NEW: "new",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.COMPLETE: "complete",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.CANCELED: "canceled",
}

# Order in which producers are trusted: the execution that actually ran first.
_PRODUCER_PREFERENCE = {
    metadata_store_pb2.Execution.COMPLETE: 0,
    metadata_store_pb2.Execution.CACHED: 1,
}


def state_name(execution: metadata_store_pb2.Execution) -> str:
    """'complete', 'cached', 'failed', ... for an execution."""
    return STATE_NAMES.get(execution.last_known_state, "unknown")


def event_keys(event: metadata_store_pb2.Event) -> list[str]:
    """The input or output names of an event ('examples', 'model', ...).

    An artifact read under two names (an Evaluator whose candidate is also its
    baseline) gets one event whose path holds both keys.
    """
    return [step.key for step in event.path.steps if step.HasField("key")] or [""]


def event_key(event: metadata_store_pb2.Event) -> str:
    """The first input or output name of an event."""
    return event_keys(event)[0]


def artifacts_by_key(
    store: metadata_store.MetadataStore, execution_id: int, event_types: tuple[int, ...]
) -> dict[str, list[metadata_store_pb2.Artifact]]:
    """Input or output artifacts of one execution, keyed by their input/output name."""
    events = [e for e in store.get_events_by_execution_ids([execution_id]) if e.type in event_types]
    artifacts = {a.id: a for a in store.get_artifacts_by_id(sorted({e.artifact_id for e in events}))}
    keyed: dict[str, list[metadata_store_pb2.Artifact]] = {}
    for event in events:
        for key in event_keys(event):
            bucket = keyed.setdefault(key, [])
            if all(a.id != event.artifact_id for a in bucket):
                bucket.append(artifacts[event.artifact_id])
    return keyed


def producers(
    store: metadata_store.MetadataStore, artifact_id: int
) -> list[metadata_store_pb2.Execution]:
    """Every execution with an output event for the artifact, the real producer first.

    The real producer is the COMPLETE execution (the one that wrote the files); CACHED
    executions that re-linked the same artifact in later runs follow, oldest first.
    """
    events = [e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type in OUTPUT_EVENTS]
    executions = store.get_executions_by_id(sorted({e.execution_id for e in events}))
    return sorted(executions, key=lambda e: (_PRODUCER_PREFERENCE.get(e.last_known_state, 2), e.id))


def consumers(
    store: metadata_store.MetadataStore, artifact_id: int
) -> list[tuple[metadata_store_pb2.Execution, tuple[str, ...]]]:
    """Executions that read the artifact, with the input names they read it as, oldest first.

    One execution can read the same artifact under two names (an Evaluator whose
    candidate is also its baseline).
    """
    events = [e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type in INPUT_EVENTS]
    keys: dict[int, set[str]] = {}
    for event in events:
        keys.setdefault(event.execution_id, set()).update(event_keys(event))
    executions = store.get_executions_by_id(sorted(keys))
    return [(e, tuple(sorted(keys[e.id]))) for e in sorted(executions, key=lambda e: e.id)]


def run_id_of(store: metadata_store.MetadataStore, execution_id: int) -> str | None:
    """The pipeline run an execution belongs to (None for executions outside a run)."""
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == RUN_CONTEXT:
            return context.name
    return None


def pipeline_name_of(store: metadata_store.MetadataStore, execution_id: int) -> str | None:
    """The pipeline an execution belongs to."""
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == PIPELINE_CONTEXT:
            return context.name
    return None


def property_value(message: object, name: str) -> object:
    """A property or custom property of an artifact/execution as a Python value, else None.

    TFX stores most execution properties as strings, often JSON; those are returned as
    given (callers decide whether to parse).
    """
    for properties in (message.properties, message.custom_properties):  # type: ignore[attr-defined]
        if name in properties:
            value = properties[name]
            which = value.WhichOneof("value")
            if which == "struct_value":
                from google.protobuf import json_format

                return json_format.MessageToDict(value.struct_value)
            if which == "proto_value":
                return str(value.proto_value)
            return getattr(value, which) if which else None
    return None


def all_properties(message: object) -> dict[str, object]:
    """Properties and custom properties of an artifact/execution as Python values."""
    names = list(message.properties) + list(message.custom_properties)  # type: ignore[attr-defined]
    return {name: property_value(message, name) for name in sorted(set(names))}
