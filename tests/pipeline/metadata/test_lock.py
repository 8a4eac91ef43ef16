"""Two runs on one SQLite store: the second fails at once, clearly; a dead holder frees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.metadata.lock import ConcurrentRunError, exclusive_store

HOLD = """
import sys, time
from pipeline.metadata.lock import exclusive_store
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


def _hold_for(store: str, seconds: float) -> subprocess.Popen:
    code = HOLD.replace("time.sleep(60)", f"time.sleep({seconds})") + 'print("released", flush=True)\n'

    holder = subprocess.Popen([sys.executable, "-c", code, store], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_waiting_holder_gets_the_store_once_the_first_lets_go(tmp_path: Path):
    store = str(tmp_path / "metadata.sqlite")
    holder = _hold_for(store, 2)
    try:
        with exclusive_store(store, wait_seconds=120, poll_seconds=0.1):
            # We asked while it held the lock (it had said "held"), and got it without an error.
            assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_holder_gives_up_after_its_timeout(tmp_path: Path):
    store = str(tmp_path / "metadata.sqlite")
    holder = _hold_for(store, 60)
    try:
        with pytest.raises(ConcurrentRunError, match=r"waited 1 s"), exclusive_store(
                store, wait_seconds=1, poll_seconds=0.1):
            pass
    finally:
        holder.kill()
        holder.wait()
