"""DataBaseline artifact type and the component that records one per blessed model.

No ``from __future__ import annotations`` here: TFX reads the function's annotations
as real types to build the component spec.
"""


import json
import logging
import os

from tfx import v1 as tfx
from tfx.types import artifact_utils
from tfx.types.experimental import simple_artifacts
from tfx.utils import io_utils

from pipeline.components.data_baseline import spec

log = logging.getLogger(__name__)


# The baseline's artifact type. TFX's stock ``Statistics`` type (no standard component
# produces it), not a class of our own: Kubeflow v2's compiler writes resolver queries
# by type title only for TFX's own types (a custom type becomes "tfx.Artifact", which
# matches nothing), so the "latest baseline" resolver works on Vertex/KFP as it does
# locally. Layout as ExampleStatistics: ``Split-<name>/FeatureStats.pb``; the split names
# are the custom property ``split_names`` (the stock type has no properties).
DataBaseline = simple_artifacts.Statistics


@tfx.dsl.components.component
def DataBaselineRecorder(  # noqa: N802 - TFX names components like classes
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    baseline: tfx.dsl.components.OutputArtifact[DataBaseline],
) -> None:
    """Copies the run's statistics into a DataBaseline.

    The pipeline runs this only under a condition on the Evaluator's blessing. The
    blessing is deliberately not an input as well: TFX 1.16's Kubeflow v2 compiler then
    writes the condition against an input key the task does not have.
    """
    splits = artifact_utils.decode_split_names(statistics.split_names)
    for split in splits:
        io_utils.copy_dir(os.path.join(statistics.uri, f"Split-{split}"),
                          os.path.join(baseline.uri, f"Split-{split}"))
    baseline.set_string_custom_property(spec.SPLIT_NAMES, json.dumps(splits))
    baseline.set_string_custom_property(spec.STATISTICS_URI, statistics.uri)
    log.info("data baseline recorded: splits %s from %s", splits, statistics.uri)
