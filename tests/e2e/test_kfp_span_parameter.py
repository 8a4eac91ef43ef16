"""The compiled Kubeflow spec reads the span its run names: ``span_range`` is a pipeline parameter.

Two daily folders; the gke profile compiled over them; the spec's CsvExampleGen task
run through the local launcher (its own container command and TFX driver) once with
the parameter's default (the newest day) and once with the older day named, as a KFP
or Vertex run is given it. Only the ExampleGen task runs: the rest of the spec is
covered by test_kfp_compiled_spec.py.
"""

from __future__ import annotations

import pytest

from benchmarks.daily_spans import write_daily_spans
from pipeline import profiles, spans
from pipeline.config import DEFAULT_SCHEMA, REPO_ROOT
from pipeline.runners import kfp_local, kubeflow

pytestmark = pytest.mark.e2e

EXAMPLE_GEN = "CsvExampleGen"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("kfp-spans")
    days = write_daily_spans(root / "data", 2, rows_per_day=90, shift_from=None)
    config = profiles.gke(root=str(root / "cloud"), data=root / "data", image="taxi-edge:test",
                          use_dataflow=False, schema=str(DEFAULT_SCHEMA), env={})
    return root, days, kubeflow.compile_pipeline(config, root / "compiled")


def test_the_spec_declares_the_span_parameter_with_newest_as_default(compiled):
    _, _, files = compiled
    spec = kfp_local.load_pipeline_spec(files.kfp_package)
    declared = spec.root.input_definitions.parameters[spans.SPAN_RANGE_PARAMETER]
    assert declared.HasField("default_value")  # a KFP run need not give it
    assert declared.default_value.string_value == spans.NEWEST
    task = spec.root.dag.tasks[EXAMPLE_GEN]
    assert task.inputs.parameters["range_config"].component_input_parameter == spans.SPAN_RANGE_PARAMETER


@pytest.mark.parametrize("which", ["default", "older day"])
def test_the_example_gen_task_reads_the_span_the_run_names(compiled, which):
    root, days, files = compiled
    wanted = days[0] if which == "older day" else days[-1]
    parameters = ({spans.SPAN_RANGE_PARAMETER: spans.range_config_json(spans.date_to_span(wanted.date))}
                  if which == "older day" else {})
    result = kfp_local.run_pipeline(files.kfp_package, root / which.replace(" ", "-"), cwd=REPO_ROOT,
                                    runtime_parameters=parameters, only=[EXAMPLE_GEN])
    examples = result.artifact(EXAMPLE_GEN, "examples")
    span = kfp_local.metadata_value(examples, "span")
    assert span is not None, examples["metadata"]
    assert int(span) == spans.date_to_span(wanted.date)
