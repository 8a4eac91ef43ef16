"""Opening an MLMD store for reading, with errors a person can act on.

Lineage commands only read: a SQLite store is opened read-only so that pointing a
command at the wrong file never creates or migrates a database there.
"""

from __future__ import annotations

from pathlib import Path

from ml_metadata import errors as mlmd_errors
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.config import MetadataConfig, SqliteMetadata
from pipeline.metadata.connection import MetadataConfigError, connection_config, describe


class LineageError(Exception):
    """A question the store cannot answer (unknown run or artifact, empty or missing store)."""


def open_read_only(meta: MetadataConfig) -> metadata_store.MetadataStore:
    """The store behind ``meta``; raises :class:`LineageError` if there is none to read."""
    if isinstance(meta, SqliteMetadata):
        path = Path(meta.path)
        if not path.is_file():
            raise LineageError(f"no MLMD store at {path} (has the pipeline run with this --root?)")
        if path.stat().st_size == 0:
            raise LineageError(f"the MLMD store {path} is empty: no pipeline has run with it yet")
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    else:
        try:
            config = connection_config(meta)
        except MetadataConfigError as error:
            raise LineageError(str(error)) from None
        if config is None:
            raise LineageError("this profile's metadata lives in the orchestrator backend; "
                               "point --store at an exported SQLite file instead")
    try:
        return metadata_store.MetadataStore(config)
    except (mlmd_errors.StatusError, RuntimeError) as error:
        raise LineageError(f"cannot read the MLMD store {describe(meta)}: {error}") from None
