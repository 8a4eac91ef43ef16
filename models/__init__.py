"""What is learned: features, the Transform ``preprocessing_fn`` and the Keras ``run_fn``.

TFX executors import these modules in their own processes (Airflow tasks, KFP
containers), so this package pins Keras 2 as well, before TensorFlow loads.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
