"""The ExecutorInput a KFP launcher hands a task, and the ExecutorOutput it reads back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

if TYPE_CHECKING:
    from pipeline.runners.kfp_local.driver import TaskResult


def _input_parameter_values(task: pipeline_spec_pb2.PipelineTaskSpec, runtime_parameters: Mapping[str, Any],
                            produced: Mapping[str, TaskResult]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, parameter in task.inputs.parameters.items():
        which = parameter.WhichOneof("kind")
        if which == "runtime_value":
            values[name] = json_format.MessageToDict(parameter.runtime_value.constant)
        elif which == "component_input_parameter":
            values[name] = runtime_parameters[parameter.component_input_parameter]
        elif which == "task_output_parameter":
            source = parameter.task_output_parameter
            values[name] = produced[source.producer_task].parameters[source.output_parameter_key]
        else:
            raise ValueError(f"input parameter {name}: unsupported kind {which}")
    return values


def build_executor_input(spec: pipeline_spec_pb2.PipelineSpec, task_name: str,
                         produced: Mapping[str, TaskResult], task_root: Path | str, run_id: str,
                         runtime_parameters: Mapping[str, Any] | None = None,
                         local_root: Path | None = None) -> dict[str, Any]:
    """The ExecutorInput (as a JSON dict) a KFP launcher would hand this task.

    Output artifacts go under ``task_root`` (a folder or a URI such as gs://...); the files the
    launcher itself reads back (executor output, output parameters) go under ``local_root``
    (default ``task_root``), local to the task as ``/tmp/kfp_outputs`` is in a KFP pod.
    """
    local_root = Path(task_root) if local_root is None else local_root
    task = spec.root.dag.tasks[task_name]
    component = spec.components[task.component_ref.name]
    artifacts = {}
    for name, source in task.inputs.artifacts.items():
        if not source.HasField("task_output_artifact"):
            raise ValueError(f"{task_name}.{name}: only task outputs are supported as input artifacts")
        producer = source.task_output_artifact
        upstream = produced[producer.producer_task].outputs
        artifacts[name] = {"artifacts": upstream.get(producer.output_artifact_key, [])}
    outputs: dict[str, Any] = {"artifacts": {}, "parameters": {},
                               "outputFile": str(local_root / "executor_output.json")}
    for key, definition in component.output_definitions.artifacts.items():
        outputs["artifacts"][key] = {"artifacts": [{
            "name": f"local-kfp/{run_id}/{task_name}/{key}",
            "type": json_format.MessageToDict(definition.artifact_type),
            "uri": f"{str(task_root).rstrip('/')}/{key}",
            "metadata": {},
        }]}
    for key in component.output_definitions.parameters:
        outputs["parameters"][key] = {"outputFile": str(local_root / "parameters" / key)}
    executor_input = {
        "inputs": {
            "parameterValues": _input_parameter_values(task, runtime_parameters or {}, produced),
            "artifacts": artifacts,
        },
        "outputs": outputs,
    }
    # Round-trip through the proto: what we hand over is exactly what KFP could.
    message = pipeline_spec_pb2.ExecutorInput()
    json_format.ParseDict(executor_input, message)
    return json_format.MessageToDict(message)


def metadata_value(artifact: Mapping[str, Any], key: str) -> Any:
    """A TFX property of a KFP runtime artifact, or None.

    TFX writes a custom property whose name is also a declared property (ExampleGen's
    ``span``) as ``custom:<name>`` in the artifact's metadata; either spelling is read.
    """
    metadata = artifact.get("metadata", {})
    return metadata.get(key, metadata.get(f"custom:{key}"))


def _reported(path: Path) -> dict[str, Any]:
    """The ExecutorOutput a driver or executor wrote at ``path``, as JSON; empty if it wrote none."""
    if not path.is_file():
        return {}
    message = pipeline_spec_pb2.ExecutorOutput()
    json_format.Parse(path.read_text(), message)
    return json_format.MessageToDict(message)


def _reported_pairs(reported: Mapping[str, Any], declared: Mapping[str, list[dict[str, Any]]],
                    who: str) -> Iterator[tuple[str, list[tuple[dict[str, Any], dict[str, Any]]]]]:
    """Per output key, (declared artifact, reported artifact) pairs; an undeclared key is an error."""
    for key, artifact_list in reported.get("artifacts", {}).items():
        if not declared.get(key):
            raise ValueError(f"{who} reported an undeclared output artifact {key!r}")
        yield key, list(zip(declared[key], artifact_list.get("artifacts", []), strict=False))


def apply_driver_output(path: Path, executor_input: dict[str, Any]) -> None:
    """Updates the task's output artifacts with what its driver (``pre_cache_check``) wrote.

    On Vertex the service does this between the driver and the executor: ExampleGen's
    driver resolves the span and version and puts them on the output artifact, and the
    executor then reports that artifact (with its span) as its own output. The driver's
    parameters (span, fingerprint, input config) need nothing here: the executor reads
    them from the same file itself.
    """
    declared = {key: value.get("artifacts", [])
                for key, value in executor_input["outputs"].get("artifacts", {}).items()}
    for _, pairs in _reported_pairs(_reported(path), declared, "driver"):
        for declared_artifact, artifact in pairs:
            declared_artifact["metadata"] = {**declared_artifact.get("metadata", {}),
                                             **artifact.get("metadata", {})}


def read_executor_output(path: Path, executor_input: Mapping[str, Any]) -> tuple[dict, dict]:
    """Output artifacts (spec types kept, executor's URIs and metadata taken) and output parameters."""
    declared_outputs = executor_input["outputs"].get("artifacts", {})
    outputs = {key: value["artifacts"] for key, value in declared_outputs.items()}
    reported = _reported(path)
    for key, pairs in _reported_pairs(reported, dict(outputs), "executor"):
        outputs[key] = [{**declared_artifact, "uri": artifact.get("uri", declared_artifact["uri"]),
                         "metadata": artifact.get("metadata", {})} for declared_artifact, artifact in pairs]
    return outputs, reported.get("parameterValues", {})
