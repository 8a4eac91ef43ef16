"""Transform's ``preprocessing_fn``: raw taxi columns to model-ready tensors.

Runs once over the training split (analyzers: means, variances, vocabularies) and is
then saved as a graph that serving and evaluation apply to every example, so the
model never sees features encoded differently than it was trained on.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from models import features


def fill_missing(tensor: tf.Tensor | tf.SparseTensor, default: object) -> tf.Tensor:
    """Returns a dense rank-1 tensor, replacing absent values with ``default``.

    Optional columns arrive as ``SparseTensor`` (VarLen in the schema) with at most
    one value per row; required ones arrive dense with shape ``[batch, 1]``.
    """
    if isinstance(tensor, tf.sparse.SparseTensor):
        tensor = tf.sparse.to_dense(
            tf.SparseTensor(tensor.indices, tensor.values, [tensor.dense_shape[0], 1]),
            default_value=default,
        )
    return tf.squeeze(tensor, axis=1)


def label(inputs: dict[str, tf.Tensor]) -> tf.Tensor:
    """1 where the tip is more than ``BIG_TIP_FRACTION`` of the fare, else 0."""
    tips = fill_missing(inputs[features.LABEL_SOURCE], 0.0)
    fare = fill_missing(inputs["fare"], 0.0)
    return tf.cast(tf.greater(tips, fare * features.BIG_TIP_FRACTION), tf.int64)


def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """TFT entry point. The label is produced only when ``tips`` is present (training)."""
    outputs: dict[str, tf.Tensor] = {}
    for key in features.LOG_NUMERIC_FEATURES:
        value = tf.cast(fill_missing(inputs[key], 0), tf.float32)
        outputs[features.transformed_name(key)] = tft.scale_to_z_score(
            tf.math.log1p(tf.maximum(value, 0.0))
        )
    for key in features.VOCABULARY_FEATURES:
        outputs[features.transformed_name(key)] = tft.compute_and_apply_vocabulary(
            fill_missing(inputs[key], ""),
            num_oov_buckets=features.VOCABULARY_OOV_BUCKETS,
            vocab_filename=features.vocabulary_name(key),
        )
    if features.LABEL_SOURCE in inputs:
        outputs[features.LABEL_KEY] = label(inputs)
    return outputs
