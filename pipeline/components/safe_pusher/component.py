"""``SafePusher``: TFX's Pusher with an executor that publishes atomically and never twice.

A subclass of the stock component (same spec: ``model``, ``model_blessing``,
``push_destination`` in, ``pushed_model`` out), so every orchestrator, the compiled
specs and MLMD see a Pusher; only the executor differs. TFX 1.16 deprecates swapping
executors through ``custom_executor_spec``; subclassing is its recommended way. The
node id stays ``Pusher``: MLMD history, DAGs and compiled specs refer to it.
"""

from __future__ import annotations

from typing import Any

from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import executor_spec

from pipeline.components.safe_pusher.executor import Executor

NODE_ID = "Pusher"


class SafePusher(Pusher):
    """Pushes a blessed model to ``<base_directory>/<version>`` (see :mod:`.executor`)."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_id(NODE_ID)
