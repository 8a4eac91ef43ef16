"""The pipeline factory: one ``create_pipeline(config)`` for every orchestrator.

Everything environment-specific comes from the :class:`PipelineConfig`; this module
never asks which orchestrator will run the result.
"""

from __future__ import annotations

from tfx import v1 as tfx

from pipeline.components import tfx_keys
from pipeline.components.csv_ingest.component import CsvExampleGen as ArrowCsvExampleGen
from pipeline.components.data_baseline.component import DataBaseline, DataBaselineRecorder
from pipeline.components.data_gate import drift
from pipeline.components.data_gate.component import DataGate
from pipeline.components.evaluator.component import Evaluator
from pipeline.components.safe_pusher.component import SafePusher
from pipeline.components.tflite_converter.component import TFLiteConverter
from pipeline.config import BigQuerySource, CsvSource, PipelineConfig
from pipeline.evaluation import eval_config
from pipeline.metadata import connection_config
from pipeline.preflight import load_columns
from pipeline.spans import INPUT_SPLIT, NEWEST, SPAN_RANGE_PARAMETER, input_pattern
from pipeline.training_window import WINDOW_KEY, training_window


def csv_column_types(schema_path: str) -> dict[str, str]:
    """CSV column types (INT/FLOAT/BYTES) as the curated schema gives them."""
    return {column.name: column.kind for column in load_columns(schema_path)}


def _example_gen(config: PipelineConfig) -> tfx.dsl.components.base.base_component.BaseComponent:
    """CSV files on-prem and on a laptop; a BigQuery query in the cloud.

    With ``csv_reader="arrow"`` the CsvExampleGen node (same id, same output) reads with
    pyarrow in bounded memory on all cores (pipeline/components/csv_ingest); ``"beam"`` is
    TFX's stock executor, which scales out on a Beam cluster such as Dataflow.
    A spanned CSV source reads one span per run: the pattern finds the span folders,
    the ``span_range`` runtime parameter picks one (default: the newest). It keeps the stock
    executor (the pyarrow one is not tested with spans).
    """
    if isinstance(config.data, CsvSource) and config.data.spanned:
        return tfx.components.CsvExampleGen(
            input_base=config.data.path,
            input_config=tfx.proto.Input(splits=[
                tfx.proto.Input.Split(name=INPUT_SPLIT, pattern=input_pattern(config.data.layout))]),
            range_config=tfx.dsl.experimental.RuntimeParameter(
                name=SPAN_RANGE_PARAMETER, ptype=str, default=NEWEST),
        )
    if isinstance(config.data, CsvSource):
        if config.csv_reader == "arrow":
            return ArrowCsvExampleGen(config.data.path, csv_column_types(config.schema_path))
        return tfx.components.CsvExampleGen(input_base=config.data.path)
    if isinstance(config.data, BigQuerySource):
        return tfx.extensions.google_cloud_big_query.BigQueryExampleGen(query=config.data.query)
    raise ValueError(f"unsupported data source: {config.data!r}")


def create_components(config: PipelineConfig) -> list:
    """All components, wired; returned in topological order."""
    example_gen = _example_gen(config)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    # The newest DataBaseline is the statistics of the last blessed model's data (a run
    # records one only when it blesses its model); empty until a model is blessed.
    drift_config = config.data_gate.drift
    baseline_resolver = None
    if drift_config.enabled:
        baseline_resolver = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
            baseline=tfx.dsl.Channel(type=DataBaseline),
        ).with_id("latest_data_baseline_resolver")
        # Chosen once this run's statistics exist, so that the IR runners can leave out a
        # baseline copied from them (pipeline/runners/resolvers.py): an unchanged rerun then
        # gives the DataGate the same inputs as before, and TFX's cache serves it.
        baseline_resolver.add_upstream_node(statistics_gen)
    data_gate = DataGate(
        anomalies=example_validator.outputs["anomalies"],
        statistics=statistics_gen.outputs["statistics"],
        schema=schema_gen.outputs["schema"],
        baseline=baseline_resolver.outputs["baseline"] if baseline_resolver else None,
        block_severities=",".join(config.data_gate.block_severities),
        warn_only_kinds=",".join(config.data_gate.warn_only_kinds),
        drift_config=drift.config_to_json(drift_config) if drift_config.enabled else "",
    )
    # Spanned data trains on a window of spans resolved from MLMD; the newest span alone
    # is what the gate checks and the Evaluator judges.
    window = None
    if isinstance(config.data, CsvSource) and config.data.spanned and config.training.window_spans > 1:
        window = training_window(example_gen.id, statistics_gen.outputs["statistics"],
                                 config.training.window_spans)
    transform = tfx.components.Transform(
        examples=window.outputs[WINDOW_KEY] if window else example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=config.training.preprocessing_fn,
    )
    # Nothing trains on data that failed validation: Transform (and so everything
    # after it) waits for the gate, which fails the run on blocking anomalies.
    transform.add_upstream_node(data_gate)
    trainer = tfx.components.Trainer(
        run_fn=config.training.run_fn,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=config.training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.training.eval_steps),
        custom_config=config.training.hyperparameters(),
    )
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    # The baseline is chosen once the candidate exists, so that the IR runners can leave
    # the candidate out (pipeline/runners/resolvers.py): an unchanged rerun then gives
    # the Evaluator the same inputs as before, and TFX's cache serves it.
    model_resolver.add_upstream_node(trainer)
    evaluator_class = Evaluator if config.evaluation.slice_engine == "numpy" else tfx.components.Evaluator
    evaluator = evaluator_class(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(config.evaluation),
    )
    pusher = SafePusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_root)
        ),
    )
    # Only a blessed model's data becomes the next runs' drift baseline.
    with tfx.dsl.Cond(evaluator.outputs["blessing"].future()[0].custom_property(tfx_keys.BLESSED) == 1):
        baseline_recorder = DataBaselineRecorder(statistics=statistics_gen.outputs["statistics"])
    components = [
        example_gen,
        statistics_gen,
        schema_gen,
        example_validator,
        *([baseline_resolver] if baseline_resolver else []),
        data_gate,
        *([window] if window else []),
        transform,
        trainer,
        model_resolver,
        evaluator,
        pusher,
        baseline_recorder,
    ]
    for component in components:
        extra = config.component_beam_args.get(component.id)
        if extra:
            component.with_beam_pipeline_args(list(extra))
    if config.tflite.enabled:
        # After the Evaluator, gated on its blessing: unblessed models are neither
        # converted nor pushed. Pushes its own bundle, independently of the Pusher.
        components.append(TFLiteConverter(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            transform_graph=transform.outputs["transform_graph"],
            examples=example_gen.outputs["examples"],
            config=config.tflite,
            push_root=config.edge_root,
            slice_features=config.evaluation.slice_features,
        ))
    return components


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    """The whole pipeline for one environment profile."""
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=create_components(config),
        enable_cache=config.enable_cache,
        metadata_connection_config=connection_config(config.metadata),
        beam_pipeline_args=list(config.beam_args),
    )
