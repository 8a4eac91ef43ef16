"""Skip a run whose inputs are all unchanged since the last successful run.

Rerunning an unchanged pipeline through TFX's cache already retrains nothing, but it
still costs the import of TensorFlow and TFX (15-20 s) plus one launcher round per
node. Like ``make``, the CLI first compares a fingerprint of everything a run depends
on with the one stored after the last successful run, using only the standard
library. Anything that differs, or any doubt (no record, a missing store or pushed
model), means a real run. ``--force`` always runs the pipeline.

What the fingerprint covers: the whole configuration profile, every input data file's
name and content (a rewrite that keeps size and modification time still counts; a
file whose size, times and inode are unchanged is not read again), the schema file,
every file under ``models/`` and ``pipeline/`` (sources, and data files such as
``edge_requirements.txt`` that runs copy into their outputs), the dependency lock file
and the installed distributions. It is taken before the run, so whatever changes
while a run goes on makes the next run a real one.

Never "up to date": a BigQuery source (the table can change without any local sign),
and an environment whose installed versions differ from ``uv.lock`` (``uv sync`` was
not run after the lock changed, or a package was installed by hand).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import logging
import re
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

from pipeline.config import REPO_ROOT, CsvSource, PipelineConfig, SqliteMetadata

log = logging.getLogger(__name__)

RECORD_NAME = "last_successful_run.json"
DIGESTS_NAME = "data_digests.json"
SOURCE_PACKAGES = ("models", "pipeline")
LOCK_FILE = REPO_ROOT / "uv.lock"


def _hash_file(path: Path, digest: Any) -> None:
    digest.update(str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path).encode())
    digest.update(path.read_bytes())


def _content_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "blake2b").hexdigest()


def _data_signature(config: PipelineConfig) -> list[list[Any]] | None:
    """Name, size, mtime (what CsvExampleGen's fingerprint sees) and content digest of every data file.

    Digests are reused while a file's stat is unchanged, so unchanged data is not read.
    The stat key includes the inode change time, which any write updates and which,
    unlike the modification time, a program cannot set back: a rewrite that restores
    size and mtime is read again and caught by its content.
    """
    if not isinstance(config.data, CsvSource):
        return None
    folder = Path(config.data.path)
    cache_path = record_path(config).parent / DIGESTS_NAME
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    signature, fresh = [], {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}|{stat.st_ino}"
        fresh[key] = cache.get(key) or _content_digest(path)
        signature.append([str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns, fresh[key]])
    if fresh != cache and cache_path.parent.is_dir():
        cache_path.write_text(json.dumps(fresh))
    return signature


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, str]:
    """Distributions installed in this environment's site-packages.

    Only there: importing TensorFlow imports setuptools (through ``distutils``), which appends
    its ``_vendor`` folder, with the dist-info of its own vendored copies (importlib-metadata,
    zipp, ...), to ``sys.path``; those are not what uv installed and would read as mismatches.
    Read once per process while the folders are unchanged (installing, removing or upgrading
    a distribution adds or renames its ``.dist-info`` folder, which changes the folder's
    modification time): a run asks several times, and each read opens every ``METADATA``.
    """
    folders = tuple(sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}))
    return dict(_installed_in(folders, tuple(_mtime_ns(folder) for folder in folders)))


def _mtime_ns(folder: str) -> int | None:
    try:
        return Path(folder).stat().st_mtime_ns
    except OSError:
        return None


@functools.lru_cache(maxsize=4)
def _installed_in(folders: tuple[str, ...], mtimes: tuple[int | None, ...]) -> tuple[tuple[str, str], ...]:
    """``mtimes`` is only the cache key: the folders' state the answer belongs to."""
    return tuple(sorted((_normalised(d.metadata["Name"]), d.version)
                        for d in importlib.metadata.distributions(path=list(folders)) if d.metadata["Name"]))


def environment_mismatches(lock_path: Path | None = None) -> list[str]:
    """Installed distributions whose version is not the one ``uv.lock`` pins, as ``name a != b``.

    Packages the lock does not list, or lists without a version (the project itself),
    are not judged; nor are locked packages that are absent (markers and extras decide
    those, and a missing import fails the run loudly anyway).
    """
    lock_path = lock_path or LOCK_FILE
    if not lock_path.is_file():
        return [f"no lock file {lock_path}"]
    locked: dict[str, set[str]] = {}
    for package in tomllib.loads(lock_path.read_text()).get("package", []):
        if "version" in package:
            locked.setdefault(_normalised(package["name"]), set()).add(package["version"])
    return sorted(f"{name} {version} != {' or '.join(sorted(locked[name]))}"
                  for name, version in _installed().items()
                  if name in locked and version not in locked[name])


def code_fingerprint(config: PipelineConfig) -> str:
    """A digest of everything the compiled pipeline can depend on: the configuration, every
    file under ``models/`` and ``pipeline/``, the lock file and the installed distributions."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dataclasses.asdict(config), sort_keys=True, default=str).encode())
    for package in SOURCE_PACKAGES:
        for source in sorted((REPO_ROOT / package).rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts and source.suffix != ".pyc":
                _hash_file(source, digest)
    if LOCK_FILE.is_file():
        _hash_file(LOCK_FILE, digest)
    digest.update(json.dumps(sorted(_installed().items())).encode())
    return digest.hexdigest()


def fingerprint(config: PipelineConfig) -> str:
    """A digest of everything that can change a run's outcome: :func:`code_fingerprint`, the
    data and the schema."""
    digest = hashlib.sha256()
    digest.update(code_fingerprint(config).encode())
    digest.update(json.dumps(_data_signature(config)).encode())
    _hash_file(Path(config.schema_path), digest)
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
    if not path.is_file() or not isinstance(config.data, CsvSource):
        return None
    mismatches = environment_mismatches()
    if mismatches:
        log.warning("installed packages differ from uv.lock (%s): running", "; ".join(mismatches[:5]))
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
