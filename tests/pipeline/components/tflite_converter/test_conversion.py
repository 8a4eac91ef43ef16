"""Conversion of real (tiny) Keras models: builtin ops only, failures named."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from pipeline.components.tflite_converter import conversion, edge_client


def _tiny_model(extra=None):
    x = keras.Input(shape=(1,), name="x_xf", dtype=tf.float32)
    ids = keras.Input(shape=(1,), name="id_xf", dtype=tf.int64)
    embedded = keras.layers.Flatten()(keras.layers.Embedding(3, 2)(ids))
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([x, embedded]))
    if extra is not None:
        hidden = extra(hidden)
    output = keras.layers.Dense(1, activation="sigmoid", name="probability")(hidden)
    return keras.Model({"x_xf": x, "id_xf": ids}, output)


def _representative():
    rng = np.random.default_rng(0)
    # Covers the test inputs' range: int8 clips whatever calibration did not see.
    for _ in range(50):
        yield {"x_xf": rng.uniform(-2.5, 2.5, size=(1, 1)).astype(np.float32),
               "id_xf": rng.integers(0, 3, (1, 1))}


@pytest.mark.parametrize("int8_io", [False, True])
def test_every_variant_converts_to_builtin_ops_and_predicts_like_keras(int8_io):
    model = _tiny_model()
    inputs = {"x_xf": np.linspace(-2, 2, 9, dtype=np.float32).reshape(-1, 1),
              "id_xf": (np.arange(9) % 3).reshape(-1, 1).astype(np.int64)}
    expected = model(inputs).numpy().reshape(-1)
    for variant in conversion.VARIANTS:
        flatbuffer = conversion.convert(model, variant, _representative, int8_io=int8_io)
        assert conversion.non_builtin_ops(flatbuffer) == []
        runner = edge_client.TFLiteModel(model_content=flatbuffer, interpreter_class=tf.lite.Interpreter)
        tolerance = 0.05 if variant == "int8" else 0.01
        assert np.max(np.abs(runner(inputs) - expected)) < tolerance, variant


def test_a_model_needing_tensorflow_ops_fails_with_the_converters_reason():
    # Strings have no TFLite builtin kernels: only the Flex delegate could run this.
    as_text = keras.layers.Lambda(lambda t: tf.strings.to_number(tf.strings.as_string(t)))
    with pytest.raises(conversion.ConversionError, match="float32"):
        conversion.convert(_tiny_model(as_text), "float32")


def test_int8_without_representative_data_and_unknown_variants_are_refused():
    with pytest.raises(conversion.ConversionError, match="representative"):
        conversion.convert(_tiny_model(), "int8", None)
    with pytest.raises(conversion.ConversionError, match="unknown variant"):
        conversion.convert(_tiny_model(), "int4")


@pytest.mark.parametrize("model_file", ["model.tflite", "model.tflite.gz"])
def test_a_bundle_shipping_its_model_gzipped_predicts_like_the_plain_file(tmp_path, model_file):
    """``compress_model``: the client decompresses model.tflite.gz in memory, same predictions."""
    model = _tiny_model()
    flatbuffer = conversion.convert(model, "float32")
    spec = {"format": edge_client.SPEC_FORMAT, "version": edge_client.SPEC_VERSION, "model_file": model_file,
            "signature": "serving_default", "output": "probability", "threshold": 0.5, "features": [
                {"column": "x", "model_input": "x_xf", "transform": "log1p_z_score", "dtype": "float32",
                 "required": True, "default": 0.0, "mean": 1.0, "var": 1.0},
                {"column": "kind", "model_input": "id_xf", "transform": "vocabulary", "dtype": "string",
                 "required": True, "default": "", "vocabulary": ["a", "b"], "oov_id": 2}]}
    (tmp_path / edge_client.SPEC_FILE).write_text(json.dumps(spec))
    (tmp_path / model_file).write_bytes(gzip.compress(flatbuffer) if model_file.endswith(".gz")
                                        else flatbuffer)
    rows = [{"x": str(x), "kind": kind} for x, kind in zip([0, 1.5, 7, 40], "abzb", strict=True)]
    inputs = edge_client.Preprocessor(spec)(rows)
    expected = model(inputs).numpy().reshape(-1)
    assert np.max(np.abs(edge_client.EdgeModel(tmp_path).predict(rows) - expected)) < 1e-6
