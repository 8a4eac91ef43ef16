"""TensorFlow Model Optimization: fine-tuned variants of the blessed model, and a distilled student.

Each technique starts from the blessed Keras model (the teacher) and fine-tunes a copy
on the pipeline's own training examples, transformed by the same Transform graph; the
result is a plain Keras model with the teacher's inputs and output name, so it is
converted, measured, gated and bundled exactly like the teacher:

- ``pruned``: magnitude pruning with a polynomial sparsity schedule, then stripped;
- ``qat``: quantization-aware training (fake-quant on the Dense layers; TFMOT's default
  registry has no Embedding support), converted to full int8;
- ``clustered``: weight clustering (k-means++ centroids), then stripped;
- ``pruned_clustered``: the pruned model clustered with ``preserve_sparsity``;
- ``student``: a smaller network trained on the teacher's soft predictions at a
  temperature, mixed with the labels (Hinton et al.'s distillation loss).

Why fine-tune here and not in the Trainer: the techniques take the *blessed* model as
their teacher, so the Evaluator has already vouched for it, and the lineage of every
variant (students included) starts from that Model artifact in MLMD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from models import features
from models.model import build_model
from pipeline.config import TFMOT_TECHNIQUES as TECHNIQUES
from pipeline.config import TFLiteConfig

# One source for the fine-tuning defaults: the pipeline configuration.
_DEFAULTS = TFLiteConfig()

EPSILON = 1e-6


class OptimizationError(RuntimeError):
    """A technique could not be applied (unsupported layer, bad setting)."""


@dataclass(frozen=True)
class FineTuning:
    """Hyperparameters shared by the techniques (recorded in MLMD with each run)."""

    steps: int = _DEFAULTS.finetune_steps
    batch_size: int = _DEFAULTS.finetune_batch_size
    learning_rate: float = _DEFAULTS.finetune_learning_rate
    sparsity: float = _DEFAULTS.pruning_sparsity
    clusters: int = _DEFAULTS.clusters
    temperature: float = _DEFAULTS.distillation_temperature
    # Weight of the hard-label loss in the student's loss (the rest is the soft loss).
    label_weight: float = _DEFAULTS.distillation_label_weight
    # The student's training steps (it starts from scratch; the other techniques fine-tune).
    distillation_steps: int = _DEFAULTS.distillation_steps
    student_hidden_units: tuple[int, ...] = _DEFAULTS.student_hidden_units
    student_embedding_dim: int = _DEFAULTS.student_embedding_dim
    seed: int = 42


def _dataset(inputs: Mapping[str, np.ndarray], targets: np.ndarray, tuning: FineTuning) -> tf.data.Dataset:
    rows = len(targets)
    return (tf.data.Dataset.from_tensor_slices((dict(inputs), targets))
            .shuffle(rows, seed=tuning.seed).repeat().batch(tuning.batch_size))


def _fit(model: keras.Model, inputs: Mapping[str, np.ndarray], targets: np.ndarray, tuning: FineTuning,
         loss: object = "binary_crossentropy", callbacks: list | None = None, steps_per_execution: int = 1
         ) -> None:
    """``steps_per_execution`` > 1 runs that many steps per graph call (same updates, less Python
    per step); only for fits without per-batch callbacks (pruning's step counter needs each batch)."""
    model.compile(optimizer=keras.optimizers.Adam(tuning.learning_rate), loss=loss,
                  steps_per_execution=steps_per_execution)
    model.fit(_dataset(inputs, targets, tuning), epochs=1, steps_per_epoch=tuning.steps,
              callbacks=callbacks or [], verbose=0)


def _dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _copy(teacher: keras.Model) -> keras.Model:
    """A plain functional copy of the teacher (same architecture and weights).

    A model revived from the Trainer's SavedModel also tracks the Transform layer its
    serving signature uses, which has no Keras config, so ``clone_model`` (and with it
    every TFMOT wrapper) fails on it; rebuilding with ``build_model`` sidesteps that.
    """
    embeddings = {layer.name: layer for layer in teacher.layers
                  if isinstance(layer, keras.layers.Embedding)}
    sizes = {name: int(embeddings[f"{name}_embedding"].input_dim)
             for name in features.categorical_feature_names()}
    dense = _dense_layers(teacher)
    model = build_model(sizes, hidden_units=[int(layer.units) for layer in dense[:-1]],
                        embedding_dim=int(next(iter(embeddings.values())).output_dim), learning_rate=0.001)
    for name, layer in embeddings.items():
        model.get_layer(name).set_weights(layer.get_weights())
    for mine, theirs in zip(_dense_layers(model), dense, strict=True):
        mine.set_weights(theirs.get_weights())
    return model


def pruned(teacher: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
           tuning: FineTuning) -> keras.Model:
    """Magnitude pruning: sparsity ramps from 0 to ``tuning.sparsity`` over 70% of the steps."""
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=tuning.sparsity, begin_step=0,
        end_step=max(1, int(tuning.steps * 0.7)), frequency=max(1, tuning.steps // 20))
    model = tfmot.sparsity.keras.prune_low_magnitude(_copy(teacher), pruning_schedule=schedule)
    _fit(model, inputs, labels, tuning, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(model)


def qat(teacher: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
        tuning: FineTuning) -> keras.Model:
    """Quantization-aware training of the Dense layers (the converter quantizes the rest)."""
    annotate = tfmot.quantization.keras.quantize_annotate_layer

    def annotate_dense(layer: keras.layers.Layer) -> keras.layers.Layer:
        return annotate(layer) if isinstance(layer, keras.layers.Dense) else layer

    copy = _copy(teacher)
    annotated = keras.models.clone_model(copy, clone_function=annotate_dense)
    annotated.set_weights(copy.get_weights())
    with tfmot.quantization.keras.quantize_scope():
        model = tfmot.quantization.keras.quantize_apply(annotated)
    _fit(model, inputs, labels, tuning)
    return model


def _clustered(model: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray, tuning: FineTuning,
               preserve_sparsity: bool) -> keras.Model:
    clustering = tfmot.clustering.keras
    centroids = clustering.CentroidInitialization.KMEANS_PLUS_PLUS

    def cluster(layer: keras.layers.Layer) -> keras.layers.Layer:
        # Clustering a layer with fewer (non-zero, when keeping zeros) weights than twice
        # the clusters saves nothing, and k-means++ cannot initialise on it.
        if not isinstance(layer, keras.layers.Dense | keras.layers.Embedding):
            return layer
        kernel = layer.get_weights()[0]
        if (np.count_nonzero(kernel) if preserve_sparsity else kernel.size) >= 2 * tuning.clusters:
            return clustering.cluster_weights(layer, number_of_clusters=tuning.clusters,
                                              cluster_centroids_init=centroids,
                                              preserve_sparsity=preserve_sparsity)
        return layer

    clustered = keras.models.clone_model(model, clone_function=cluster)
    _fit(clustered, inputs, labels, tuning)
    return clustering.strip_clustering(clustered)


def clustered(teacher: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
              tuning: FineTuning) -> keras.Model:
    """Weight clustering: each layer's kernel shares ``tuning.clusters`` distinct values."""
    return _clustered(_copy(teacher), inputs, labels, tuning, preserve_sparsity=False)


def pruned_clustered(teacher: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
                     tuning: FineTuning) -> keras.Model:
    """Pruning, then clustering that keeps the zeros (fewer distinct values *and* zeros)."""
    return _clustered(pruned(teacher, inputs, labels, tuning), inputs, labels, tuning, preserve_sparsity=True)


def soft_targets(teacher_probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The teacher's probabilities softened at a temperature: sigmoid(logit(p) / T)."""
    p = np.clip(np.asarray(teacher_probabilities, np.float64), EPSILON, 1 - EPSILON)
    return (1.0 / (1.0 + np.exp(-np.log(p / (1 - p)) / temperature))).astype(np.float32)


def distillation_loss(temperature: float, label_weight: float):  # noqa: ANN201 - a Keras loss
    """``label_weight * BCE(label, p) + (1 - label_weight) * T^2 * BCE(soft, sigmoid(logit(p) / T))``.

    ``y_true`` packs the label and the teacher's softened probability as two columns; the
    student keeps the teacher's sigmoid output (same bundle contract), so its logit is
    recovered from the probability. The T^2 factor keeps the soft gradients' scale.
    """
    bce = keras.losses.BinaryCrossentropy()

    def loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        label, soft = y_true[:, :1], y_true[:, 1:2]
        p = tf.clip_by_value(y_pred, EPSILON, 1 - EPSILON)
        soft_pred = tf.sigmoid(tf.math.log(p / (1 - p)) / temperature)
        return label_weight * bce(label, p) + (1 - label_weight) * temperature ** 2 * bce(soft, soft_pred)

    return loss


def student(teacher: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
            tuning: FineTuning) -> keras.Model:
    """A smaller network of the same inputs, trained on the teacher's soft predictions and the labels."""
    sizes = {name: int(teacher.get_layer(f"{name}_embedding").input_dim)
             for name in features.categorical_feature_names()}  # the teacher's vocabularies
    keras.utils.set_random_seed(tuning.seed)
    model = build_model(sizes, hidden_units=list(tuning.student_hidden_units),
                        embedding_dim=tuning.student_embedding_dim, learning_rate=tuning.learning_rate)
    teacher_probabilities = teacher.predict(dict(inputs), batch_size=4096, verbose=0).reshape(-1)
    targets = np.stack([np.asarray(labels, np.float32).reshape(-1),
                        soft_targets(teacher_probabilities, tuning.temperature)], axis=1)
    # A student starts from scratch: its own step count, and 3x the fine-tuning learning rate.
    scratch = FineTuning(**{**tuning.__dict__, "steps": tuning.distillation_steps,
                            "learning_rate": tuning.learning_rate * 3})
    # Thousands of steps of a tiny network: Python overhead per step dominates (measured
    # 37 s for 2,000 steps one at a time on the shared machine), so 50 steps run per call.
    _fit(model, inputs, targets, scratch, loss=distillation_loss(tuning.temperature, tuning.label_weight),
         steps_per_execution=50)
    return model


BUILDERS = {"pruned": pruned, "qat": qat, "clustered": clustered, "pruned_clustered": pruned_clustered,
            "student": student}


def optimize(technique: str, teacher: keras.Model, inputs: Mapping[str, np.ndarray], labels: np.ndarray,
             tuning: FineTuning) -> keras.Model:
    """The teacher optimised by one technique; raises :class:`OptimizationError` with the reason."""
    if technique not in BUILDERS:
        raise OptimizationError(f"unknown technique {technique!r}; known: {', '.join(TECHNIQUES)}")
    keras.utils.set_random_seed(tuning.seed)
    try:
        return _named_output(BUILDERS[technique](teacher, inputs, labels, tuning), teacher.output_names[0])
    except Exception as error:  # TFMOT raises many types; the message is what matters
        raise OptimizationError(f"{technique}: {type(error).__name__}: {error}") from error


def _named_output(model: keras.Model, name: str) -> keras.Model:
    """The model with the teacher's output name (QAT renames it ``quant_<name>``).

    The TFLite signature's output takes this name, and the bundle's client looks it up.
    """
    if model.output_names == [name]:
        return model
    return keras.Model(model.inputs, keras.layers.Activation("linear", name=name)(model.outputs[0]))


def parameter_counts(model: keras.Model) -> tuple[int, int]:
    """(all weights, non-zero weights) of a Keras model."""
    weights = [np.asarray(w) for w in model.get_weights()]
    return int(sum(w.size for w in weights)), int(sum(np.count_nonzero(w) for w in weights))
