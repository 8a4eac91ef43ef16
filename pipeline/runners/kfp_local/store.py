"""Resolver queries answered from the artifacts past runs recorded in the launcher's MLMD store.

The KFP backend evaluates a resolver task's artifact queries against its metadata store;
the local launcher evaluates the same compiled filters against its own MLMD store
(pipeline/runners/kfp_local/mlmd.py records every run there).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from kfp.pipeline_spec import pipeline_spec_pb2
from ml_metadata import errors as mlmd_errors
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.runners.kfp_local.mlmd import (
    PIPELINE_CONTEXT,
    TFX_TITLE_PREFIX,
    artifact_metadata,
    type_name,
)
from pipeline.runners.kfp_local.placeholders import resolve_placeholders

log = logging.getLogger(__name__)

METADATA_NAME = "metadata.sqlite"


class ArtifactStore:
    """The artifacts of past runs in an MLMD store, as resolver queries see them.

    Queries are evaluated exactly as compiled: TFX's compiler writes resolver filters on
    type and state only (``schema_title=... AND state=LIVE``), not on the pipeline, so on a
    real backend two pipelines sharing one metadata store feed each other's models and
    baselines. The launcher does the same and warns when it happens (see docs/kubeflow.md).
    """

    def __init__(self, store: metadata_store.MetadataStore, pipeline_name: str) -> None:
        self.store = store
        self.pipeline_name = pipeline_name

    def _candidates(self, title: str | None) -> list[metadata_store_pb2.Artifact]:
        if title is None:
            return list(self.store.get_artifacts())
        try:
            return list(self.store.get_artifacts_by_type(type_name(title)))
        except mlmd_errors.NotFoundError:
            return []

    def pipeline_of(self, artifact_id: int) -> str | None:
        """The pipeline whose run recorded an artifact."""
        for context in self.store.get_contexts_by_artifact(artifact_id):
            if context.type == PIPELINE_CONTEXT:
                return context.name
        return None

    def query(self, filter_text: str) -> list[dict[str, Any]]:
        """Artifacts matching a resolver filter (clauses joined by AND), newest first.

        Each match is a dict: ``id``, ``name``, ``uri``, ``schema_title``, ``state`` and the
        artifact's ``metadata`` as KFP shows it (numbers as floats).
        """
        clauses = [_parse_clause(c) for c in filter_text.split(" AND ")]
        titles = {value for key, value, _ in clauses if key == "schema_title"}
        if len(titles) > 1:
            return []
        entries = [_entry(a) for a in self._candidates(next(iter(titles), None))]
        matches = [e for e in entries if all(test(e) for _, _, test in clauses)]
        return sorted(matches, key=lambda e: e["id"], reverse=True)


def _title_of(type_name_: str) -> str:
    return type_name_ if "." in type_name_ else f"{TFX_TITLE_PREFIX}{type_name_}"


def _entry(artifact: metadata_store_pb2.Artifact) -> dict[str, Any]:
    return {"id": artifact.id, "name": artifact.name, "uri": artifact.uri,
            "schema_title": _title_of(artifact.type),
            "state": metadata_store_pb2.Artifact.State.Name(artifact.state),
            "metadata": artifact_metadata(artifact)}


def _parse_clause(clause: str) -> tuple[str, str, Callable[[Mapping[str, Any]], bool]]:
    """One ``key=value`` clause of a KFP resolver filter, as TFX's compiler writes them."""
    key, sep, raw = clause.strip().partition("=")
    if not sep:
        raise ValueError(f"unsupported resolver filter clause {clause!r}")
    value = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    if key in ("schema_title", "state", "name"):
        return key, value, lambda e: e[key] == value
    metadata = re.fullmatch(r"metadata\.(?P<k>\w+)\.(?P<t>number_value|string_value|bool_value)", key)
    if metadata:
        name, kind = metadata["k"], metadata["t"]
        if kind == "number_value":
            return key, value, lambda e: isinstance(e["metadata"].get(name), int | float) and \
                float(e["metadata"][name]) == float(value)
        if kind == "bool_value":
            return key, value, lambda e: e["metadata"].get(name) == float(value.lower() == "true")
        return key, value, lambda e: e["metadata"].get(name) == value
    raise ValueError(f"unsupported resolver filter clause {clause!r}")


def resolve_queries(resolver: pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec,
                    executor_input: Mapping[str, Any],
                    store: ArtifactStore) -> dict[str, list[dict[str, Any]]]:
    """Answers each output query with the newest matching artifact, or nothing.

    A found artifact carries the type the resolver task declares for that output (as the
    backend hands it to downstream tasks), its runtime name, URI and metadata.
    """
    declared = executor_input.get("outputs", {}).get("artifacts", {})
    outputs: dict[str, list[dict[str, Any]]] = {}
    for key, query in resolver.output_artifact_queries.items():
        try:
            filter_text = resolve_placeholders(query.filter, executor_input)
        except LookupError:
            # The query depends on an upstream resolver that found nothing (first run).
            outputs[key] = []
            continue
        matches = store.query(filter_text)
        if not matches:
            outputs[key] = []
            continue
        found = matches[0]
        pipeline = store.pipeline_of(found["id"])
        if pipeline != store.pipeline_name:
            log.warning("resolver query %r matched %s from pipeline %r, not %r: the compiled query is not "
                        "pipeline-scoped, as on a real backend sharing one metadata store",
                        filter_text, found["uri"], pipeline, store.pipeline_name)
        listed = declared.get(key, {}).get("artifacts", [])
        artifact_type = listed[0]["type"] if listed else {"schemaTitle": found["schema_title"]}
        outputs[key] = [{"name": found["name"], "uri": found["uri"], "type": artifact_type,
                         "metadata": found["metadata"]}]
    return outputs
