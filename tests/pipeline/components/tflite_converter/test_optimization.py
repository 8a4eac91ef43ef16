"""TFMOT techniques and distillation on a small real model: taxi rows, a briefly trained teacher.

The teacher is ``models.model.build_model`` (the Trainer's network) trained for a few
hundred steps on 3,000 rows of the shipped sample, preprocessed in numpy as the
Transform graph does; each technique then fine-tunes it briefly. Small, so it is fast:
what is checked is that each technique does what it claims (zeros, shared values,
int8 kernels, a smaller student that learned), not its accuracy at full size.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tensorflow.lite.tools import flatbuffer_utils

from models import features
from models.model import build_model
from pipeline.components.tflite_converter import conversion, edge_client, optimization
from pipeline.components.tflite_converter.gate import auc
from tests.support.sample import read_sample_rows

ROWS = 3000
TUNING = optimization.FineTuning(steps=60, batch_size=64, sparsity=0.6, clusters=8, temperature=2.0,
                                 student_hidden_units=(4,), student_embedding_dim=2, distillation_steps=300)


def _number(text: str) -> float:
    return float(text) if text else 0.0


@pytest.fixture(scope="module")
def data():
    """Model inputs and labels from real rows, preprocessed like ``models/preprocessing.py``."""
    header, rows = read_sample_rows()
    rows = rows[:: max(1, len(rows) // ROWS)][:ROWS]
    column = {name: i for i, name in enumerate(header)}
    inputs = {}
    for key in features.LOG_NUMERIC_FEATURES:
        values = np.log1p(np.maximum([_number(r[column[key]]) for r in rows], 0)).astype(np.float32)
        inputs[features.transformed_name(key)] = ((values - values.mean()) / values.std()).reshape(-1, 1)
    payment = [r[column["payment_type"]] for r in rows]
    vocabulary = {word: i for i, word in enumerate(sorted(set(payment), key=payment.count, reverse=True))}
    inputs["payment_type_xf"] = np.array([vocabulary[p] for p in payment], np.int64).reshape(-1, 1)
    fares = np.array([_number(r[column["fare"]]) for r in rows])
    tips = np.array([_number(r[column["tips"]]) for r in rows])
    labels = (tips > features.BIG_TIP_FRACTION * fares).astype(np.float32)
    return inputs, labels, len(vocabulary) + features.VOCABULARY_OOV_BUCKETS


@pytest.fixture(scope="module")
def teacher(data):
    inputs, labels, vocabulary = data
    keras.utils.set_random_seed(0)
    model = build_model({"payment_type_xf": vocabulary}, hidden_units=[16, 8], embedding_dim=2,
                        learning_rate=0.01)
    model.fit(dict(inputs), labels, batch_size=64, epochs=2, verbose=0)
    return model


def _representative(inputs):
    def generate():
        for i in range(100):
            yield {name: values[i:i + 1] for name, values in inputs.items()}
    return generate


def _kernels(model):
    return [layer.get_weights()[0] for layer in model.layers
            if isinstance(layer, keras.layers.Dense | keras.layers.Embedding)]


def _tflite_predict(flatbuffer, inputs):
    model = edge_client.TFLiteModel(model_content=flatbuffer)  # ai-edge-litert, as on a device
    return np.concatenate([model({k: v[i:i + 500] for k, v in inputs.items()})
                           for i in range(0, len(inputs["fare_xf"]), 500)])


def test_teacher_learned_something(data, teacher):
    inputs, labels, _ = data
    assert auc(labels, teacher.predict(dict(inputs), verbose=0)) > 0.85


def test_pruning_reaches_the_target_sparsity_and_converts_with_sparse_encoding(data, teacher):
    inputs, labels, _ = data
    pruned = optimization.optimize("pruned", teacher, inputs, labels, TUNING)
    # Every prunable kernel is stripped of its wrapper and holds the scheduled share of zeros.
    assert not any("prune" in layer.name for layer in pruned.layers)
    for kernel in _kernels(pruned):
        assert abs(np.mean(kernel == 0) - TUNING.sparsity) < 0.05, kernel.shape
    total, nonzero = optimization.parameter_counts(pruned)
    assert nonzero < total * (1 - TUNING.sparsity / 2)
    dense = conversion.convert(pruned, "float32")
    sparse = conversion.convert(pruned, "float32", sparse=True)
    assert conversion.non_builtin_ops(sparse) == []
    # Same predictions either way (float32: exact up to rounding).
    assert np.max(np.abs(_tflite_predict(sparse, inputs) - _tflite_predict(dense, inputs))) < 1e-5
    assert auc(labels, _tflite_predict(sparse, inputs)) > 0.8


def test_quantization_aware_training_converts_to_full_int8_kernels(data, teacher):
    inputs, labels, _ = data
    qat = optimization.optimize("qat", teacher, inputs, labels, TUNING)
    assert any("quant" in layer.name for layer in qat.layers)
    flatbuffer = conversion.convert(qat, "int8", _representative(inputs))
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    fully_connected = [op for op in model.subgraphs[0].operators
                       if model.operatorCodes[op.opcodeIndex].builtinCode == 9]  # FULLY_CONNECTED
    int8 = 9  # TensorType.INT8
    weights = [model.subgraphs[0].tensors[op.inputs[1]] for op in fully_connected]
    assert weights and all(tensor.type == int8 for tensor in weights)
    assert auc(labels, _tflite_predict(flatbuffer, inputs)) > 0.8


def test_clustering_leaves_at_most_the_configured_distinct_values_and_preserves_pruned_zeros(data, teacher):
    inputs, labels, _ = data
    clustered = optimization.optimize("clustered", teacher, inputs, labels, TUNING)
    # Layers with fewer than twice as many weights as clusters are left alone (nothing to gain).
    checked = [k for k in _kernels(clustered) if k.size >= 2 * TUNING.clusters]
    assert len(checked) >= 2  # the two hidden kernels; the output kernel (8) and embedding (14) are small
    for kernel in checked:
        assert len(np.unique(kernel)) <= TUNING.clusters, kernel.shape
    both = optimization.optimize("pruned_clustered", teacher, inputs, labels, TUNING)
    for kernel in _kernels(both):
        if np.count_nonzero(kernel) >= 2 * TUNING.clusters:
            assert len(np.unique(kernel)) <= TUNING.clusters + 1  # the clusters plus the pruned zero
            assert np.mean(kernel == 0) >= TUNING.sparsity - 0.05
    assert auc(labels, clustered.predict(dict(inputs), verbose=0)) > 0.8


def test_distilled_student_is_smaller_and_learns_from_the_teachers_soft_predictions(data, teacher):
    inputs, labels, _ = data
    # A student trains from scratch: TUNING gives it 5x the fine-tuning steps (still seconds).
    student = optimization.optimize("student", teacher, inputs, labels, TUNING)
    assert student.input_names == teacher.input_names and student.output_names == ["probability"]
    assert optimization.parameter_counts(student)[0] < optimization.parameter_counts(teacher)[0] / 3
    predictions = student.predict(dict(inputs), verbose=0).reshape(-1)
    teacher_predictions = teacher.predict(dict(inputs), verbose=0).reshape(-1)
    assert auc(labels, predictions) > 0.8
    # It ranks trips as its teacher labels them, and mostly agrees with its labels.
    assert auc(teacher_predictions > 0.5, predictions) > 0.85
    assert np.mean((predictions > 0.5) == (teacher_predictions > 0.5)) > 0.85


def test_soft_targets_flatten_with_temperature_and_the_loss_uses_them():
    p = np.array([0.01, 0.5, 0.99])
    soft = optimization.soft_targets(p, temperature=4.0)
    assert soft[0] > 0.01 and soft[1] == pytest.approx(0.5) and soft[2] < 0.99
    assert np.allclose(optimization.soft_targets(p, 1.0), p, atol=1e-6)
    loss = optimization.distillation_loss(temperature=2.0, label_weight=0.0)
    y_pred = tf.constant([[0.2], [0.8]])
    matching = tf.constant([[0.0, float(optimization.soft_targets(np.array([0.2]), 2.0)[0])],
                            [1.0, float(optimization.soft_targets(np.array([0.8]), 2.0)[0])]])
    opposite = tf.constant([[0.0, 0.9], [1.0, 0.1]])
    # With label weight 0 only the soft targets count: matching them costs less.
    assert float(loss(matching, y_pred)) < float(loss(opposite, y_pred))


def test_an_unknown_technique_is_refused_with_its_name(data, teacher):
    inputs, labels, _ = data
    with pytest.raises(optimization.OptimizationError, match="unknown technique 'distilled'"):
        optimization.optimize("distilled", teacher, inputs, labels, TUNING)
