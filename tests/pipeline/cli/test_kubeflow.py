"""The Kubeflow CLI commands, in-process (nothing is contacted)."""

from __future__ import annotations

from pathlib import Path

from pipeline import cli


def test_compile_kfp_writes_both_files_and_lists_the_tasks(tmp_path: Path, capsys):
    code = cli.main(["compile-kfp", "--bucket", "b", "--project", "p", "--image", "img:1",
                     "--query", "SELECT 1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "pipeline.yaml").is_file() and (tmp_path / "pipeline.json").is_file()
    assert "task BigQueryExampleGen  <- -  [img:1]" in out
    assert "task Pusher  <- Evaluator, Trainer  [img:1]" in out


def test_compile_kfp_without_a_bucket_explains_what_is_missing(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("PIPELINE_BUCKET", raising=False)
    assert cli.main(["compile-kfp", "--out", str(tmp_path)]) == 2
    assert "bucket" in capsys.readouterr().err


def test_submit_needs_a_host_or_vertex_before_compiling(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("KFP_HOST", raising=False)
    monkeypatch.delenv("GCP_PROJECT", raising=False)
    assert cli.main(["submit-kfp", "--bucket", "b", "--out", str(tmp_path)]) == 2
    assert "--host" in capsys.readouterr().err
    assert cli.main(["submit-kfp", "--vertex", "--bucket", "b", "--out", str(tmp_path)]) == 2
    assert "--project" in capsys.readouterr().err
    assert not (tmp_path / "pipeline.yaml").exists()
