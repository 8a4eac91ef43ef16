"""Keras model -> TFLite flatbuffers, one per variant, builtin ops only.

``tf.lite.TFLiteConverter`` is called directly: TFX's ``TFLiteRewriter`` cannot set the
op set or integer input/output types, and drops SavedModel assets. Every variant is
restricted to TFLite builtin ops (no Flex/TensorFlow ops), so LiteRT alone runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
import tensorflow as tf
from tensorflow.lite.tools import flatbuffer_utils

VARIANTS = ("float32", "dynamic_range", "int8", "float16")
# TFLite's BuiltinOperator.CUSTOM: an op the runtime does not ship.
CUSTOM_OPERATOR = 32

RepresentativeData = Callable[[], Iterator[Mapping[str, np.ndarray]]]


class ConversionError(RuntimeError):
    """A variant could not be converted with builtin ops only."""


def _converter(model: tf.keras.Model, variant: str, representative: RepresentativeData | None,
               int8_io: bool, sparse: bool) -> tf.lite.TFLiteConverter:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    # EXPERIMENTAL_SPARSITY stores pruned weights in a sparse format (and runs sparse kernels).
    extra = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY] if sparse else []
    if variant == "float32":
        converter.optimizations = extra
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT, *extra]
    if variant == "dynamic_range":
        return converter
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return converter
    if variant == "int8":
        if representative is None:
            raise ConversionError("int8 needs representative data")
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter
    raise ConversionError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")


def non_builtin_ops(flatbuffer: bytes) -> list[str]:
    """Names of custom (non-builtin) operators in a TFLite model."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    return [
        (code.customCode or b"?").decode() for code in model.operatorCodes
        if max(code.builtinCode, code.deprecatedBuiltinCode) == CUSTOM_OPERATOR or code.customCode
    ]


def weight_bytes(flatbuffer: bytes) -> int:
    """Bytes of constant buffers (weights, biases): the part quantization shrinks."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    return sum(len(buffer.data) for buffer in model.buffers if buffer.data is not None)


def convert(model: tf.keras.Model, variant: str, representative: RepresentativeData | None = None,
            int8_io: bool = False, sparse: bool = False) -> bytes:
    """One variant as a TFLite flatbuffer; raises :class:`ConversionError` with the reason.

    ``sparse``: ask for TFLite's sparse weight encoding (worth it only for pruned weights).
    """
    try:
        flatbuffer = _converter(model, variant, representative, int8_io, sparse).convert()
    except ConversionError:
        raise
    except Exception as error:  # the converter raises many types; the message is what matters
        raise ConversionError(f"{variant}: {type(error).__name__}: {error}") from error
    custom = non_builtin_ops(flatbuffer)
    if custom:
        raise ConversionError(f"{variant}: needs non-builtin ops {custom}")
    return flatbuffer
