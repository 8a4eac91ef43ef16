"""Reading a compiled KFP v2 spec: the root DAG's tasks, their order, executors and images."""

from __future__ import annotations

from pathlib import Path

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2


def load_pipeline_spec(path: Path) -> pipeline_spec_pb2.PipelineSpec:
    """Parses a compiled spec strictly: a KFP YAML package or a Vertex PipelineJob JSON."""
    text = Path(path).read_text()
    if Path(path).suffix in (".yaml", ".yml"):
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
        if len(documents) != 1:
            raise ValueError(f"{path}: expected one PipelineSpec document, found {len(documents)}")
        spec_dict = documents[0]
    else:
        job = pipeline_spec_pb2.PipelineJob()
        json_format.Parse(text, job)
        spec_dict = json_format.MessageToDict(job.pipeline_spec)
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(spec_dict, spec)
    return spec


def upstream_tasks(spec: pipeline_spec_pb2.PipelineSpec) -> dict[str, set[str]]:
    """Each root-DAG task's upstream tasks: declared dependencies plus producers of its inputs."""
    return {name: set(task.dependent_tasks) | _producers(task) for name, task in spec.root.dag.tasks.items()}


def task_order(spec: pipeline_spec_pb2.PipelineSpec) -> list[str]:
    """Root-DAG task names in a dependency order (ties broken by name, so the order is stable)."""
    tasks = spec.root.dag.tasks
    upstream = upstream_tasks(spec)
    for name, deps in upstream.items():
        missing = deps - set(tasks)
        if missing:
            raise ValueError(f"task {name} depends on unknown tasks {sorted(missing)}")
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(tasks):
        ready = sorted(name for name in tasks if name not in done and upstream[name] <= done)
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(set(tasks) - done)}")
        order.append(ready[0])
        done.add(ready[0])
    return order


def executor_spec(spec: pipeline_spec_pb2.PipelineSpec,
                  task_name: str) -> pipeline_spec_pb2.PipelineDeploymentConfig.ExecutorSpec:
    """The deployment spec's executor (container, resolver, importer) of one root-DAG task."""
    component = spec.components[spec.root.dag.tasks[task_name].component_ref.name]
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    result = pipeline_spec_pb2.PipelineDeploymentConfig.ExecutorSpec()
    json_format.ParseDict(executors[component.executor_label], result)
    return result


def task_image(spec: pipeline_spec_pb2.PipelineSpec, task_name: str) -> str | None:
    """The container image a task runs in (None for resolver and importer tasks)."""
    executor = executor_spec(spec, task_name)
    return executor.container.image if executor.WhichOneof("spec") == "container" else None


def _producers(task: pipeline_spec_pb2.PipelineTaskSpec) -> set[str]:
    producers = {a.task_output_artifact.producer_task for a in task.inputs.artifacts.values()
                 if a.HasField("task_output_artifact")}
    producers |= {p.task_output_parameter.producer_task for p in task.inputs.parameters.values()
                  if p.HasField("task_output_parameter")}
    return producers
