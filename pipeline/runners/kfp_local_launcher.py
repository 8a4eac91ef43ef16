"""Runs a compiled KFP v2 pipeline spec on this machine, task by task, as a KFP launcher would.

This is the proof that the file we hand to KFP or Vertex works before anyone pays for a
cluster: it reads the compiled spec (YAML package or PipelineJob JSON), and for every
task of the root DAG, in dependency order, it does what the KFP driver and launcher do:

* builds the task's ``ExecutorInput`` (input parameters from the spec, input artifacts
  from upstream tasks' outputs, output artifact URIs under a local pipeline root, an
  ``executor_output.json`` path), substitutes the spec's placeholders (``{{$}}`` and
  friends) into the container's command and arguments, and runs that command, with
  ``python`` meaning this interpreter instead of the image's;
* runs the ``preCacheCheck`` lifecycle hook first when the spec has one (TFX's
  FileBasedExampleGen driver, which Vertex runs before the executor);
* reads the task's ``ExecutorOutput`` back, as the launcher does, to learn the output
  artifacts' final metadata and output parameters;
* answers resolver tasks (TFX's latest-blessed-model and latest-artifact resolvers) by
  evaluating their artifact query filters against the artifacts earlier runs recorded
  in a small JSON-lines store under the pipeline root (the KFP backend keeps these in
  MLMD);
* evaluates a task's trigger condition (TFX's ``Cond``, compiled to CEL over input
  artifact metadata) and skips the task when it is false, as the KFP driver does.

Not emulated: caching (every task runs), importer tasks, nested DAGs, loops (TFX's
compiler emits none of these for our pipeline), pod resources.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

log = logging.getLogger(__name__)

STORE_NAME = "kfp_local_artifacts.jsonl"
_PLACEHOLDER = re.compile(r"\{\{\$(?P<path>[^}]*)\}\}")
# One comparison of a TFX-compiled trigger condition, e.g.
# (inputs.artifacts['_Evaluator.blessing'].artifacts[0].metadata['blessed'] == 1.0)
_CONDITION = re.compile(
    r"^\(?inputs\.artifacts\['(?P<key>[^']+)'\]\.artifacts\[(?P<index>\d+)\]"
    r"\.metadata\['(?P<field>[^']+)'\]\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>[^()]+?)\)?$"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}
_IO_PATH = re.compile(
    r"^\.(?P<io>inputs|outputs)\.(?P<kind>parameters|artifacts)\['(?P<name>[^']+)'\]"
    r"(?:\.(?P<field>uri|path|output_file|value)|\.metadata\['(?P<key>[^']+)'\])?$"
)


class TaskFailed(RuntimeError):
    """A task's command exited non-zero (the message ends with its log tail)."""


@dataclass
class TaskResult:
    """What one task did and produced."""

    name: str
    kind: str  # "container", "resolver" or "skipped" (trigger condition false)
    seconds: float
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """One local execution of a compiled spec."""

    run_id: str
    pipeline_root: Path
    tasks: dict[str, TaskResult] = field(default_factory=dict)

    def artifact(self, task: str, key: str) -> dict[str, Any]:
        """The single artifact a task produced under ``key``."""
        [artifact] = self.tasks[task].outputs[key]
        return artifact


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


class ArtifactStore:
    """The artifacts of past local runs, one JSON object per line: what resolvers query.

    Stands in for the KFP backend's MLMD; every entry is LIVE and belongs to one
    pipeline (``pipeline`` field), newest last.
    """

    def __init__(self, path: Path, pipeline_name: str) -> None:
        self.path = Path(path)
        self.pipeline_name = pipeline_name

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        entries = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return [e for e in entries if e["pipeline"] == self.pipeline_name]

    def add(self, artifact: Mapping[str, Any], run_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"pipeline": self.pipeline_name, "run_id": run_id, **artifact}
        with self.path.open("a") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def query(self, filter_text: str) -> list[dict[str, Any]]:
        """Artifacts matching a resolver filter (clauses joined by AND), newest first."""
        clauses = [_parse_clause(c) for c in filter_text.split(" AND ")]
        matches = [e for e in self.entries() if all(clause(e) for clause in clauses)]
        return list(reversed(matches))


