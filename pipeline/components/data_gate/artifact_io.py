"""Reading the per-split protos that TFX components write (``Split-<name>/<file>``)."""

from __future__ import annotations

import os

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx import types
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from pipeline.components.data_baseline.spec import SPLIT_NAMES

ANOMALIES_FILE = "SchemaDiff.pb"
STATISTICS_FILE = "FeatureStats.pb"


def _read(path: str, message):  # noqa: ANN001, ANN202 - any proto class
    result = message()
    with fileio.open(path, "rb") as handle:
        result.ParseFromString(handle.read())
    return result


def split_names(artifact: types.Artifact) -> list[str]:
    """Split names from the ``split_names`` property, or custom property (custom types)."""
    if "split_names" in (artifact.PROPERTIES or {}):
        return artifact_utils.decode_split_names(artifact.split_names)
    return artifact_utils.decode_split_names(artifact.get_string_custom_property(SPLIT_NAMES))


def load_anomalies(artifact: types.Artifact) -> dict[str, anomalies_pb2.Anomalies]:
    """Anomalies proto per split (ExampleValidator's output, or the gate's drift report)."""
    return {split: _read(os.path.join(artifact.uri, f"Split-{split}", ANOMALIES_FILE),
                         anomalies_pb2.Anomalies)
            for split in split_names(artifact)}


def load_statistics(artifact: types.Artifact) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Statistics per split (StatisticsGen's output, or a DataBaseline)."""
    return {split: _read(os.path.join(artifact.uri, f"Split-{split}", STATISTICS_FILE),
                         statistics_pb2.DatasetFeatureStatisticsList)
            for split in split_names(artifact)}


def write_anomalies(artifact: types.Artifact, anomalies: dict[str, anomalies_pb2.Anomalies]) -> None:
    """Writes ``Split-<name>/SchemaDiff.pb`` per split and records the split names."""
    for split, proto in anomalies.items():
        folder = os.path.join(artifact.uri, f"Split-{split}")
        fileio.makedirs(folder)
        with fileio.open(os.path.join(folder, ANOMALIES_FILE), "wb") as handle:
            handle.write(proto.SerializeToString())
    artifact.split_names = artifact_utils.encode_split_names(sorted(anomalies))


def load_schema(artifact: types.Artifact) -> schema_pb2.Schema:
    """The schema in a Schema artifact (ImportSchemaGen/SchemaGen write ``schema.pbtxt``)."""
    from tfx.utils import io_utils

    return io_utils.SchemaReader().read(os.path.join(artifact.uri, "schema.pbtxt"))
