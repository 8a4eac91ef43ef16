"""The Evaluator's own file in its ``evaluation`` artifact (read by pipeline/metadata/facts.py).

Kept free of TFX imports so that the run-facts reader can name the file cheaply.
"""

# {"splits", "slice_features", "examples", "overall", "slices": {"feature=value": {metric: value}}}
SLICE_METRICS_FILE = "slice_metrics.json"
