"""Outcome checks shared by the tests that execute the compiled KFP spec (here, or in the image)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tensorflow as tf


def assert_model_loads_and_was_blessed(result: Any) -> tuple[dict, dict]:
    """The Trainer's model loads with a serving signature and the Evaluator blessed that model.

    Returns the model and blessing artifacts for further checks.
    """
    model = result.artifact("Trainer", "model")
    loaded = tf.saved_model.load(str(Path(model["uri"]) / "Format-Serving"))
    assert "serving_default" in loaded.signatures
    blessing = result.artifact("Evaluator", "blessing")
    assert blessing["metadata"]["blessed"] == 1
    assert blessing["metadata"]["current_model_id"] == model["name"]
    return model, blessing
