"""Accepting drift on purpose: one recorded action that makes a blocked run's data the new baseline.

When the data gate blocks a run for drift, the data may simply have changed for good
(prices went up). An operator then runs ``python -m pipeline accept-drift <run>``;
this module records, in MLMD:

* an execution of type ``pipeline.DriftAcceptance`` in the pipeline's context, with who
  accepted, when (UTC), why and the blocked run's id;
* its input: the blocked run's statistics (the new span's data, as the gate saw it);
* its output: a ``DataBaseline`` artifact holding a copy of those statistics, under
  ``<pipeline_root>/DriftAcceptance/<execution id>/``.

The pipeline's ``latest_data_baseline_resolver`` takes the newest DataBaseline, so
the next run compares its data with the accepted data: a rerun of the blocked span
(or the next span, if it looks like it) passes the gate and trains. Anomalies against
the curated schema are not drift: accepting drift does not open the gate for them.
"""

from __future__ import annotations

import datetime
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.components.data_baseline import spec as baseline_spec
from pipeline.metadata import queries as mlmd_queries

EXECUTION_TYPE = "pipeline.DriftAcceptance"
# The MLMD type of pipeline.components.data_baseline's DataBaseline (TFX's stock Statistics
# type; defined here without TFX so that the CLI stays light).
BASELINE_TYPE = "Statistics"
GATE_NODE = "DataGate"
OUTPUT_KEY = "baseline"
INPUT_KEY = "statistics"


class AcceptanceError(ValueError):
    """The run cannot be accepted (unknown, not blocked by the gate, already accepted)."""


@dataclass(frozen=True)
class Acceptance:
    """One recorded acceptance."""

    run_id: str
    accepted_by: str
    accepted_at: str
    reason: str
    execution_id: int
    baseline_uri: str


def _custom(message: object, name: str) -> str:
    value = message.custom_properties.get(name)  # type: ignore[attr-defined]
    return value.string_value if value is not None else ""


def acceptances(store: metadata_store.MetadataStore) -> dict[str, Acceptance]:
    """Every acceptance, by the run it accepted."""
    try:
        executions = store.get_executions_by_type(EXECUTION_TYPE)
    except Exception:  # noqa: BLE001 - MLMD raises NotFoundError when the type was never registered
        return {}
    found = {}
    for execution in executions:
        outputs = [e.artifact_id for e in store.get_events_by_execution_ids([execution.id])
                   if e.type == metadata_store_pb2.Event.OUTPUT]
        uri = store.get_artifacts_by_id(outputs)[0].uri if outputs else ""
        acceptance = Acceptance(
            run_id=_custom(execution, "blocked_run"), accepted_by=_custom(execution, "accepted_by"),
            accepted_at=_custom(execution, "accepted_at"), reason=_custom(execution, "reason"),
            execution_id=execution.id, baseline_uri=uri)
        found[acceptance.run_id] = acceptance
    return found


def _blocked_gate(store: metadata_store.MetadataStore, run_id: str) -> metadata_store_pb2.Execution:
    executions = mlmd_queries.run_executions(store, run_id)
    if not executions:
        raise AcceptanceError(f"no pipeline run {run_id!r} in this store (see `python -m pipeline runs`)")
    gate = executions.get(GATE_NODE)
    if gate is None or gate.last_known_state != metadata_store_pb2.Execution.FAILED:
        state = mlmd_queries.state_name(gate) if gate is not None else "not run"
        raise AcceptanceError(f"run {run_id} was not blocked by the data gate ({GATE_NODE}: {state}); "
                              "there is nothing to accept")
    return gate


def _gate_statistics(store: metadata_store.MetadataStore,
                     gate: metadata_store_pb2.Execution) -> metadata_store_pb2.Artifact:
    inputs = mlmd_queries.artifacts_by_key(store, gate.id, mlmd_queries.INPUT_EVENTS)
    statistics = inputs.get(INPUT_KEY, [])
    if len(statistics) != 1:
        raise AcceptanceError(f"the blocked {GATE_NODE} execution {gate.id} has no statistics input")
    return statistics[0]


def _copy_splits(source_uri: str, target: Path) -> list[str]:
    splits = []
    for split_dir in sorted(Path(source_uri).glob("Split-*")):
        shutil.copytree(split_dir, target / split_dir.name)
        splits.append(split_dir.name.removeprefix("Split-"))
    if not splits:
        raise AcceptanceError(f"statistics at {source_uri} have no Split-* folders (were they deleted?)")
    return splits


def accept(store: metadata_store.MetadataStore, pipeline_name: str, pipeline_root: str, run_id: str, *,
           accepted_by: str, reason: str, now: datetime.datetime | None = None) -> Acceptance:
    """Records that ``run_id``'s data is accepted as the new drift baseline; see the module doc."""
    if not reason.strip():
        raise AcceptanceError("say why the drift is accepted (--reason)")
    held = acceptances(store).get(run_id)
    if held is not None:
        raise AcceptanceError(f"run {run_id} was already accepted by {held.accepted_by} "
                              f"at {held.accepted_at}")
    gate = _blocked_gate(store, run_id)
    statistics = _gate_statistics(store, gate)
    accepted_at = (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")

    execution_type = metadata_store_pb2.ExecutionType(name=EXECUTION_TYPE)
    execution_type_id = store.put_execution_type(execution_type)
    artifact_type_id = store.put_artifact_type(metadata_store_pb2.ArtifactType(
        name=BASELINE_TYPE, base_type=metadata_store_pb2.ArtifactType.STATISTICS), can_add_fields=True)
    execution = metadata_store_pb2.Execution(type_id=execution_type_id,
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    for name, value in (("accepted_by", accepted_by), ("accepted_at", accepted_at), ("reason", reason),
                        ("blocked_run", run_id)):
        execution.custom_properties[name].string_value = value
    [execution_id] = store.put_executions([execution])
    execution.id = execution_id

    target = Path(pipeline_root) / "DriftAcceptance" / str(execution_id) / OUTPUT_KEY
    splits = _copy_splits(statistics.uri, target)
    baseline = metadata_store_pb2.Artifact(type_id=artifact_type_id, uri=str(target),
                                           state=metadata_store_pb2.Artifact.LIVE)
    baseline.custom_properties[baseline_spec.SPLIT_NAMES].string_value = json.dumps(splits)
    baseline.custom_properties[baseline_spec.STATISTICS_URI].string_value = statistics.uri
    baseline.custom_properties[baseline_spec.ACCEPTED_RUN].string_value = run_id

    # The pipeline's context only: the baseline resolver finds DataBaselines there. Not the
    # blocked run's context, whose executions are its pipeline nodes (``blocked_run`` links them).
    pipeline_context = store.get_context_by_type_and_name(mlmd_queries.PIPELINE_CONTEXT, pipeline_name)
    if pipeline_context is None:
        raise AcceptanceError(f"no pipeline {pipeline_name!r} in this store")
    input_event = metadata_store_pb2.Event(artifact_id=statistics.id, type=metadata_store_pb2.Event.INPUT)
    input_event.path.steps.add().key = INPUT_KEY
    output_event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.OUTPUT)
    output_event.path.steps.add().key = OUTPUT_KEY
    store.put_execution(execution, artifact_and_events=[(statistics, input_event), (baseline, output_event)],
                        contexts=[pipeline_context], reuse_context_if_already_exist=True)
    return Acceptance(run_id, accepted_by, accepted_at, reason, execution_id, str(target))
