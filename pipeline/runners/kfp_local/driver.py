"""Runs a compiled KFP v2 pipeline spec on this machine, task by task, as a KFP launcher would.

This is the proof that the file we hand to KFP or Vertex works before anyone pays for a
cluster: it reads the compiled spec (YAML package or PipelineJob JSON), and for every
task of the root DAG, in dependency order, it does what the KFP driver and launcher do:

* builds the task's ``ExecutorInput`` (input parameters from the spec, input artifacts
  from upstream tasks' outputs, output artifact URIs under a local pipeline root, an
  ``executor_output.json`` path), substitutes the spec's placeholders (``{{$}}`` and
  friends) into the container's command and arguments, and runs that command, with
  ``python`` meaning this interpreter instead of the image's (or, through ``run_command``,
  in a container of the image itself: pipeline/runners/container.py);
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
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline.runners.kfp_local.executor_input import (
    apply_driver_output,
    build_executor_input,
    read_executor_output,
)
from pipeline.runners.kfp_local.placeholders import condition_holds, container_command
from pipeline.runners.kfp_local.spec import executor_spec, load_pipeline_spec, task_order
from pipeline.runners.kfp_local.store import STORE_NAME, ArtifactStore, resolve_queries, store_entry

log = logging.getLogger(__name__)


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
    pipeline_root: Path | str
    tasks: dict[str, TaskResult] = field(default_factory=dict)

    def artifact(self, task: str, key: str) -> dict[str, Any]:
        """The single artifact a task produced under ``key``."""
        [artifact] = self.tasks[task].outputs[key]
        return artifact


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


def pipeline_parameters(spec: pipeline_spec_pb2.PipelineSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """The run's pipeline parameters: the spec's defaults, overridden by ``given`` (as a KFP run's)."""
    declared = spec.root.input_definitions.parameters
    unknown = set(given) - set(declared)
    if unknown:
        raise ValueError(f"the pipeline has no parameters {sorted(unknown)}; it declares {sorted(declared)}")
    values = {name: json_format.MessageToDict(definition.default_value)
              for name, definition in declared.items() if definition.HasField("default_value")}
    values.update(given)
    missing = set(declared) - set(values)
    if missing:
        raise ValueError(f"pipeline parameters without a value or default: {sorted(missing)}")
    return values


def run_pipeline(spec_path: Path, pipeline_root: Path | str, *, run_id: str | None = None,
                 python: str = sys.executable, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 runtime_parameters: Mapping[str, Any] | None = None,
                 on_task: Callable[[str, int, int], None] | None = None,
                 work_dir: Path | None = None, only: Sequence[str] | None = None,
                 run_command: RunCommand = run_subprocess) -> RunResult:
    """Executes every task of the compiled spec at ``spec_path``; raises :class:`TaskFailed` at a failure.

    Outputs go to ``pipeline_root/<run_id>/<task>/<output key>``; ``pipeline_root`` may be a URI
    (``gs://bucket/root``) as on a cluster. The launcher's own files - task logs, executor
    outputs, and the artifact store ``kfp_local_artifacts.jsonl`` that carries blessed models to
    later runs (the KFP backend keeps these in MLMD) - go under ``work_dir``, a local folder
    (default: ``pipeline_root`` itself when that is local). ``runtime_parameters`` are the
    run's pipeline parameters (the spec's defaults fill the rest); ``only`` runs just these
    tasks (their upstream tasks must be among them). ``run_command`` runs each task's
    resolved command (its leading ``python`` replaced by ``python``): with ``python="python"`` and
    a container runner (pipeline/runners/container.py), every task runs in the image.
    """
    spec = load_pipeline_spec(spec_path)
    runtime_parameters = pipeline_parameters(spec, runtime_parameters or {})
    root_uri = str(pipeline_root).rstrip("/")
    if work_dir is None:
        if "://" in root_uri:
            raise ValueError(f"pipeline root {root_uri} is a URI: give a local work_dir for the launcher")
        work_dir = Path(pipeline_root)
    pipeline_root = Path(pipeline_root) if "://" not in root_uri else root_uri
    run_id = run_id or datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S-%f")
    store = ArtifactStore(work_dir / STORE_NAME, spec.pipeline_info.name)
    environment = dict(os.environ if env is None else env)
    result = RunResult(run_id=run_id, pipeline_root=pipeline_root)
    order = [name for name in task_order(spec) if only is None or name in only]
    for index, task_name in enumerate(order, start=1):
        if on_task:
            on_task(task_name, index, len(order))
        task = spec.root.dag.tasks[task_name]
        component = spec.components[task.component_ref.name]
        if component.WhichOneof("implementation") == "dag":
            raise NotImplementedError(f"task {task_name}: nested DAGs are not supported")
        executor = executor_spec(spec, task_name)
        task_root = work_dir / run_id / task_name
        executor_input = build_executor_input(spec, task_name, result.tasks,
                                              f"{root_uri}/{run_id}/{task_name}", run_id,
                                              runtime_parameters, local_root=task_root)
        started = time.monotonic()
        condition = task.trigger_policy.condition
        if condition and not condition_holds(condition, executor_input):
            result.tasks[task_name] = TaskResult(task_name, "skipped", 0.0, {})
            log.info("%s skipped: %s is false", task_name, task.trigger_policy.condition)
            continue
        kind = executor.WhichOneof("spec")
        if kind == "resolver":
            outputs = resolve_queries(executor.resolver, executor_input, store)
            result.tasks[task_name] = TaskResult(task_name, "resolver", time.monotonic() - started, outputs)
            log.info("%s resolved %s", task_name, {k: [a["uri"] for a in v] for k, v in outputs.items()})
            continue
        if kind != "container":
            raise NotImplementedError(f"task {task_name}: {kind} executors are not supported")
        container = executor.container
        if container.lifecycle.HasField("pre_cache_check"):
            _run(container_command(container.lifecycle.pre_cache_check, executor_input, python),
                 task_root / "pre_cache_check.log", cwd, environment, run_command)
            apply_driver_output(Path(executor_input["outputs"]["outputFile"]), executor_input)
        _run(container_command(container, executor_input, python), task_root / "executor.log", cwd,
             environment, run_command)
        output_file = Path(executor_input["outputs"]["outputFile"])
        outputs, parameters = read_executor_output(output_file, executor_input)
        for artifact_list in outputs.values():
            for artifact in artifact_list:
                store.add(store_entry(artifact), run_id)
        seconds = time.monotonic() - started
        result.tasks[task_name] = TaskResult(task_name, "container", seconds, outputs, parameters)
        log.info("%s complete in %.1f s", task_name, result.tasks[task_name].seconds)
    return result
