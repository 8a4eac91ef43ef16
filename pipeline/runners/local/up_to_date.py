"""Skip a run whose inputs are all unchanged since the last successful run.

Rerunning an unchanged pipeline through TFX's cache already retrains nothing, but it
still costs the import of TensorFlow and TFX (15-20 s) plus one launcher round per
node. Like ``make``, the CLI first compares a fingerprint of everything a run depends
on with the one stored after the last successful run, using only the standard
library. Anything that differs, or any doubt (no record, a missing store or pushed
model), means a real run. ``--force`` always runs the pipeline.

What the fingerprint covers: the whole configuration profile, every input data file
(name, size, modification time: the same signals CsvExampleGen's own input
fingerprint uses), the schema file's content, the project's Python sources
(``models/`` and ``pipeline/``) and the dependency lock file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from pipeline.config import REPO_ROOT, CsvSource, PipelineConfig, SqliteMetadata

log = logging.getLogger(__name__)

RECORD_NAME = "last_successful_run.json"
SOURCE_PACKAGES = ("models", "pipeline")


def _hash_file(path: Path, digest: Any) -> None:
    digest.update(str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path).encode())
    digest.update(path.read_bytes())


def _data_signature(config: PipelineConfig) -> list[list[Any]] | None:
    if not isinstance(config.data, CsvSource):
        return None
    folder = Path(config.data.path)
    return [
        [str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def fingerprint(config: PipelineConfig) -> str:
    """A digest of everything that can change a run's outcome."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dataclasses.asdict(config), sort_keys=True, default=str).encode())
    digest.update(json.dumps(_data_signature(config)).encode())
    _hash_file(Path(config.schema_path), digest)
    for package in SOURCE_PACKAGES:
        for source in sorted((REPO_ROOT / package).rglob("*.py")):
            _hash_file(source, digest)
    lock = REPO_ROOT / "uv.lock"
    if lock.is_file():
        _hash_file(lock, digest)
    return digest.hexdigest()


def record_path(config: PipelineConfig) -> Path:
    """The record lives beside the pipeline root, so another root means another record."""
    return Path(config.pipeline_root).parent / RECORD_NAME


def save_record(config: PipelineConfig, taken_before: str, run_id: str, summary_text: str,
                pushed: str | None) -> None:
    """Called after a successful run only, with the fingerprint taken before it started."""
    record = {
        "fingerprint": taken_before,
        "run_id": run_id,
        "summary": summary_text,
        "pushed_destination": pushed,
    }
    path = record_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))


def forget(config: PipelineConfig) -> None:
    """Drops the record (after a failed run nothing may be skipped)."""
    record_path(config).unlink(missing_ok=True)


def unchanged_run(config: PipelineConfig, current: str | None = None) -> dict[str, Any] | None:
    """The last successful run's record if nothing changed since, else None.

    ``current`` is this moment's :func:`fingerprint` (computed here when not given).
    """
    path = record_path(config)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return None
    if isinstance(config.metadata, SqliteMetadata) and not Path(config.metadata.path).is_file():
        return None
    pushed = record.get("pushed_destination")
    if pushed and not Path(pushed).exists():
        return None
    if record.get("fingerprint") != (current or fingerprint(config)):
        return None
    return record
