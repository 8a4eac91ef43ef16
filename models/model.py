"""The Keras model and the Trainer's ``run_fn``.

The network takes Transform's outputs (z-scored floats and integer ids) and returns
the probability of a big tip. The exported SavedModel carries two signatures:
``serving_default`` parses raw serialized ``tf.Example`` rows (no label) and applies
the Transform graph itself, so clients send raw data; ``transform_features`` lets the
Evaluator compute the label from raw eval examples exactly as training did.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx_bsl.public import tfxio

from models import features

# Epochs only set how often Keras validates and writes TensorBoard points; the
# total number of training steps comes from the pipeline's TrainArgs.
VALIDATION_ROUNDS = 5


def skip_autograph_for_tf_keras() -> None:
    """Saves ~20 s per training process.

    Autograph's do-not-convert list names ``keras`` but not ``tf_keras``, so the first
    ``fit()`` converts hundreds of tf_keras internals that are already graph-safe.
    Measured: identical weights and metrics with and without this rule. It touches a
    private TensorFlow module, so a TensorFlow that moves it simply skips the speed-up.
    """
    try:
        from tensorflow.python.autograph.core import config as autograph_config
    except ImportError:  # pragma: no cover - depends on the TensorFlow version
        return
    rule = autograph_config.DoNotConvert("tf_keras")
    if rule not in autograph_config.CONVERSION_RULES:
        autograph_config.CONVERSION_RULES = (rule, *autograph_config.CONVERSION_RULES)


def categorical_sizes(tf_transform_output: tft.TFTransformOutput) -> dict[str, int]:
    """Number of ids of every categorical model input (vocabularies include OOV)."""
    sizes = {}
    for key in features.VOCABULARY_FEATURES:
        vocab_size = tf_transform_output.vocabulary_size_by_name(features.vocabulary_name(key))
        sizes[features.transformed_name(key)] = vocab_size + features.VOCABULARY_OOV_BUCKETS
    return sizes


def build_model(
    categorical: dict[str, int],
    hidden_units: list[int],
    embedding_dim: int,
    learning_rate: float,
) -> keras.Model:
    """A small DNN: embeddings for ids, z-scored floats, ReLU layers, sigmoid output.

    Each input holds one value per example (``[batch, 1]``; Keras also accepts the
    ``[batch]`` tensors Transform emits). Only builtin TFLite ops are used, so the
    edge conversion needs no Flex delegate.
    """
    inputs: dict[str, keras.Input] = {}
    parts = []
    for name in features.dense_feature_names():
        inputs[name] = keras.Input(shape=(1,), name=name, dtype=tf.float32)
        parts.append(inputs[name])
    for name, size in categorical.items():
        inputs[name] = keras.Input(shape=(1,), name=name, dtype=tf.int64)
        embedded = keras.layers.Embedding(size, embedding_dim, name=f"{name}_embedding")(inputs[name])
        parts.append(keras.layers.Flatten()(embedded))
    x = keras.layers.Concatenate()(parts)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    output = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = keras.Model(inputs=inputs, outputs=output)
    model.compile(
        loss="binary_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        metrics=[keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return model


def _dataset(file_pattern: list[str], data_accessor: Any, tf_transform_output: tft.TFTransformOutput,
             batch_size: int) -> tf.data.Dataset:
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=features.LABEL_KEY),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def _serving_signature(model: keras.Model, tf_transform_output: tft.TFTransformOutput) -> Any:
    """Raw serialized tf.Examples in, probabilities out; the label is not needed."""
    model.tft_layer_inference = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    raw_spec.pop(features.LABEL_SOURCE)

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        transformed = model.tft_layer_inference(tf.io.parse_example(serialized, raw_spec))
        model_inputs = {name: transformed[name] for name in model.input_names}
        return {"outputs": model(model_inputs)}

    return serve


def _transform_signature(model: keras.Model, tf_transform_output: tft.TFTransformOutput) -> Any:
    """Raw examples (with label) in, transformed features out: used by the Evaluator."""
    model.tft_layer_eval = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        return model.tft_layer_eval(tf.io.parse_example(serialized, raw_spec))

    return transform


def run_fn(fn_args: Any) -> None:
    """TFX Trainer entry point: trains, logs to TensorBoard, exports the SavedModel."""
    skip_autograph_for_tf_keras()
    hparams = dict(fn_args.custom_config or {})
    batch_size = int(hparams.get("batch_size", 128))
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    keras.utils.set_random_seed(int(hparams.get("seed", 42)))

    train = _dataset(fn_args.train_files, fn_args.data_accessor, tf_transform_output, batch_size)
    evaluation = _dataset(fn_args.eval_files, fn_args.data_accessor, tf_transform_output, batch_size)
    model = build_model(
        categorical_sizes(tf_transform_output),
        hidden_units=list(hparams.get("hidden_units", [64, 32])),
        embedding_dim=int(hparams.get("embedding_dim", 4)),
        learning_rate=float(hparams.get("learning_rate", 0.003)),
    )
    model.summary(print_fn=logging.info)

    rounds = max(1, min(VALIDATION_ROUNDS, fn_args.train_steps))
    model.fit(
        train,
        epochs=rounds,
        steps_per_epoch=math.ceil(fn_args.train_steps / rounds),
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        callbacks=[keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")],
        verbose=2,
    )
    signatures = {
        "serving_default": _serving_signature(model, tf_transform_output),
        "transform_features": _transform_signature(model, tf_transform_output),
    }
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
