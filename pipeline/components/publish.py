"""Publishing a finished model folder into a versioned serving directory, on any filesystem.

Model servers (TF Serving, an edge updater) watch the serving directory and load the newest
numeric version folder. Object stores (gs://, s3://) have no atomic rename (TF's GCS rename
copies and deletes object by object), so completeness is carried by an object written last:

* **The contract.** ``<serving_root>/<version>/PUSH_INFO.json`` (``MARKER_FILE``) is written
  after every other file of the version; a version is complete if and only if it holds it.
  Readers - our own listing (:func:`complete_versions`, :func:`find_existing`), the edge
  updater, any serving tool - ignore numeric folders without it. Inside a version the file a
  loader opens first (``saved_model.pb``, ``model.tflite``) is copied after the rest, so a
  server that does not know the marker (TF Serving) never finds that file before its weights.
* **Local / NFS.** The version is assembled in a hidden staging folder and renamed into place
  (atomic there), so even marker-unaware servers see it whole or not at all.
* **A failed push** deletes what it copied; the previous version keeps serving. A push killed
  before cleaning up leaves a folder without marker, which every reader ignores.
* **Twice the same model** is a no-op: the marker records the model artifact's URI.
* **Racing pushers** coordinate through create-if-absent directories (``os.mkdir`` locally; on
  gs:// an object created with the precondition ``ifGenerationMatch=0`` through
  google-cloud-storage, as TF's gfile cannot express it): one claim per model
  (``.push-claims/<hash of the model URI>``), so two pushers of one model cannot both publish
  it, and one claim per version number (``.version-claims/<version>``), so two pushers of
  different models never write into the same version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass

from tfx.dsl.io import fileio
from tfx.utils import io_utils

log = logging.getLogger(__name__)

MARKER_FILE = "PUSH_INFO.json"
MODEL_CLAIMS = ".push-claims"
VERSION_CLAIMS = ".version-claims"
# How long a pusher waits for another pusher of the same model before giving up.
CLAIM_WAIT_SECONDS = 600.0


class PushInProgress(RuntimeError):
    """Another pusher holds this model's claim and did not finish in time."""


@dataclass(frozen=True)
class Publication:
    """Where a model now serves from, and whether this call copied it there."""

    path: str
    version: str
    reused: bool


def has_atomic_rename(path: str) -> bool:
    """Local and NFS paths rename atomically; URIs with a scheme (gs://, s3://) are object stores."""
    return "://" not in path


def _numeric(folder: str) -> list[int]:
    if not fileio.exists(folder):
        return []
    return sorted(int(name.rstrip("/")) for name in fileio.listdir(folder) if name.rstrip("/").isdigit())


def complete_versions(serving_root: str) -> list[str]:
    """Version folders whose completion marker exists, oldest first: what a reader may load."""
    return [str(v) for v in _numeric(serving_root)
            if fileio.exists(os.path.join(serving_root, str(v), MARKER_FILE))]


def find_existing(serving_root: str, source_uri: str) -> Publication | None:
    """The complete version that already holds the model from ``source_uri``, if any."""
    for version in reversed(complete_versions(serving_root)):
        info = json.loads(io_utils.read_string_file(os.path.join(serving_root, version, MARKER_FILE)))
        if info.get("source_uri") == source_uri:
            return Publication(os.path.join(serving_root, version), version, reused=True)
    return None


def _create_if_absent(path: str) -> bool:
    """True if this call created the directory ``path``; False if it already existed - atomically.

    ``tf.io.gfile.mkdir`` cannot say this: it succeeds silently on an existing directory, locally
    and on GCS (measured with TF 2.16.2). So: ``os.mkdir`` for local paths, and on gs:// an object
    ``<path>/`` (what TF takes for a directory) created with the precondition ``ifGenerationMatch=0``.
    """
    if has_atomic_rename(path):
        try:
            os.mkdir(path)
            return True
        except FileExistsError:
            return False
    if path.startswith("gs://"):
        from google.api_core import exceptions
        from google.cloud import storage

        bucket, _, name = path[len("gs://"):].partition("/")
        blob = storage.Client().bucket(bucket).blob(name.rstrip("/") + "/")
        try:
            blob.upload_from_string(b"", if_generation_match=0)
            return True
        except exceptions.PreconditionFailed:
            return False
    log.warning("no create-if-absent on %s: concurrent pushes there are not race-safe", path)
    if fileio.exists(path):
        return False
    fileio.makedirs(path)
    return True


