"""A database that refuses is named as such, and is not retried; an unreachable one is retried.

Uses a real MariaDB (tests/support/mariadb.py) for refused credentials and a real MLMD
store whose schema version a newer library wrote, as after an ml-metadata upgrade.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli.common import NO_RETRY_EXIT_CODES, ExitCode
from pipeline.config import REPO_ROOT, MySqlMetadata, SqliteMetadata
from pipeline.metadata import MetadataMisconfigured, MetadataUnavailable, ensure_reachable
from pipeline.runners.airflow import MANIFEST_FORMAT
from tests.support import mariadb


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if mariadb.binaries_missing():
        pytest.skip(mariadb.binaries_missing())
    db = mariadb.MariaDb(tmp_path_factory.mktemp("mariadb"))
    db.start()
    yield db
    db.stop()


def _mysql(server, monkeypatch, password: str) -> MySqlMetadata:
    monkeypatch.setenv("MLMD_MYSQL_PASSWORD", password)
    return MySqlMetadata(host="127.0.0.1", port=server.port, database=mariadb.DATABASE, user=mariadb.USER)


def test_the_right_password_connects(server, monkeypatch):
    ensure_reachable(_mysql(server, monkeypatch, mariadb.PASSWORD))


def test_a_wrong_password_is_refused_credentials_not_an_outage(server, monkeypatch):
    refused = r"refused the connection \(user, password or grants\)"
    with pytest.raises(MetadataMisconfigured, match=refused) as caught:
        ensure_reachable(_mysql(server, monkeypatch, "wrong-password"))
    assert "unreachable" not in str(caught.value)


def test_an_unknown_database_is_named(server, monkeypatch):
    meta = _mysql(server, monkeypatch, mariadb.PASSWORD)
    meta = MySqlMetadata(host=meta.host, port=meta.port, database="no_such_db", user=meta.user)
    with pytest.raises(MetadataMisconfigured, match="access denied|does not exist"):
        ensure_reachable(meta)


def _store_from_a_newer_library(path: Path) -> SqliteMetadata:
    meta = SqliteMetadata(str(path))
    ensure_reachable(meta)  # creates the schema of this library's version
    with sqlite3.connect(path) as db:
        db.execute("UPDATE MLMDEnv SET schema_version = schema_version + 1")
    return meta


def test_a_schema_version_mismatch_is_named(tmp_path: Path):
    meta = _store_from_a_newer_library(tmp_path / "mlmd.sqlite")
    with pytest.raises(MetadataMisconfigured, match="schema version differs"):
        ensure_reachable(meta)


def test_a_stopped_server_is_still_unreachable_and_retryable(monkeypatch):
    monkeypatch.setenv("MLMD_MYSQL_PASSWORD", "x")
    meta = MySqlMetadata(host="127.0.0.1", port=mariadb.free_port(), database="mlmd", user="mlmd")
    with pytest.raises(MetadataUnavailable, match="unreachable"):
        ensure_reachable(meta)


def test_launch_node_exits_with_a_code_the_dag_does_not_retry(tmp_path: Path):
    """The whole path: a compiled manifest on a store with another schema version."""
    meta = _store_from_a_newer_library(tmp_path / "mlmd.sqlite")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": MANIFEST_FORMAT, "ir": "p.pb",
                                    "metadata": {"kind": "sqlite", "path": meta.path}}))
    done = subprocess.run([sys.executable, "-m", "pipeline", "launch-node", "--manifest", str(manifest),
                           "--node", "Trainer", "--run-id", "r1"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == ExitCode.METADATA_MISCONFIGURED, done.stderr[-2000:]
    assert ExitCode.METADATA_MISCONFIGURED in NO_RETRY_EXIT_CODES
    assert "schema version differs" in done.stderr and "Traceback" not in done.stderr
