"""Runs a compiled KFP v2 spec here, task by task, as the KFP driver and launcher would.

Split by concern: :mod:`.spec` (the task graph), :mod:`.executor_input` (what a task
is handed and hands back), :mod:`.placeholders` (placeholders and trigger conditions),
:mod:`.store` (past artifacts and resolver queries) and :mod:`.driver` (the loop).
The names below are the public API.
"""

from pipeline.runners.kfp_local.driver import (
    RunCommand,
    RunResult,
    TaskFailed,
    TaskResult,
    run_pipeline,
    run_subprocess,
)
from pipeline.runners.kfp_local.executor_input import build_executor_input, metadata_value
from pipeline.runners.kfp_local.placeholders import condition_holds, container_command, resolve_placeholders
from pipeline.runners.kfp_local.spec import (
    executor_spec,
    load_pipeline_spec,
    task_image,
    task_order,
    upstream_tasks,
)
from pipeline.runners.kfp_local.store import STORE_NAME, ArtifactStore, resolve_queries

__all__ = [
    "STORE_NAME",
    "ArtifactStore",
    "RunCommand",
    "RunResult",
    "TaskFailed",
    "TaskResult",
    "build_executor_input",
    "condition_holds",
    "container_command",
    "executor_spec",
    "load_pipeline_spec",
    "metadata_value",
    "resolve_placeholders",
    "resolve_queries",
    "run_pipeline",
    "run_subprocess",
    "task_image",
    "task_order",
    "upstream_tasks",
]
