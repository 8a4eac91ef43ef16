"""TFX's own input/output keys and recorded property names, as plain strings.

TFX defines them in modules that import TensorFlow (``tfx.types.standard_component_specs``,
the Evaluator's and Pusher's executors); the reading side (summary, lineage, report) must
not, so the names it needs are written here once and checked against TFX by a unit test
(``tests/pipeline/components/test_keys.py``).
"""

# Output and input keys of the stock components (standard_component_specs).
EXAMPLES_KEY = "examples"
SCHEMA_KEY = "schema"
STATISTICS_KEY = "statistics"
ANOMALIES_KEY = "anomalies"
TRANSFORM_GRAPH_KEY = "transform_graph"
MODEL_KEY = "model"
BASELINE_MODEL_KEY = "baseline_model"
EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
MODEL_BLESSING_KEY = "model_blessing"
PUSHED_MODEL_KEY = "pushed_model"

# Execution properties the stock components record in MLMD.
INPUT_BASE = "input_base"  # ExampleGen
INPUT_FINGERPRINT = "input_fingerprint"  # ExampleGen
SPAN = "span"  # ExampleGen
SCHEMA_FILE = "schema_file"  # ImportSchemaGen
PREPROCESSING_FN = "preprocessing_fn"  # Transform
TRAIN_ARGS = "train_args"  # Trainer
EVAL_ARGS = "eval_args"  # Trainer
CUSTOM_CONFIG = "custom_config"  # Trainer: the hyperparameters
RUN_FN = "run_fn"  # Trainer
MODULE_FILE = "module_file"  # Trainer (module-file style)

# Artifact custom properties.
BLESSED = "blessed"  # ModelBlessing: 1 blessed, 0 not (evaluator constants)
PUSHED = "pushed"  # PushedModel: 1 pushed, 0 not (pusher executor)
PUSHED_DESTINATION = "pushed_destination"
PUSHED_VERSION = "pushed_version"
