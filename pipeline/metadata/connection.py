"""MLMD connections built from the profile's metadata settings.

Secrets (the MySQL password) are resolved here, at connection time, from the
environment or a mounted file, so they never sit in configuration, code or DAGs.
"""

from __future__ import annotations

import os
from pathlib import Path

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.config import BackendMetadata, MetadataConfig, MySqlMetadata, SqliteMetadata


class MetadataConfigError(ValueError):
    """The metadata settings cannot produce a usable connection."""


class MetadataUnavailable(RuntimeError):  # noqa: N818 - reads as a state, like TFX's errors
    """The MLMD database cannot be reached: server down, wrong address, or refused credentials."""


def mysql_password(meta: MySqlMetadata) -> str:
    """Reads the MySQL password from ``password_file`` or ``password_env``."""
    if meta.password_file:
        path = Path(meta.password_file)
        if not path.is_file():
            raise MetadataConfigError(f"MLMD password file {path} does not exist")
        return path.read_text().strip()
    password = os.environ.get(meta.password_env)
    if password is None:
        raise MetadataConfigError(
            f"MLMD on MySQL needs a password: set {meta.password_env} or a password_file"
        )
    return password


def connection_config(meta: MetadataConfig) -> metadata_store_pb2.ConnectionConfig | None:
    """The ConnectionConfig proto for a profile, or None when the backend owns MLMD."""
    if isinstance(meta, SqliteMetadata):
        Path(meta.path).parent.mkdir(parents=True, exist_ok=True)
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = meta.path
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        return config
    if isinstance(meta, MySqlMetadata):
        config = metadata_store_pb2.ConnectionConfig()
        config.mysql.host = meta.host
        config.mysql.port = meta.port
        config.mysql.database = meta.database
        config.mysql.user = meta.user
        config.mysql.password = mysql_password(meta)
        return config
    if isinstance(meta, BackendMetadata):
        return None
    raise MetadataConfigError(f"unsupported metadata settings: {meta!r}")


def open_store(meta: MetadataConfig, must_exist: bool = True) -> metadata_store.MetadataStore:
    """Opens the store for reading; a missing SQLite file is an error, not a new store."""
    if isinstance(meta, SqliteMetadata) and must_exist and not Path(meta.path).is_file():
        raise MetadataConfigError(f"no MLMD store at {meta.path}")
    config = connection_config(meta)
    if config is None:
        raise MetadataConfigError("this profile's metadata lives in the orchestrator backend")
    return metadata_store.MetadataStore(config)


def describe(meta: MetadataConfig) -> str:
    """Where the store is, for messages (never the password)."""
    if isinstance(meta, MySqlMetadata):
        return f"MySQL {meta.host}:{meta.port}, database {meta.database}, user {meta.user}"
    if isinstance(meta, SqliteMetadata):
        return f"SQLite {meta.path}"
    return "the orchestrator's metadata backend"


def ensure_reachable(meta: MetadataConfig) -> None:
    """Connects once, so that an unreachable database is one clear error before any work.

    Without this, TFX's launcher fails deep inside with "Failed to establish connection
    to Metadata storage" and an empty reason. Nothing has been recorded or run when this
    raises, so rerunning (or an Airflow retry) once the database is back simply continues.
    """
    config = connection_config(meta)
    if config is None:
        return
    try:
        metadata_store.MetadataStore(config)
    except Exception as error:  # noqa: BLE001 - MLMD raises several kinds; all mean "unreachable"
        reason = str(error).strip() or type(error).__name__
        raise MetadataUnavailable(
            f"metadata store unreachable ({describe(meta)}): {reason}. Nothing was run; start the "
            "database and run again: finished components come from the cache."
        ) from error
