"""The edge TFX pipeline: one definition for the laptop, Airflow and Kubeflow.

Importing this package pins Keras 2 (tf-keras) before TensorFlow can be imported:
tensorflow-model-optimization and TFX's Keras code paths need Keras 2, and TensorFlow
reads ``TF_USE_LEGACY_KERAS`` once, at import time. Users never have to set it.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
