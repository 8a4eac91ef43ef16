"""The light key modules name what TFX and our components really use."""

from __future__ import annotations

from tfx.components.evaluator import constants as evaluator_constants
from tfx.components.pusher import executor as pusher_executor
from tfx.types import standard_component_specs as specs

from pipeline.components import tfx_keys
from pipeline.components.data_baseline import spec as baseline_spec
from pipeline.components.data_baseline.component import DataBaselineRecorder
from pipeline.components.data_gate import spec as gate_spec
from pipeline.components.data_gate.component import DataGate
from pipeline.components.tflite_converter import spec as tflite_spec
from pipeline.components.tflite_converter.component import TFLiteConverterSpec


def test_tfx_keys_are_the_names_tfx_defines():
    assert tfx_keys.EXAMPLES_KEY == specs.EXAMPLES_KEY and tfx_keys.SCHEMA_KEY == specs.SCHEMA_KEY
    assert tfx_keys.STATISTICS_KEY == specs.STATISTICS_KEY and tfx_keys.ANOMALIES_KEY == specs.ANOMALIES_KEY
    assert tfx_keys.TRANSFORM_GRAPH_KEY == specs.TRANSFORM_GRAPH_KEY and tfx_keys.MODEL_KEY == specs.MODEL_KEY
    assert tfx_keys.BASELINE_MODEL_KEY == specs.BASELINE_MODEL_KEY
    assert tfx_keys.EVALUATION_KEY == specs.EVALUATION_KEY and tfx_keys.BLESSING_KEY == specs.BLESSING_KEY
    assert tfx_keys.MODEL_BLESSING_KEY == specs.MODEL_BLESSING_KEY
    assert tfx_keys.PUSHED_MODEL_KEY == specs.PUSHED_MODEL_KEY
    assert tfx_keys.INPUT_BASE == specs.INPUT_BASE_KEY
    assert tfx_keys.TRAIN_ARGS == specs.TRAIN_ARGS_KEY and tfx_keys.EVAL_ARGS == specs.EVAL_ARGS_KEY
    assert tfx_keys.CUSTOM_CONFIG == specs.CUSTOM_CONFIG_KEY and tfx_keys.RUN_FN == specs.RUN_FN_KEY
    assert tfx_keys.MODULE_FILE == specs.MODULE_FILE_KEY and tfx_keys.SCHEMA_FILE == specs.SCHEMA_FILE_KEY
    assert tfx_keys.PREPROCESSING_FN == specs.PREPROCESSING_FN_KEY
    assert tfx_keys.BLESSED == evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY
    assert (tfx_keys.PUSHED, tfx_keys.PUSHED_DESTINATION, tfx_keys.PUSHED_VERSION) == (
        pusher_executor._PUSHED_KEY, pusher_executor._PUSHED_DESTINATION_KEY,  # noqa: SLF001 - names only
        pusher_executor._PUSHED_VERSION_KEY)  # noqa: SLF001


def test_the_data_gate_spec_names_the_gates_arguments():
    spec = DataGate.SPEC_CLASS
    assert set(spec.INPUTS) == {gate_spec.ANOMALIES_KEY, gate_spec.STATISTICS_KEY, gate_spec.SCHEMA_KEY,
                                gate_spec.BASELINE_KEY}
    assert set(spec.OUTPUTS) == {gate_spec.DRIFT_REPORT_KEY}
    assert set(spec.PARAMETERS) == {gate_spec.BLOCK_SEVERITIES_KEY, gate_spec.WARN_ONLY_KINDS_KEY,
                                    gate_spec.DRIFT_CONFIG_KEY}


def test_the_baseline_and_tflite_specs_name_their_components_keys():
    recorder = DataBaselineRecorder.SPEC_CLASS
    assert (set(recorder.INPUTS), set(recorder.OUTPUTS)) == ({baseline_spec.STATISTICS_KEY},
                                                             {baseline_spec.BASELINE_KEY})
    assert set(TFLiteConverterSpec.INPUTS) == {tflite_spec.MODEL_KEY, tflite_spec.BLESSING_KEY,
                                                tflite_spec.TRANSFORM_GRAPH_KEY, tflite_spec.EXAMPLES_KEY}
    assert set(TFLiteConverterSpec.OUTPUTS) == {tflite_spec.OUTPUT_KEY}
