"""Artifact, serving and report I/O goes through TFX ``fileio``, never local file APIs.

On a gs:// URI, ``open``/``os.makedirs``/``shutil``/``glob``/``pathlib`` do not fail: they create a
local folder named ``gs:`` in the pod and "succeed", so a Vertex run would silently lose what was
written. This static guard lists every call to a local file API in the code that handles URIs;
each remaining one is reviewed below with the reason it only ever sees local paths.
The dynamic guard (no ``gs:`` folder appears) runs in tests/e2e/test_gcs_pipeline.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Code that reads or writes artifact URIs, serving roots or report targets.
GUARDED = ["pipeline/components", "pipeline/report", "pipeline/lineage"]
LOCAL_APIS = {
    "open", "Path", "pathlib.Path", "os.makedirs", "os.mkdir", "os.listdir", "os.remove", "os.rename",
    "os.replace", "os.walk", "os.path.exists", "os.path.isdir", "os.path.isfile", "os.path.getsize",
    "glob.glob", "glob.iglob", "shutil.copyfile", "shutil.copy", "shutil.copytree", "shutil.rmtree",
    "shutil.move",
}
# (file, enclosing function) -> why a local path is certain there.
REVIEWED = {
    ("pipeline/components/tflite_converter/executor.py", "_write_bundle"):
        "writes into a local temporary folder; the finished bundle is copied into the artifact by fileio",
    ("pipeline/components/tflite_converter/edge_client.py", "__init__"):
        "the device-side client reads a bundle the device holds locally",
    ("pipeline/components/tflite_converter/edge_client.py", "main"):
        "the device-side command line reads rows from a local CSV",
    ("pipeline/components/publish.py", "_create_if_absent"):
        "the os.mkdir branch is taken for local paths only (has_atomic_rename)",
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _local_file_calls() -> list[tuple[str, str, int, str]]:
    found = []
    for folder in GUARDED:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            for function in functions:
                for node in ast.walk(function):
                    if isinstance(node, ast.Call) and _dotted(node.func) in LOCAL_APIS:
                        found.append((str(path.relative_to(REPO)), function.name, node.lineno,
                                      _dotted(node.func)))
    return found


def test_code_that_handles_uris_uses_no_unreviewed_local_file_api() -> None:
    unreviewed = sorted({f"{file}:{line} {call}() in {function}"
                         for file, function, line, call in _local_file_calls()
                         if (file, function) not in REVIEWED})
    assert not unreviewed, "use tfx.dsl.io.fileio (works on gs://) instead of:\n" + "\n".join(unreviewed)


def test_every_reviewed_exception_still_exists() -> None:
    """A stale allowance would silently cover new code with the same function name."""
    used = {(file, function) for file, function, _, _ in _local_file_calls()}
    assert set(REVIEWED) <= used, set(REVIEWED) - used


def test_the_guard_sees_a_local_file_call(tmp_path: Path) -> None:
    tree = ast.parse("def write(uri):\n    with open(uri + '/x', 'w') as f:\n        f.write('')\n")
    calls = [_dotted(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert "open" in calls and "open" in LOCAL_APIS


def test_the_local_profile_keeps_a_gs_root_a_uri_and_its_mlmd_local_without_a_local_gs_folder(
        tmp_path, monkeypatch):
    from pipeline import profiles
    from pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(profiles.STATE_DIR_ENV, raising=False)
    for root in ("gs://bucket/taxi", Path("gs://bucket/taxi")):
        config = profiles.local(root=root, data=Path("gs://bucket/data"), state=tmp_path / "state")
        assert (config.pipeline_root, config.serving_root, config.report.folder, config.data.path) == (
            "gs://bucket/taxi/pipeline", "gs://bucket/taxi/serving", "gs://bucket/taxi/reports",
            "gs://bucket/data")
        assert config.edge_root == "gs://bucket/taxi/serving/edge"
        assert config.metadata.path == str(tmp_path / "state" / "metadata.sqlite")
    default = profiles.local(root="gs://bucket/taxi/")
    assert default.metadata.path == str(profiles.DEFAULT_LOCAL_ROOT / "gcs/bucket/taxi/metadata.sqlite")
    monkeypatch.setenv(profiles.STATE_DIR_ENV, str(tmp_path / "env-state"))
    from_env = profiles.local(root="gs://bucket/taxi")
    assert from_env.metadata.path == str(tmp_path / "env-state" / "metadata.sqlite")
    with pytest.raises(ValueError, match="local --root or a gs:// one"):
        profiles.local(root="s3://bucket/taxi")
    # Reading lineage of a gs:// root that never ran: one line, and nothing written here.
    assert main(["runs", "--root", "gs://bucket/taxi"]) == 2
    assert not list(tmp_path.rglob("gs:*"))