def _parse_clause(clause: str) -> Callable[[Mapping[str, Any]], bool]:
    """One ``key=value`` clause of a KFP resolver filter, as TFX's compiler writes them."""
    key, sep, raw = clause.strip().partition("=")
    if not sep:
        raise ValueError(f"unsupported resolver filter clause {clause!r}")
    value = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    if key == "schema_title":
        return lambda e: e["schema_title"] == value
    if key == "state":
        if value != "LIVE":
            raise ValueError(f"only LIVE artifacts are recorded, filter asks for {value}")
        return lambda e: True
    if key == "name":
        return lambda e: e["name"] == value
    metadata = re.fullmatch(r"metadata\.(?P<k>\w+)\.(?P<t>number_value|string_value|bool_value)", key)
    if metadata:
        name, kind = metadata["k"], metadata["t"]
        if kind == "number_value":
            return lambda e: isinstance(e["metadata"].get(name), int | float) and \
                float(e["metadata"][name]) == float(value)
        if kind == "bool_value":
            return lambda e: e["metadata"].get(name) is (value.lower() == "true")
        return lambda e: e["metadata"].get(name) == value
    raise ValueError(f"unsupported resolver filter clause {clause!r}")


def resolve_placeholders(text: str, executor_input: Mapping[str, Any]) -> str:
    """Substitutes KFP's runtime placeholders in one command-line argument or filter.

    ``{{$}}`` is the whole ExecutorInput as JSON; the others name one input/output
    parameter, artifact URI, artifact metadata value or output file. An unknown
    placeholder is an error, never passed through to the command.
    """

    def substitute(match: re.Match[str]) -> str:
        path = match["path"]
        if path == "":
            return json.dumps(executor_input, sort_keys=True)
        parsed = _IO_PATH.match(path)
        if not parsed:
            raise ValueError(f"unsupported placeholder {match[0]!r}")
        section = executor_input.get(parsed["io"], {})
        name = parsed["name"]
        if parsed["kind"] == "parameters":
            if parsed["io"] == "inputs":
                value = section.get("parameterValues", {})[name]
                if isinstance(value, float) and value.is_integer():
                    # protobuf Values hold every number as a double; integers print as KFP prints them
                    return str(int(value))
                return value if isinstance(value, str) else json.dumps(value)
            return section["parameters"][name]["outputFile"]
        artifacts = section.get("artifacts", {}).get(name, {}).get("artifacts", [])
        if not artifacts:
            raise LookupError(f"placeholder {match[0]!r}: no artifact for {name!r}")
        artifact = artifacts[0]
        if parsed["key"] is not None:
            return str(artifact.get("metadata", {})[parsed["key"]])
        return artifact["uri"]

    return _PLACEHOLDER.sub(substitute, text)


def _artifact_type(spec: pipeline_spec_pb2.PipelineSpec, task_name: str, key: str) -> dict[str, Any]:
    component = spec.components[spec.root.dag.tasks[task_name].component_ref.name]
    return json_format.MessageToDict(component.output_definitions.artifacts[key].artifact_type)


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
                         produced: Mapping[str, TaskResult], task_root: Path, run_id: str,
                         runtime_parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ExecutorInput (as a JSON dict) a KFP launcher would hand this task."""
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
                               "outputFile": str(task_root / "executor_output.json")}
    for key, definition in component.output_definitions.artifacts.items():
        outputs["artifacts"][key] = {"artifacts": [{
            "name": f"local-kfp/{run_id}/{task_name}/{key}",
            "type": json_format.MessageToDict(definition.artifact_type),
            "uri": str(task_root / key),
            "metadata": {},
        }]}
    for key in component.output_definitions.parameters:
        outputs["parameters"][key] = {"outputFile": str(task_root / "parameters" / key)}
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


def container_command(container: pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec
                      | pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.Lifecycle.Exec,
                      executor_input: Mapping[str, Any], python: str) -> list[str]:
    """The container's command and arguments, resolved, with ``python`` meaning ``python``."""
    argv = [resolve_placeholders(part, executor_input) for part in [*container.command, *container.args]]
    if argv and argv[0] in ("python", "python3"):
        argv[0] = python
    return argv


