"""The training window: the newest N spans up to the run's own span, resolved from MLMD.

Each run's ExampleGen ingests one span; the spans before it were ingested by earlier
runs and are in MLMD. This resolver hands Transform (and so the Trainer) the latest
version of each span in ``(current - N, current]``, so nothing older is read from
the source again, and a rerun of a span with unchanged data resolves the very same
artifacts (so TFX's cache serves Transform and everything after it).

Why a strategy of our own rather than TFX's ``rolling_range`` resolver function or
``SpanRangeStrategy``: both end the window at the newest span in MLMD, not at the
run's own span, so a backfill or a rerun of an older date would train on later data;
and ``SpanRangeStrategy`` keeps every version of a span. ``ResolverStrategy`` is
TFX's public extension point (``tfx.v1.dsl.experimental``).

The Resolver gets two channels: ``window``, every Examples artifact the pipeline's
ExampleGen ever produced (a plain Channel: pipeline and node context, no run
context), and ``current``, this run's statistics of its new span. Not this run's
Examples channel itself: TFX's compiler keys a resolver's inputs by producer and
output key, so two channels of ``CsvExampleGen.examples`` would collapse into one.
MLMD's events lead from the statistics to the exact Examples artifact they were
computed from.
"""

from __future__ import annotations

from collections.abc import Sequence

import ml_metadata as mlmd
from tfx import types
from tfx import v1 as tfx

SPAN = "span"
VERSION = "version"
WINDOW_KEY = "window"
ArtifactDict = dict[str, list[types.Artifact]]
CURRENT_KEY = "current"


def _int_property(artifact: types.Artifact, name: str) -> int:
    if artifact.has_property(name):
        return int(getattr(artifact, name) or 0)
    if artifact.has_custom_property(name):
        value = artifact.get_custom_property(name)
        return int(value) if value not in (None, "") else 0
    return 0


def span_of(artifact: types.Artifact) -> int:
    """The span ExampleGen recorded on an Examples artifact."""
    return _int_property(artifact, SPAN)


def window(candidates: Sequence[types.Artifact], current_span: int, num_spans: int) -> list[types.Artifact]:
    """Latest version of each span in ``(current_span - num_spans, current_span]``, newest span first.

    Versions are ordered by TFX's ``version`` property, then creation time, then id
    (a span re-ingested because its files changed is the newer artifact).
    """
    latest: dict[int, types.Artifact] = {}
    for artifact in candidates:
        span = span_of(artifact)
        if not current_span - num_spans < span <= current_span:
            continue
        key = (_int_property(artifact, VERSION), artifact.mlmd_artifact.create_time_since_epoch, artifact.id)
        held = latest.get(span)
        if held is None or key > (_int_property(held, VERSION), held.mlmd_artifact.create_time_since_epoch,
                                  held.id):
            latest[span] = artifact
    return [latest[span] for span in sorted(latest, reverse=True)]


class TrainingWindowStrategy(tfx.dsl.experimental.ResolverStrategy):
    """Resolves ``window`` to the last ``num_spans`` spans ending at the ``current`` artifact's span."""

    def __init__(self, num_spans: int = 7) -> None:
        self._num_spans = int(num_spans)

    def resolve_artifacts(self, store: mlmd.MetadataStore,
                          input_dict: ArtifactDict) -> ArtifactDict | None:
        current = input_dict.get(CURRENT_KEY, [])
        if not current:
            return None  # no statistics of a new span in this run: nothing to train on
        [statistics] = current
        candidates = input_dict.get(WINDOW_KEY, [])
        # The Examples this run's statistics were computed from: their span ends the
        # window, and they stand for it (a rerun of a span whose files changed trains
        # on the new files, whatever came later). StatisticsGen's own ``span`` copy is
        # not reliable (ExampleGen records span as a custom property, read back as 0).
        source = _source_examples(store, statistics, candidates)
        if source is None:
            raise RuntimeError(f"training window: no Examples artifact behind statistics {statistics.id}")
        span = span_of(source)
        chosen = [source if span_of(a) == span else a for a in window(candidates, span, self._num_spans)]
        return {WINDOW_KEY: chosen, CURRENT_KEY: [statistics]}


def _source_examples(store: mlmd.MetadataStore, statistics: types.Artifact,
                     candidates: Sequence[types.Artifact]) -> types.Artifact | None:
    """The Examples artifact the statistics were computed from (through MLMD's events)."""
    from ml_metadata.proto import metadata_store_pb2

    producers = [e.execution_id for e in store.get_events_by_artifact_ids([statistics.id])
                 if e.type == metadata_store_pb2.Event.OUTPUT]
    inputs = {e.artifact_id for e in store.get_events_by_execution_ids(producers)
              if e.type == metadata_store_pb2.Event.INPUT}
    matches = [a for a in candidates if a.id in inputs]
    return matches[0] if len(matches) == 1 else None


def training_window(example_gen_id: str, current: tfx.dsl.Channel, num_spans: int) -> tfx.dsl.Resolver:
    """The Resolver node; its ``window`` output is the Examples to train on.

    ``current`` is this run's ExampleStatistics of the new span.
    """
    everything = tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples,
                                 producer_component_id=example_gen_id, output_key="examples")
    return tfx.dsl.Resolver(
        strategy_class=TrainingWindowStrategy,
        config={"num_spans": num_spans},
        **{WINDOW_KEY: everything, CURRENT_KEY: current},
    ).with_id("training_window_resolver")
