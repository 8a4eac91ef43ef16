"""Small, named MLMD queries shared by the summary, the lineage tools and the tests.

TFX links every execution to three contexts: the pipeline, the pipeline run (named by
the run id) and the node (named ``<pipeline>.<node id>``). These helpers turn that
into "which execution did node X have in run Y".
"""

from __future__ import annotations

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"


def node_id_of(store: metadata_store.MetadataStore, execution_id: int) -> str:
    """The pipeline node an execution belongs to."""
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == NODE_CONTEXT:
            return context.name.split(".", 1)[1]
    raise LookupError(f"execution {execution_id} has no node context")


def run_executions(
    store: metadata_store.MetadataStore, run_id: str
) -> dict[str, metadata_store_pb2.Execution]:
    """Node id -> execution for one pipeline run; empty if the run is unknown."""
    context = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    if context is None:
        return {}
    return {node_id_of(store, e.id): e for e in store.get_executions_by_context(context.id)}


def run_ids(store: metadata_store.MetadataStore) -> list[str]:
    """All pipeline run ids, oldest first."""
    contexts = store.get_contexts_by_type(RUN_CONTEXT)
    return [c.name for c in sorted(contexts, key=lambda c: c.create_time_since_epoch)]
