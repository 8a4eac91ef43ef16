"""One local run at a time per SQLite MLMD store.

SQLite tolerates one writer; two pipeline runs writing the same store at once can
fail half-way with "database is locked" and leave executions stuck in RUNNING. The
local runner therefore holds an exclusive lock file beside the store for the whole
run; a second run fails at once with a message naming the holder. The kernel drops
the lock when the holder exits, even if it is killed, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class ConcurrentRunError(RuntimeError):
    """Another run is using the same MLMD store."""


@contextlib.contextmanager
def exclusive_store(store_path: str) -> Iterator[None]:
    """Holds ``<store>.lock`` for the duration of the block, or raises at once."""
    lock_path = Path(f"{store_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ConcurrentRunError(
                f"another pipeline run ({holder}) is using the metadata store {store_path}; "
                "wait for it to finish, or give this run another --root"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
