"""Which data a run read, as MLMD recorded it: its new span (and version), the training window.

ExampleGen records ``span`` and ``version`` on the Examples it writes; Transform's
input events list the Examples of the training window (one per span). A run that
the gate blocked has the first and not the second. Reads MLMD only (no TFX import).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ml_metadata import metadata_store

from pipeline.metadata import queries as mlmd_queries

EXAMPLE_GEN = "CsvExampleGen"
TRANSFORM = "Transform"


@dataclass(frozen=True)
class RunSpans:
    """The spans one run read; ``span`` None when the run never got an ExampleGen output."""

    span: int | None = None
    version: int | None = None
    examples_id: int | None = None
    window: list[int] = field(default_factory=list)  # spans Transform read, newest first; [] if not run


def _int_custom(artifact: object, name: str) -> int | None:
    value = artifact.custom_properties.get(name)  # type: ignore[attr-defined]
    if value is None:
        value = artifact.properties.get(name)  # type: ignore[attr-defined]
    if value is None:
        return None
    return int(value.int_value) if value.HasField("int_value") else int(value.string_value or 0)


def examples_span(artifact: object) -> tuple[int | None, int | None]:
    """(span, version) of an Examples artifact; version None when the layout has none."""
    return _int_custom(artifact, "span"), _int_custom(artifact, "version")


def run_spans(store: metadata_store.MetadataStore, run_id: str) -> RunSpans:
    executions = mlmd_queries.run_executions(store, run_id)
    span = version = examples_id = None
    gen = executions.get(EXAMPLE_GEN)
    if gen is not None:
        outputs = mlmd_queries.artifacts_by_key(store, gen.id, mlmd_queries.OUTPUT_EVENTS)
        examples = outputs.get("examples", [])
        if examples:
            span, version = examples_span(examples[0])
            examples_id = examples[0].id
    window: list[int] = []
    transform = executions.get(TRANSFORM)
    if transform is not None:
        inputs = mlmd_queries.artifacts_by_key(store, transform.id, mlmd_queries.INPUT_EVENTS)
        read = [examples_span(a)[0] for a in inputs.get("examples", [])]
        window = sorted((s for s in read if s is not None), reverse=True)
    return RunSpans(span, version, examples_id, window)
