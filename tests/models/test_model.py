"""The model's input/output contract, without running a pipeline."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from models import features
from models.model import build_model

SIZES = {name: 5 for name in features.categorical_feature_names()}


def _batch(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    batch = {name: rng.normal(size=n).astype(np.float32) for name in features.dense_feature_names()}
    batch |= {name: rng.integers(0, size, size=n).astype(np.int64) for name, size in SIZES.items()}
    return batch


def test_inputs_are_exactly_the_transformed_features_and_never_the_label():
    model = build_model(SIZES, hidden_units=[8], embedding_dim=2, learning_rate=0.01)
    expected = set(features.dense_feature_names()) | set(SIZES)
    assert set(model.input_names) == expected
    assert features.LABEL_KEY not in model.input_names
    assert not any(features.LABEL_SOURCE in name for name in model.input_names)


def test_output_is_one_probability_per_row():
    model = build_model(SIZES, hidden_units=[8], embedding_dim=2, learning_rate=0.01)
    probabilities = model(_batch(7)).numpy()
    assert probabilities.shape == (7, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_model_learns_a_simple_rule():
    """A signal in one feature is picked up after a short fit (the network can learn)."""
    tf.keras.utils.set_random_seed(1)
    model = build_model(SIZES, hidden_units=[16], embedding_dim=2, learning_rate=0.02)
    batch = _batch(512)
    labels = (batch[features.transformed_name("fare")] > 0).astype(np.int64)
    model.fit(batch, labels, epochs=30, batch_size=64, verbose=0)
    _, auc, accuracy = model.evaluate(batch, labels, verbose=0)
    assert auc > 0.95 and accuracy > 0.9