# How a task's command is run: (argv, log file, working directory, environment) -> exit code.
# The default runs it here; pipeline/runners/container.py runs it inside the pipeline image.
RunCommand = Callable[[Sequence[str], Path, "Path | None", Mapping[str, str]], int]


def run_subprocess(argv: Sequence[str], log_path: Path, cwd: Path | None, env: Mapping[str, str]) -> int:
    """Runs one task command on this machine, its output in ``log_path``."""
    with log_path.open("w") as handle:
        return subprocess.run(list(argv), stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, env=dict(env),
                              check=False).returncode


def _run(argv: Sequence[str], log_path: Path, cwd: Path | None, env: Mapping[str, str],
         run_command: RunCommand = run_subprocess) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    returncode = run_command(argv, log_path, cwd, env)
    if returncode != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-40:]) if log_path.is_file() else "(no log)"
        raise TaskFailed(f"{argv[:3]} exited with {returncode}; log {log_path}:\n{tail}")


def _read_executor_output(path: Path, executor_input: Mapping[str, Any]) -> tuple[dict, dict]:
    """Output artifacts (spec types kept, executor's URIs and metadata taken) and output parameters."""
    declared_outputs = executor_input["outputs"].get("artifacts", {})
    outputs = {key: value["artifacts"] for key, value in declared_outputs.items()}
    if not path.is_file():
        return outputs, {}
    message = pipeline_spec_pb2.ExecutorOutput()
    json_format.Parse(path.read_text(), message)
    reported = json_format.MessageToDict(message)
    for key, artifact_list in reported.get("artifacts", {}).items():
        declared = outputs.get(key)
        if not declared:
            raise ValueError(f"executor reported an undeclared output artifact {key!r}")
        merged = []
        for declared_artifact, artifact in zip(declared, artifact_list.get("artifacts", []), strict=False):
            merged.append({**declared_artifact, "uri": artifact.get("uri", declared_artifact["uri"]),
                           "metadata": artifact.get("metadata", {})})
        outputs[key] = merged
    return outputs, reported.get("parameterValues", {})


