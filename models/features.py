"""The feature contract: which raw columns the model sees, and how each is encoded.

Every transform here is per feature and simple enough to be replayed exactly outside
TensorFlow (an edge device gets the same recipe as data), so the lists below are the
single source of truth for ``preprocessing.py``, the model's inputs and the TFLite
bundle. ``tips`` is the label's source and never a model input.
"""

from __future__ import annotations

LABEL_SOURCE = "tips"
LABEL_KEY = "big_tipper"
# A trip is a "big tipper" trip when the tip exceeds this share of the fare.
BIG_TIP_FRACTION = 0.2

# Continuous features: missing -> 0, then log1p (long right tails), then z-score.
LOG_NUMERIC_FEATURES = ("fare", "trip_miles", "trip_seconds")
# Coordinates: missing -> 0, then z-score; a "missing" indicator is added per pair.
COORDINATE_FEATURES = (
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
)
# Small integer categories used as ids directly: value -> id, missing -> 0 where
# 0 is not a valid value. The number is the count of ids (max value + 1).
INTEGER_CATEGORICAL_FEATURES = {
    "trip_start_hour": 24,
    "trip_start_day": 8,
    "trip_start_month": 13,
    "pickup_community_area": 78,
    "dropoff_community_area": 78,
}
# Strings mapped through a vocabulary computed on the training split; unseen and
# missing values share one out-of-vocabulary id.
VOCABULARY_FEATURES = ("payment_type", "company")
VOCABULARY_TOP_K = 100
VOCABULARY_OOV_BUCKETS = 1

RAW_INPUT_FEATURES = (
    *LOG_NUMERIC_FEATURES,
    *COORDINATE_FEATURES,
    *INTEGER_CATEGORICAL_FEATURES,
    *VOCABULARY_FEATURES,
)
assert LABEL_SOURCE not in RAW_INPUT_FEATURES, "the label's source must never be an input"


def transformed_name(key: str) -> str:
    """Name of a feature after Transform (kept distinct from raw names on purpose)."""
    return f"{key}_xf"


def vocabulary_name(key: str) -> str:
    """Name of the Transform vocabulary file for a string feature."""
    return f"{key}_vocab"


def dense_feature_names() -> list[str]:
    """Transformed float inputs of the model, in a fixed order."""
    return [transformed_name(k) for k in (*LOG_NUMERIC_FEATURES, *COORDINATE_FEATURES)] + [
        "coordinates_missing_xf"
    ]
