"""The local runner's compiled pipeline, kept between runs while nothing it depends on changes.

Compiling means building the pipeline in Python: importing ``tfx.v1`` (every component and
every extension, Google Cloud's AI Platform client among them) and our components, then
TFX's compiler. On a rerun through TFX's cache (``--force``) that was about half of the
run. The result is a plain proto (TFX's IR), so it is kept beside the up-to-date record
and reused while :func:`~pipeline.runners.local.up_to_date.code_fingerprint` (the
configuration, every file under ``models/`` and ``pipeline/``, the lock file and the
installed distributions) is unchanged. The data is not part of the key: the IR names the
data folder, and CsvExampleGen fingerprints its files when it runs.

Anything unreadable (missing, truncated, another key) means compiling again; the file is
replaced atomically, so a crashed or concurrent writer never leaves half an IR behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from tfx.proto.orchestration import pipeline_pb2

from pipeline.config import PipelineConfig
from pipeline.runners.local import up_to_date

log = logging.getLogger(__name__)

FILE_NAME = "compiled_pipeline.pb"
_SEPARATOR = b"\n"


def cache_path(config: PipelineConfig) -> Path:
    """Beside the up-to-date record: another output root, another compiled pipeline."""
    return up_to_date.record_path(config).parent / FILE_NAME


def compiled_pipeline(config: PipelineConfig) -> pipeline_pb2.Pipeline:
    """The pipeline for ``config`` as IR (see :func:`pipeline.runners.ir.compile_pipeline`),
    compiled only if the kept one was compiled from other code, configuration or packages."""
    key = up_to_date.code_fingerprint(config).encode()
    path = cache_path(config)
    kept = _read(path, key)
    if kept is not None:
        log.info("compiled pipeline reused from %s", path)
        return kept
    from pipeline.pipeline import create_pipeline
    from pipeline.runners import ir

    compiled = ir.compile_pipeline(create_pipeline(config))
    _write(path, key, compiled)
    return compiled


def _read(path: Path, key: bytes) -> pipeline_pb2.Pipeline | None:
    try:
        stored_key, _, body = path.read_bytes().partition(_SEPARATOR)
    except OSError:
        return None
    if stored_key != key:
        return None
    compiled = pipeline_pb2.Pipeline()
    try:
        compiled.ParseFromString(body)
    except Exception:  # noqa: BLE001 - protobuf's DecodeError differs between its implementations
        log.warning("compiled pipeline %s is unreadable: compiling again", path)
        return None
    return compiled if compiled.nodes else None


def _write(path: Path, key: bytes, compiled: pipeline_pb2.Pipeline) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(key + _SEPARATOR + compiled.SerializeToString())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
