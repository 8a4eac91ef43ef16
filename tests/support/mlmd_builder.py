"""Writes small MLMD stores with TFX's layout (contexts, executions, events) for fast tests.

Real MLMD (SQLite), records shaped as TFX 1.16 writes them: a 'pipeline' context,
one 'pipeline_run' context per run, one 'node' context per component, and a cached
execution that re-links the artifacts of the execution that really produced them.
"""

from __future__ import annotations

from pathlib import Path

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

PIPELINE = "taxi-edge"


class StoreBuilder:
    def __init__(self, path: Path) -> None:
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.path = path
        self.store = metadata_store.MetadataStore(config)
        self._types: dict[tuple[str, str], int] = {}
        self.pipeline = self._context("pipeline", PIPELINE)

    def _type(self, kind: str, name: str) -> int:
        if (kind, name) not in self._types:
            put = {"artifact": (self.store.put_artifact_type, pb.ArtifactType),
                   "execution": (self.store.put_execution_type, pb.ExecutionType),
                   "context": (self.store.put_context_type, pb.ContextType)}[kind]
            self._types[(kind, name)] = put[0](put[1](name=name))
        return self._types[(kind, name)]

    def _context(self, type_name: str, name: str) -> int:
        found = self.store.get_context_by_type_and_name(type_name, name)
        if found:
            return found.id
        context = pb.Context(type_id=self._type("context", type_name), name=name)
        [context_id] = self.store.put_contexts([context])
        return context_id

    def artifact(self, type_name: str, uri: str, **strings: str) -> int:
        artifact = pb.Artifact(type_id=self._type("artifact", type_name), uri=uri, state=pb.Artifact.LIVE)
        for key, value in strings.items():
            if isinstance(value, int):
                artifact.custom_properties[key].int_value = value
            else:
                artifact.custom_properties[key].string_value = value
        [artifact_id] = self.store.put_artifacts([artifact])
        return artifact_id

    def execution(self, run_id: str, node: str, inputs: dict[str, list[int]], outputs: dict[str, list[int]],
                  state: int = pb.Execution.COMPLETE, shared_input: tuple[tuple[str, ...], int] | None = None,
                  **properties: str) -> int:
        execution = pb.Execution(type_id=self._type("execution", f"tfx.components.{node}"),
                                 last_known_state=state)
        for key, value in properties.items():
            execution.custom_properties[key].string_value = value
        [execution_id] = self.store.put_executions([execution])
        events = []
        for event_type, keyed in ((pb.Event.INPUT, inputs), (pb.Event.OUTPUT, outputs)):
            for key, ids in keyed.items():
                for index, artifact_id in enumerate(ids):
                    event = pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=event_type)
                    event.path.steps.add().key = key
                    event.path.steps.add().index = index
                    events.append(event)
        if shared_input:  # one artifact read under several names: TFX writes one event with all keys
            keys, artifact_id = shared_input
            event = pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=pb.Event.INPUT)
            for key in keys:
                event.path.steps.add().key = key
                event.path.steps.add().index = 0
            events.append(event)
        self.store.put_events(events)
        contexts = [self.pipeline, self._context("pipeline_run", run_id),
                    self._context("node", f"{PIPELINE}.{node}")]
        self.store.put_attributions_and_associations(
            [], [pb.Association(context_id=c, execution_id=execution_id) for c in contexts])
        return execution_id


def two_run_store(path: Path, data: str = "/data/taxi", serving: str = "/srv/serving/17") -> dict:
    """Run 1 trains and pushes; run 2 serves ExampleGen and Trainer from the cache."""
    b = StoreBuilder(path)
    ids: dict = {}
    ids["examples"] = b.artifact("Examples", "/out/CsvExampleGen/examples/1")
    ids["schema"] = b.artifact("Schema", "/out/ImportSchemaGen/schema/2")
    ids["model"] = b.artifact("Model", "/out/Trainer/model/3")
    ids["blessing"] = b.artifact("ModelBlessing", "/out/Evaluator/blessing/4", blessed=1)
    ids["pushed"] = b.artifact("PushedModel", "/out/Pusher/pushed_model/5", pushed=1,
                               pushed_destination=serving)
    run1, run2 = "2026-01-01T10:00:00", "2026-01-01T11:00:00"
    ids["runs"] = [run1, run2]
    ids["gen"] = b.execution(run1, "CsvExampleGen", {}, {"examples": [ids["examples"]]},
                             input_base=data, input_fingerprint="files:1")
    b.execution(run1, "ImportSchemaGen", {}, {"schema": [ids["schema"]]}, schema_file="/repo/schema.pbtxt")
    ids["trainer"] = b.execution(run1, "Trainer", {"examples": [ids["examples"]], "schema": [ids["schema"]]},
                                 {"model": [ids["model"]]}, train_args='{"num_steps": 150}',
                                 custom_config='{"learning_rate": 0.003}')
    b.execution(run1, "Evaluator", {"model": [ids["model"]], "examples": [ids["examples"]]},
                {"blessing": [ids["blessing"]]})
    b.execution(run1, "Pusher", {"model": [ids["model"]], "model_blessing": [ids["blessing"]]},
                {"pushed_model": [ids["pushed"]]})
    # Run 2: cached executions re-link the same artifacts.
    ids["cached_gen"] = b.execution(run2, "CsvExampleGen", {}, {"examples": [ids["examples"]]},
                                    state=pb.Execution.CACHED, input_base=data)  # as TFX: no fingerprint
    b.execution(run2, "Trainer", {"examples": [ids["examples"]], "schema": [ids["schema"]]},
                {"model": [ids["model"]]}, state=pb.Execution.CACHED, train_args='{"num_steps": 150}',
                custom_config='{"learning_rate": 0.003}')
    ids["blessing2"] = b.artifact("ModelBlessing", "/out/Evaluator/blessing/9", blessed=1)
    b.execution(run2, "Evaluator", {"examples": [ids["examples"]]}, {"blessing": [ids["blessing2"]]},
                shared_input=(("model", "baseline_model"), ids["model"]))
    return ids
