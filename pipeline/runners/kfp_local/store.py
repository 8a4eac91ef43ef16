"""The artifacts of past local runs, and resolver queries answered from them.

The KFP backend keeps these in its MLMD; locally, one JSON object per line under the
pipeline root stands in for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline.runners.kfp_local.placeholders import resolve_placeholders

STORE_NAME = "kfp_local_artifacts.jsonl"


class ArtifactStore:
    """The artifacts of past local runs, one JSON object per line: what resolvers query.

    Stands in for the KFP backend's MLMD; every entry is LIVE and belongs to one
    pipeline (``pipeline`` field), newest last.
    """

    def __init__(self, path: Path, pipeline_name: str) -> None:
        self.path = Path(path)
        self.pipeline_name = pipeline_name

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        entries = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return [e for e in entries if e["pipeline"] == self.pipeline_name]

    def add(self, artifact: Mapping[str, Any], run_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"pipeline": self.pipeline_name, "run_id": run_id, **artifact}
        with self.path.open("a") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def query(self, filter_text: str) -> list[dict[str, Any]]:
        """Artifacts matching a resolver filter (clauses joined by AND), newest first."""
        clauses = [_parse_clause(c) for c in filter_text.split(" AND ")]
        matches = [e for e in self.entries() if all(clause(e) for clause in clauses)]
        return list(reversed(matches))


def _parse_clause(clause: str) -> Callable[[Mapping[str, Any]], bool]:
    """One ``key=value`` clause of a KFP resolver filter, as TFX's compiler writes them."""
    key, sep, raw = clause.strip().partition("=")
    if not sep:
        raise ValueError(f"unsupported resolver filter clause {clause!r}")
    value = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    if key == "schema_title":
        return lambda e: e["schema_title"] == value
    if key == "state":
        if value != "LIVE":
            raise ValueError(f"only LIVE artifacts are recorded, filter asks for {value}")
        return lambda e: True
    if key == "name":
        return lambda e: e["name"] == value
    metadata = re.fullmatch(r"metadata\.(?P<k>\w+)\.(?P<t>number_value|string_value|bool_value)", key)
    if metadata:
        name, kind = metadata["k"], metadata["t"]
        if kind == "number_value":
            return lambda e: isinstance(e["metadata"].get(name), int | float) and \
                float(e["metadata"][name]) == float(value)
        if kind == "bool_value":
            return lambda e: e["metadata"].get(name) is (value.lower() == "true")
        return lambda e: e["metadata"].get(name) == value
    raise ValueError(f"unsupported resolver filter clause {clause!r}")


def store_entry(artifact: Mapping[str, Any]) -> dict[str, Any]:
    artifact_type = artifact.get("type", {})
    title = artifact_type.get("schemaTitle")
    if title is None and "instanceSchema" in artifact_type:
        title = yaml.safe_load(artifact_type["instanceSchema"]).get("title")
    return {"name": artifact["name"], "uri": artifact["uri"], "schema_title": title,
            "type": artifact_type, "metadata": artifact.get("metadata", {})}


def resolve_queries(resolver: pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec,
             executor_input: Mapping[str, Any], store: ArtifactStore) -> dict[str, list[dict[str, Any]]]:
    """Answers each output query with the newest matching artifact, or nothing."""
    outputs: dict[str, list[dict[str, Any]]] = {}
    for key, query in resolver.output_artifact_queries.items():
        try:
            filter_text = resolve_placeholders(query.filter, executor_input)
        except LookupError:
            # The query depends on an upstream resolver that found nothing (first run).
            outputs[key] = []
            continue
        matches = store.query(filter_text)
        outputs[key] = [{k: matches[0][k] for k in ("name", "uri", "type", "metadata")}] if matches else []
    return outputs
