"""The bundle's numpy client: the input contract, without any pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.components.tflite_converter import edge_client

SPEC = {
    "format": edge_client.SPEC_FORMAT,
    "version": edge_client.SPEC_VERSION,
    "model_file": "model.tflite",
    "signature": "serving_default",
    "output": "probability",
    "threshold": 0.5,
    "features": [
        {"column": "fare", "model_input": "fare_xf", "transform": "log1p_z_score", "dtype": "float32",
         "required": True, "default": 0.0, "mean": 2.0, "var": 0.25},
        {"column": "trip_seconds", "model_input": "trip_seconds_xf", "transform": "log1p_z_score",
         "dtype": "int64", "required": False, "default": 0.0, "mean": 1.0, "var": 0.0},
        {"column": "payment_type", "model_input": "payment_type_xf", "transform": "vocabulary",
         "dtype": "string", "required": True, "default": "", "vocabulary": ["Cash", "Credit Card"],
         "oov_id": 2},
    ],
}


def test_numeric_columns_are_log_z_scored_in_float32():
    row = {"fare": "12.45", "trip_seconds": "300", "payment_type": "Cash"}
    inputs = edge_client.Preprocessor(SPEC)([row])
    expected = (np.log1p(np.float32(12.45)) - np.float32(2.0)) / np.float32(0.5)
    assert inputs["fare_xf"].dtype == np.float32 and inputs["fare_xf"].shape == (1, 1)
    assert inputs["fare_xf"][0, 0] == expected
    # var 0: Transform leaves the centred value unscaled, and so does the client.
    assert inputs["trip_seconds_xf"][0, 0] == np.log1p(np.float32(300)) - np.float32(1.0)


def test_missing_optional_numbers_are_zero_and_negative_ones_clip_to_zero():
    rows = [{"fare": "-3", "trip_seconds": "", "payment_type": "Cash"},
            {"fare": 0, "trip_seconds": None, "payment_type": "Cash"}]
    inputs = edge_client.Preprocessor(SPEC)(rows)
    assert inputs["fare_xf"][0, 0] == inputs["fare_xf"][1, 0] == np.float32(-4.0)
    assert np.all(inputs["trip_seconds_xf"] == np.float32(-1.0))


def test_strings_map_to_vocabulary_ids_and_unseen_ones_to_the_oov_id():
    values = ("Cash", "Credit Card", "cash", "Bitcoin", b"Cash")
    rows = [{"fare": 1, "payment_type": value} for value in values]
    ids = edge_client.Preprocessor(SPEC)(rows)["payment_type_xf"].reshape(-1)
    assert ids.dtype == np.int64
    assert ids.tolist() == [0, 1, 2, 2, 0]


@pytest.mark.parametrize("row", [{"payment_type": "Cash"}, {"fare": "", "payment_type": "Cash"},
                                 {"fare": 3.0}, {"fare": 3.0, "payment_type": ""}])
def test_missing_required_columns_are_refused_like_the_saved_model_does(row):
    with pytest.raises(ValueError, match="required column"):
        edge_client.Preprocessor(SPEC)([row])


def test_an_unknown_spec_format_is_refused():
    with pytest.raises(ValueError, match="unsupported preprocessing spec"):
        edge_client.Preprocessor({**SPEC, "version": 99})


def test_int8_tensors_are_quantized_and_dequantized_with_their_parameters():
    details = {"dtype": np.int8, "quantization": (0.5, -4)}
    quantized = edge_client.quantize(np.array([[0.0], [1.0], [1000.0], [-1000.0]], np.float32), details)
    assert quantized.dtype == np.int8 and quantized.reshape(-1).tolist() == [-4, -2, 127, -128]
    assert edge_client.dequantize(np.array([-4, 6], np.int8), details).tolist() == [0.0, 5.0]
    # Integer ids into an int64 tensor are passed through untouched.
    ids = edge_client.quantize(np.array([[3]], np.int64), {"dtype": np.int64, "quantization": (0.0, 0)})
    assert ids.dtype == np.int64 and ids[0, 0] == 3