def _claim_version(serving_root: str) -> str:
    """A UNIX-timestamp version, newer than every version or claim, claimed for this pusher alone."""
    claims = os.path.join(serving_root, VERSION_CLAIMS)
    fileio.makedirs(claims)
    taken = _numeric(serving_root) + _numeric(claims)
    version = max([int(time.time())] + [v + 1 for v in taken])
    while not _create_if_absent(os.path.join(claims, str(version))) or fileio.exists(
            os.path.join(serving_root, str(version))):
        version += 1
    return str(version)


def _copy_version(source_dir: str, target: str, marker: dict, last_file: str | None) -> None:
    """Copies the files, then ``last_file``, then the completion marker: the contract's order."""
    deny = [rf"{last_file}$"] if last_file else []
    io_utils.copy_dir(source_dir, target, deny_regex_patterns=deny)
    if last_file and fileio.exists(os.path.join(source_dir, last_file)):
        io_utils.copy_file(os.path.join(source_dir, last_file), os.path.join(target, last_file))
    io_utils.write_string_file(os.path.join(target, MARKER_FILE), json.dumps(marker, indent=2))


def _publish_claimed(source_dir: str, serving_root: str, source_uri: str, info: dict | None,
                     last_file: str | None) -> Publication:
    version = _claim_version(serving_root)
    final = os.path.join(serving_root, version)
    marker = {"source_uri": source_uri, "version": version, **(info or {})}
    written = os.path.join(serving_root, f".staging-{version}-{uuid.uuid4().hex[:8]}")
    if not has_atomic_rename(serving_root):
        written = final  # no rename to hide behind: the marker written last is the commit
    try:
        _copy_version(source_dir, written, marker, last_file)
        if written != final:
            fileio.rename(written, final)
    except BaseException:
        if fileio.exists(written):
            fileio.rmtree(written)
        raise
    log.info("published %s as version %s", source_dir, final)
    return Publication(final, version, reused=False)


def _await_other_pusher(serving_root: str, source_uri: str, claim: str) -> Publication | None:
    """Waits while another pusher holds this model's claim: its publication, or None if it gave up."""
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while time.monotonic() < deadline:
        existing = find_existing(serving_root, source_uri)
        if existing:
            return existing
        if not fileio.exists(claim):
            return None
        time.sleep(0.5)
    raise PushInProgress(f"another push of {source_uri} holds {claim} for over {CLAIM_WAIT_SECONDS:.0f} s; "
                         "if no pusher is running, delete that claim and retry")


def publish_dir(source_dir: str, serving_root: str, source_uri: str, info: dict | None = None,
                last_file: str | None = None) -> Publication:
    """Copies ``source_dir`` to ``serving_root/<version>`` under the contract in the module docstring.

    ``last_file`` (e.g. ``saved_model.pb``) is copied after the other files of the version.
    Raises on any failure, leaving no complete new version and the previous one serving.
    """
    claims = os.path.join(serving_root, MODEL_CLAIMS)
    claim = os.path.join(claims, hashlib.sha256(source_uri.encode()).hexdigest()[:32])
    for _ in range(3):  # a claim released by a failed pusher is retried
        existing = find_existing(serving_root, source_uri)
        if existing:
            log.info("model from %s already serving at %s; not copied again", source_uri, existing.path)
            return existing
        fileio.makedirs(claims)
        if not _create_if_absent(claim):
            existing = _await_other_pusher(serving_root, source_uri, claim)
            if existing:
                log.info("model from %s was published by another pusher at %s", source_uri, existing.path)
                return existing
            continue
        try:
            # Re-checked under the claim: a pusher may have finished between the check and the claim.
            return find_existing(serving_root, source_uri) or _publish_claimed(
                source_dir, serving_root, source_uri, info, last_file)
        finally:
            fileio.rmtree(claim)
    raise PushInProgress(f"could not claim the push of {source_uri} under {claims}")
