"""The TFLite component's keys, the properties it records and its report file.

Written by :mod:`.executor`, read by :mod:`pipeline.metadata.facts`; both take the names
from here, which imports nothing (the reading side stays free of TFX and TensorFlow).
The push properties are TFX's Pusher names (:mod:`pipeline.components.tfx_keys`), so a
pushed bundle reads like a pushed model.
"""

MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"
TRANSFORM_GRAPH_KEY = "transform_graph"
EXAMPLES_KEY = "examples"
OUTPUT_KEY = "tflite_models"
# The output artifact's type name (see component.TFLiteModels; lineage finds the bundle by it).
ARTIFACT_TYPE = "pipeline.TFLiteModels"

# Custom properties of the output artifact.
STATUS = "status"  # one of the STATUS_* values
REASON = "reason"  # one sentence: why this status
CHOSEN_VARIANT = "chosen_variant"  # set only when a bundle was pushed
CHOSEN_TECHNIQUE = "chosen_technique"  # "base" or the TFMOT technique of the pushed variant
# A distilled student's teacher: the Model artifact the execution consumed (set when a student is built).
STUDENT_TEACHER_MODEL_ID = "student_teacher_model_id"
STUDENT_TEACHER_MODEL_URI = "student_teacher_model_uri"

STATUS_PUSHED = "pushed"
STATUS_NOT_BLESSED = "not_blessed"
STATUS_NO_VARIANT = "no_variant_qualifies"
STATUS_BUNDLE_CHECK_FAILED = "bundle_check_failed"

# Every measured variant's numbers: ``<variant>_<measure>`` (``int8_size_bytes``, ``int8_auc``).
SIZE_BYTES = "size_bytes"
AUC = "auc"

# Files in the artifact folder: the status and the variant table as JSON ({"status",
# "reason", "reference", "variants": [...]}) and the same for people.
REPORT_FILE = "report.json"
REPORT_MARKDOWN_FILE = "report.md"


def variant_property(variant: str, measure: str) -> str:
    """The custom property holding one measure of one variant."""
    return f"{variant}_{measure}"
