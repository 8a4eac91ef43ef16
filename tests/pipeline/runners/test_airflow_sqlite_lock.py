"""``launch-node`` on a SQLite store runs its node under the store's lock, as local runs do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.metadata.lock import ConcurrentRunError, exclusive_store
from pipeline.runners import airflow as airflow_runner
from pipeline.runners import ir


def _sqlite_manifest(tmp_path: Path) -> airflow_runner.Manifest:
    store = str(tmp_path / "metadata.sqlite")
    data = {"metadata": {"kind": "sqlite", "path": store}, "ir": "p.pb"}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return airflow_runner.Manifest(path, data)


def test_a_node_on_a_sqlite_store_runs_while_holding_its_lock(tmp_path: Path, monkeypatch):
    manifest = _sqlite_manifest(tmp_path)
    seen = {}

    def launch_node(bound, node_id):  # noqa: ANN001, ANN202 - stands in for TFX's launcher
        try:
            with exclusive_store(manifest.metadata.path):
                seen["lock"] = "free"  # another writer could have entered: the defect
        except ConcurrentRunError:
            seen["lock"] = "held"
        return ir.NodeResult(node_id, "complete", 0.0)

    monkeypatch.setattr(airflow_runner, "load_ir", lambda manifest: "ir")
    monkeypatch.setattr(ir, "node_ids", lambda compiled: ["Trainer"])
    monkeypatch.setattr(ir, "bind_run_id", lambda compiled, run_id, parameters=None: compiled)
    monkeypatch.setattr(ir, "launch_node", launch_node)
    assert airflow_runner.launch(manifest, "run-1", "Trainer").state == "complete"
    assert seen == {"lock": "held"}


def test_a_node_waits_for_a_busy_store_then_says_so(tmp_path: Path, monkeypatch):
    manifest = _sqlite_manifest(tmp_path)
    monkeypatch.setattr(airflow_runner, "load_ir", lambda manifest: "ir")
    monkeypatch.setattr(ir, "node_ids", lambda compiled: ["Trainer"])
    monkeypatch.setattr(ir, "bind_run_id", lambda compiled, run_id, parameters=None: compiled)
    monkeypatch.setattr(ir, "launch_node", lambda bound, node_id: pytest.fail("ran on a busy store"))
    with exclusive_store(manifest.metadata.path), pytest.raises(ConcurrentRunError, match="waited"):
        airflow_runner.launch(manifest, "run-2", "Trainer", lock_wait_seconds=1)
