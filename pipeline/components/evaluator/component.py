"""TFX's Evaluator with :mod:`pipeline.components.evaluator.executor`: same class name, same node id.

Inputs, outputs, the ``eval_config`` and the blessing are TFX's; only the executor
differs, so MLMD history, the DAG and compiled specs keep calling the node ``Evaluator``.
"""

from __future__ import annotations

from tfx.components import Evaluator as TfxEvaluator
from tfx.dsl.components.base import executor_spec

from pipeline.components.evaluator import executor


class Evaluator(TfxEvaluator):
    """Blessing and overall metrics by TFMA; per-slice metrics vectorised (see the executor)."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
