"""What a driver (``pre_cache_check``) reports reaches the executor, as Vertex passes it on."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.runners.kfp_local import metadata_value
from pipeline.runners.kfp_local.executor_input import apply_driver_output


def _executor_input() -> dict:
    return {"outputs": {"artifacts": {"examples": {"artifacts": [
        {"name": "examples", "uri": "/root/examples", "metadata": {"split_names": "[]"}}]}}}}


def test_the_drivers_artifact_metadata_is_merged_into_the_executor_input(tmp_path: Path) -> None:
    output = tmp_path / "executor_output.json"
    reported = {"uri": "/root/examples", "metadata": {"custom:span": 19724, "input_fingerprint": "f"}}
    output.write_text(json.dumps({"artifacts": {"examples": {"artifacts": [reported]}},
                                  "parameterValues": {"span": 19724}}))
    executor_input = _executor_input()
    apply_driver_output(output, executor_input)
    [artifact] = executor_input["outputs"]["artifacts"]["examples"]["artifacts"]
    assert artifact["metadata"] == {"split_names": "[]", "custom:span": 19724, "input_fingerprint": "f"}
    assert metadata_value(artifact, "span") == 19724


def test_without_a_driver_output_the_executor_input_is_unchanged(tmp_path: Path) -> None:
    executor_input = _executor_input()
    apply_driver_output(tmp_path / "absent.json", executor_input)
    assert executor_input == _executor_input()


def test_a_property_is_read_under_either_spelling() -> None:
    assert metadata_value({"metadata": {"span": 3}}, "span") == 3
    assert metadata_value({"metadata": {"custom:span": 4}}, "span") == 4
    assert metadata_value({"metadata": {}}, "span") is None
