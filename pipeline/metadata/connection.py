"""MLMD connections built from the profile's metadata settings.

Secrets (the MySQL password) are resolved here, at connection time, from the
environment or a mounted file, so they never sit in configuration, code or DAGs.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.config import BackendMetadata, MetadataConfig, MySqlMetadata, SqliteMetadata


class MetadataConfigError(ValueError):
    """The metadata settings cannot produce a usable connection."""


class MetadataUnavailable(RuntimeError):  # noqa: N818 - reads as a state, like TFX's errors
    """The MLMD database cannot be reached now (server down or overloaded): a retry may succeed."""


class MetadataMisconfigured(RuntimeError):  # noqa: N818 - reads as a state, like MetadataUnavailable
    """The database answered and said no (refused credentials, unknown database, another MLMD
    schema version): retrying cannot help, a person must fix the settings or the database."""


# MySQL/MariaDB client error numbers that mean "the server answered and refused".
_REFUSED = {1044: "access denied to the database", 1045: "the credentials were refused",
            1049: "the database does not exist", 1698: "the credentials were refused"}
_SCHEMA_VERSION = re.compile(r"MLMD database version \d+ is (greater|older|less) than library version")


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
    A database that answers and refuses (wrong password, other schema version) raises
    :class:`MetadataMisconfigured` instead, which schedulers must not retry.
    """
    config = connection_config(meta)
    if config is None:
        return
    try:
        metadata_store.MetadataStore(config)
    except Exception as error:  # noqa: BLE001 - MLMD raises plain RuntimeErrors; sorted by cause below
        reason = str(error).strip() or type(error).__name__
        cause = refusal(reason) or (_server_answers(meta) and
                                    "the server is up but refused the connection (user, password or grants)")
        if cause:
            raise MetadataMisconfigured(
                f"metadata store refused the connection ({describe(meta)}): {cause}: {reason}. "
                "Nothing was run; retrying cannot help: fix the settings or the database."
            ) from error
        raise MetadataUnavailable(
            f"metadata store unreachable ({describe(meta)}): {reason}. Nothing was run; start the "
            "database and run again: finished components come from the cache."
        ) from error


def _server_answers(meta: MetadataConfig) -> bool:
    """Whether a MySQL server listens at the configured address (MLMD's error often has no reason)."""
    if not isinstance(meta, MySqlMetadata):
        return False
    try:
        with socket.create_connection((meta.host, meta.port), timeout=5):
            return True
    except OSError:
        return False


def refusal(reason: str) -> str | None:
    """What a connection error says is wrong with the settings or the database, or None (transient)."""
    if _SCHEMA_VERSION.search(reason):
        return "its MLMD schema version differs from this library's (ml-metadata upgrade or downgrade)"
    for number in map(int, re.findall(r"errno: (\d+)", reason)):
        if number in _REFUSED:
            return _REFUSED[number]
    if "Access denied" in reason:
        return "access denied"
    return None
