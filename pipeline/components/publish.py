"""Publishing a finished model folder into a versioned serving directory, atomically.

Model servers (TF Serving, an edge updater) watch the serving directory and load the
newest numeric version folder. A folder must therefore appear complete or not at all:
we copy into a hidden staging folder next to the target, then rename it into place.
On a local or NFS filesystem the rename is atomic. A marker file records which model
artifact a version holds, so pushing the same model again is recognised and skipped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass

from tfx.dsl.io import fileio
from tfx.utils import io_utils

log = logging.getLogger(__name__)

MARKER_FILE = "PUSH_INFO.json"


@dataclass(frozen=True)
class Publication:
    """Where a model now serves from, and whether this call copied it there."""

    path: str
    version: str
    reused: bool


def _versions(serving_root: str) -> list[str]:
    if not fileio.exists(serving_root):
        return []
    return sorted(
        (name.rstrip("/") for name in fileio.listdir(serving_root) if name.rstrip("/").isdigit()),
        key=int,
    )


def find_existing(serving_root: str, source_uri: str) -> Publication | None:
    """The version folder that already holds the model from ``source_uri``, if any."""
    for version in reversed(_versions(serving_root)):
        marker = os.path.join(serving_root, version, MARKER_FILE)
        if fileio.exists(marker):
            info = json.loads(io_utils.read_string_file(marker))
            if info.get("source_uri") == source_uri:
                return Publication(os.path.join(serving_root, version), version, reused=True)
    return None


def _next_version(serving_root: str) -> str:
    """A UNIX-timestamp version, strictly newer than every existing one."""
    existing = _versions(serving_root)
    version = int(time.time())
    if existing:
        version = max(version, int(existing[-1]) + 1)
    return str(version)


def publish_dir(source_dir: str, serving_root: str, source_uri: str, info: dict | None = None,
                last_file: str | None = None) -> Publication:
    """Copies ``source_dir`` to ``serving_root/<version>`` so that it appears whole.

    ``last_file`` (e.g. ``saved_model.pb``) is copied last inside the staging folder,
    for servers that poll for it. Raises on any failure, leaving the serving root as
    it was (a stale staging folder is hidden and ignored by servers).
    """
    existing = find_existing(serving_root, source_uri)
    if existing:
        log.info("model from %s already serving at %s; not copied again", source_uri, existing.path)
        return existing
    fileio.makedirs(serving_root)
    version = _next_version(serving_root)
    staging = os.path.join(serving_root, f".staging-{version}-{os.getpid()}")
    final = os.path.join(serving_root, version)
    try:
        deny = [rf"{last_file}$"] if last_file else []
        io_utils.copy_dir(source_dir, staging, deny_regex_patterns=deny)
        if last_file and fileio.exists(os.path.join(source_dir, last_file)):
            io_utils.copy_file(os.path.join(source_dir, last_file), os.path.join(staging, last_file))
        marker = {"source_uri": source_uri, "version": version, **(info or {})}
        io_utils.write_string_file(os.path.join(staging, MARKER_FILE), json.dumps(marker, indent=2))
        fileio.rename(staging, final)
    except Exception:
        if fileio.exists(staging):
            fileio.rmtree(staging)
        raise
    log.info("published %s as version %s", source_dir, final)
    return Publication(final, version, reused=False)
