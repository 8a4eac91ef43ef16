"""The edge TFX pipeline: one definition for the laptop, Airflow and Kubeflow.

Importing this package pins Keras 2 (tf-keras) before TensorFlow can be imported:
tensorflow-model-optimization and TFX's Keras code paths need Keras 2, and TensorFlow
reads ``TF_USE_LEGACY_KERAS`` once, at import time. Users never have to set it.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def __getattr__(name: str) -> object:
    """``pipeline.TFLiteModels``: the import path Kubeflow v2 derives from its type name.

    Resolved lazily, so that importing ``pipeline`` (the CLI, the Airflow DAG) stays free
    of TensorFlow and TFX.
    """
    if name == "TFLiteModels":
        from pipeline.components.tflite_converter.component import TFLiteModels

        return TFLiteModels
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
