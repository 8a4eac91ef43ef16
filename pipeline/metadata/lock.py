"""One writer at a time per SQLite MLMD store.

SQLite tolerates one writer; two pipeline runs writing the same store at once can
fail half-way with "database is locked" and leave executions stuck in RUNNING. The
local runner therefore holds an exclusive lock file beside the store for the whole
run; a second run fails at once with a message naming the holder. An Airflow task
(``launch-node``) holds the same lock while its node runs, but waits for it: tasks of
overlapping runs legitimately queue. The kernel drops the lock when the holder exits,
even if it is killed, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class ConcurrentRunError(RuntimeError):
    """Another run is using the same MLMD store."""


@contextlib.contextmanager
def exclusive_store(store_path: str, wait_seconds: float = 0.0, poll_seconds: float = 0.5) -> Iterator[None]:
    """Holds ``<store>.lock`` during the block; raises if it is not free within ``wait_seconds``."""
    lock_path = Path(f"{store_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    with lock_path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(poll_seconds)
                    continue
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                waited = f" (waited {wait_seconds:.0f} s)" if wait_seconds else ""
                raise ConcurrentRunError(
                    f"another pipeline run ({holder}) is using the metadata store {store_path}{waited}; "
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
