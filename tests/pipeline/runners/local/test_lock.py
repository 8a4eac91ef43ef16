"""Two runs on one SQLite store: the second fails at once, clearly; a dead holder frees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.runners.local.lock import ConcurrentRunError, exclusive_store

HOLD = """
import sys, time
from pipeline.runners.local.lock import exclusive_store
with exclusive_store(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_second_holder_is_refused_while_the_first_runs(tmp_path: Path):
    store = str(tmp_path / "metadata.sqlite")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, store], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConcurrentRunError, match=f"pid {holder.pid}"), exclusive_store(store):
            pass
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the killed holder's lock: the store is usable again.
    with exclusive_store(store):
        pass


def test_lock_is_released_after_the_block(tmp_path: Path):
    store = str(tmp_path / "metadata.sqlite")
    with exclusive_store(store), pytest.raises(ConcurrentRunError), exclusive_store(store):
        pass  # a second open of the lock file conflicts, even in the same process
    with exclusive_store(store):
        pass  # released: acquired again without error