def run_pipeline(spec_path: Path, pipeline_root: Path, *, run_id: str | None = None,
                 python: str = sys.executable, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 runtime_parameters: Mapping[str, Any] | None = None,
                 on_task: Callable[[str, int, int], None] | None = None,
                 run_command: RunCommand = run_subprocess) -> RunResult:
    """Executes every task of the compiled spec at ``spec_path``; raises :class:`TaskFailed` at a failure.

    Outputs go to ``pipeline_root/<run_id>/<task>/<output key>``; the artifact store
    at ``pipeline_root/kfp_local_artifacts.jsonl`` carries blessed models to later runs.
    ``run_command`` runs each task's resolved command, whose leading ``python`` became
    ``python``: with ``python="python"`` and a container runner, every task runs in the image.
    """
    spec = load_pipeline_spec(spec_path)
    pipeline_root = Path(pipeline_root)
    run_id = run_id or datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S-%f")
    store = ArtifactStore(pipeline_root / STORE_NAME, spec.pipeline_info.name)
    environment = dict(os.environ if env is None else env)
    result = RunResult(run_id=run_id, pipeline_root=pipeline_root)
    order = task_order(spec)
    for index, task_name in enumerate(order, start=1):
        if on_task:
            on_task(task_name, index, len(order))
        task = spec.root.dag.tasks[task_name]
        component = spec.components[task.component_ref.name]
        if component.WhichOneof("implementation") == "dag":
            raise NotImplementedError(f"task {task_name}: nested DAGs are not supported")
        executor = executor_spec(spec, task_name)
        task_root = pipeline_root / run_id / task_name
        executor_input = build_executor_input(spec, task_name, result.tasks, task_root, run_id,
                                              runtime_parameters)
        started = time.monotonic()
        condition = task.trigger_policy.condition
        if condition and not condition_holds(condition, executor_input):
            result.tasks[task_name] = TaskResult(task_name, "skipped", 0.0, {})
            log.info("%s skipped: %s is false", task_name, task.trigger_policy.condition)
            continue
        kind = executor.WhichOneof("spec")
        if kind == "resolver":
            outputs = _resolve(executor.resolver, executor_input, store)
            result.tasks[task_name] = TaskResult(task_name, "resolver", time.monotonic() - started, outputs)
            log.info("%s resolved %s", task_name, {k: [a["uri"] for a in v] for k, v in outputs.items()})
            continue
        if kind != "container":
            raise NotImplementedError(f"task {task_name}: {kind} executors are not supported")
        container = executor.container
        if container.lifecycle.HasField("pre_cache_check"):
            _run(container_command(container.lifecycle.pre_cache_check, executor_input, python),
                 task_root / "pre_cache_check.log", cwd, environment, run_command)
        _run(container_command(container, executor_input, python), task_root / "executor.log", cwd,
             environment, run_command)
        output_file = Path(executor_input["outputs"]["outputFile"])
        outputs, parameters = _read_executor_output(output_file, executor_input)
        for artifact_list in outputs.values():
            for artifact in artifact_list:
                store.add(_store_entry(artifact), run_id)
        seconds = time.monotonic() - started
        result.tasks[task_name] = TaskResult(task_name, "container", seconds, outputs, parameters)
        log.info("%s complete in %.1f s", task_name, result.tasks[task_name].seconds)
    return result


def condition_holds(condition: str, executor_input: Mapping[str, Any]) -> bool:
    """A trigger condition as TFX compiles them: comparisons on input artifact metadata joined by &&.

    Anything else raises NotImplementedError rather than guessing.
    """
    for clause in (c.strip() for c in condition.split("&&")):
        match = _CONDITION.match(clause)
        if not match:
            raise NotImplementedError(f"unsupported trigger condition {clause!r}")
        artifacts = executor_input["inputs"]["artifacts"].get(match["key"], {}).get("artifacts", [])
        index = int(match["index"])
        if index >= len(artifacts):
            return False  # CEL: indexing past the end is an error, and the task does not run
        actual = artifacts[index].get("metadata", {}).get(match["field"])
        literal = match["value"].strip()
        expected: Any = literal.strip("'\"") if literal[:1] in "'\"" else float(literal)
        if actual is None or not _COMPARE[match["op"]](actual, expected):
            return False
    return True


def _store_entry(artifact: Mapping[str, Any]) -> dict[str, Any]:
    artifact_type = artifact.get("type", {})
    title = artifact_type.get("schemaTitle")
    if title is None and "instanceSchema" in artifact_type:
        title = yaml.safe_load(artifact_type["instanceSchema"]).get("title")
    return {"name": artifact["name"], "uri": artifact["uri"], "schema_title": title,
            "type": artifact_type, "metadata": artifact.get("metadata", {})}


def _resolve(resolver: pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec,
             executor_input: Mapping[str, Any], store: ArtifactStore) -> dict[str, list[dict[str, Any]]]:
    """Answers each output query with the newest matching artifact, or nothing."""
    outputs: dict[str, list[dict[str, Any]]] = {}
    for key, query in resolver.output_artifact_queries.items():
        try:
            filter_text = resolve_placeholders(query.filter, executor_input)
        except LookupError:
            # The query depends on an upstream resolver that found nothing (first run).
            outputs[key] = []
            continue
        matches = store.query(filter_text)
        outputs[key] = [{k: matches[0][k] for k in ("name", "uri", "type", "metadata")}] if matches else []
    return outputs

