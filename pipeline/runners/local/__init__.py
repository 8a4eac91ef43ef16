"""The local runner and the guards only it needs.

:mod:`.runner` runs every node in this process (TFX's IR launcher, with progress);
:mod:`.lock` keeps two runs off one SQLite store; :mod:`.guards` checks the inputs and
answers "nothing changed" before TensorFlow is imported (:mod:`.up_to_date`).
"""

from pipeline.runners.local.lock import ConcurrentRunError

__all__ = ["ConcurrentRunError"]
