"""KFP's runtime placeholders and TFX's trigger conditions, evaluated as the KFP driver would."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from kfp.pipeline_spec import pipeline_spec_pb2

_PLACEHOLDER = re.compile(r"\{\{\$(?P<path>[^}]*)\}\}")
_IO_PATH = re.compile(
    r"^\.(?P<io>inputs|outputs)\.(?P<kind>parameters|artifacts)\['(?P<name>[^']+)'\]"
    r"(?:\.(?P<field>uri|path|output_file|value)|\.metadata\['(?P<key>[^']+)'\])?$"
)
# One comparison of a TFX-compiled trigger condition, e.g.
# (inputs.artifacts['_Evaluator.blessing'].artifacts[0].metadata['blessed'] == 1.0)
_CONDITION = re.compile(
    r"^\(?inputs\.artifacts\['(?P<key>[^']+)'\]\.artifacts\[(?P<index>\d+)\]"
    r"\.metadata\['(?P<field>[^']+)'\]\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>[^()]+?)\)?$"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}


def resolve_placeholders(text: str, executor_input: Mapping[str, Any]) -> str:
    """Substitutes KFP's runtime placeholders in one command-line argument or filter.

    ``{{$}}`` is the whole ExecutorInput as JSON; the others name one input/output
    parameter, artifact URI, artifact metadata value or output file. An unknown
    placeholder is an error, never passed through to the command.
    """

    def substitute(match: re.Match[str]) -> str:
        path = match["path"]
        if path == "":
            return json.dumps(executor_input, sort_keys=True)
        parsed = _IO_PATH.match(path)
        if not parsed:
            raise ValueError(f"unsupported placeholder {match[0]!r}")
        section = executor_input.get(parsed["io"], {})
        name = parsed["name"]
        if parsed["kind"] == "parameters":
            if parsed["io"] == "inputs":
                value = section.get("parameterValues", {})[name]
                if isinstance(value, float) and value.is_integer():
                    # protobuf Values hold every number as a double; integers print as KFP prints them
                    return str(int(value))
                return value if isinstance(value, str) else json.dumps(value)
            return section["parameters"][name]["outputFile"]
        artifacts = section.get("artifacts", {}).get(name, {}).get("artifacts", [])
        if not artifacts:
            raise LookupError(f"placeholder {match[0]!r}: no artifact for {name!r}")
        artifact = artifacts[0]
        if parsed["key"] is not None:
            return str(artifact.get("metadata", {})[parsed["key"]])
        return artifact["uri"]

    return _PLACEHOLDER.sub(substitute, text)


def container_command(container: pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec
                      | pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.Lifecycle.Exec,
                      executor_input: Mapping[str, Any], python: str) -> list[str]:
    """The container's command and arguments, resolved, with ``python`` meaning ``python``."""
    argv = [resolve_placeholders(part, executor_input) for part in [*container.command, *container.args]]
    if argv and argv[0] in ("python", "python3"):
        argv[0] = python
    return argv


def condition_holds(condition: str, executor_input: Mapping[str, Any]) -> bool:
    """A trigger condition as TFX compiles them: comparisons on input artifact metadata joined by &&.

    Anything else raises NotImplementedError rather than guessing.
    """
    for clause in (c.strip() for c in condition.split("&&")):
        match = _CONDITION.match(clause)
        if not match:
            raise NotImplementedError(f"unsupported trigger condition {clause!r}")
        artifacts = executor_input["inputs"]["artifacts"].get(match["key"], {}).get("artifacts", [])
        index = int(match["index"])
        if index >= len(artifacts):
            return False  # CEL: indexing past the end is an error, and the task does not run
        actual = artifacts[index].get("metadata", {}).get(match["field"])
        literal = match["value"].strip()
        expected: Any = literal.strip("'\"") if literal[:1] in "'\"" else float(literal)
        if actual is None or not _COMPARE[match["op"]](actual, expected):
            return False
    return True
