"""The local runner compiles the pipeline once and reuses the IR while nothing it depends on changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import pipeline as factory
from pipeline import profiles
from pipeline.config import REPO_ROOT
from pipeline.runners.local import compiled, up_to_date


@pytest.fixture()
def compiles(monkeypatch) -> list[str]:
    """The pipeline names the factory was asked to build (and builds)."""
    calls: list[str] = []
    real = factory.create_pipeline

    def counting(config):  # noqa: ANN001, ANN202
        calls.append(config.pipeline_name)
        return real(config)

    monkeypatch.setattr(factory, "create_pipeline", counting)
    return calls


def _train_steps(ir) -> int:  # noqa: ANN001
    [trainer] = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == "Trainer"]
    return json.loads(trainer.parameters.parameters["train_args"].field_value.string_value)["num_steps"]


def test_the_ir_is_kept_and_reused_while_nothing_changed(tmp_path: Path, compiles):
    config = profiles.local(root=tmp_path / "out")
    first = compiled.compiled_pipeline(config)
    assert compiled.cache_path(config).is_file()
    assert compiled.compiled_pipeline(config) == first
    assert len(compiles) == 1


def test_changed_configuration_or_code_compiles_again(tmp_path: Path, compiles, monkeypatch):
    config = profiles.local(root=tmp_path / "out")
    compiled.compiled_pipeline(config)
    assert _train_steps(compiled.compiled_pipeline(config.with_training(train_steps=7))) == 7
    assert len(compiles) == 2
    lock = tmp_path / "uv.lock"  # the lock file stands for every file the code fingerprint covers
    lock.write_text(up_to_date.LOCK_FILE.read_text() + "\n# relocked\n")
    monkeypatch.setattr(up_to_date, "LOCK_FILE", lock)
    compiled.compiled_pipeline(config)
    assert len(compiles) == 3


def test_an_unreadable_kept_ir_is_compiled_again(tmp_path: Path, compiles):
    config = profiles.local(root=tmp_path / "out")
    first = compiled.compiled_pipeline(config)
    path = compiled.cache_path(config)
    key = path.read_bytes().partition(b"\n")[0]
    path.write_bytes(key + b"\n" + b"\xff" * 40)  # the right key, a broken body
    assert compiled.compiled_pipeline(config) == first
    assert len(compiles) == 2


def test_a_run_from_the_kept_ir_does_not_import_the_pipeline_definition(tmp_path: Path):
    """No ``tfx.v1`` (every component, Google Cloud's AI Platform client), no factory."""
    config = profiles.local(root=tmp_path / "out")
    compiled.compiled_pipeline(config)
    code = ("import sys; from pipeline import profiles; from pipeline.runners.local import compiled, runner; "
            f"compiled.compiled_pipeline(profiles.local(root={str(tmp_path / 'out')!r})); "
            "print(sorted(m for m in ('tfx.v1', 'pipeline.pipeline', 'google.cloud.aiplatform', "
            "'tfx.dsl.compiler.compiler') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
