"""ML Metadata: how to connect (:mod:`.connection`, :mod:`.read_only`), small named queries
(:mod:`.queries`) and the one reader that turns a run's records into typed facts (:mod:`.facts`).

The connection API is re-exported here because every runner and command needs it.
Nothing in this package imports TFX or the runners: reading lineage never pulls them in.
"""

from pipeline.metadata.connection import (
    MetadataConfigError,
    MetadataUnavailable,
    connection_config,
    describe,
    ensure_reachable,
    mysql_password,
    open_store,
)

__all__ = [
    "MetadataConfigError",
    "MetadataUnavailable",
    "connection_config",
    "describe",
    "ensure_reachable",
    "mysql_password",
    "open_store",
]
