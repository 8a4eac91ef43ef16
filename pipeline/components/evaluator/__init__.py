"""TFX's Evaluator with the per-slice metrics computed in one vectorised pass beside TFMA."""
