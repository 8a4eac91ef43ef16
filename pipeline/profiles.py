"""Environment profiles: one typed :class:`PipelineConfig` per place the pipeline runs.

``local`` is the default: everything under one root folder (pipeline outputs, the
SQLite MLMD file, the serving folder), Beam in-process. Later profiles (``onprem``,
``gke``) are further functions here with the same signature.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.config import (
    DEFAULT_DATA,
    REPO_ROOT,
    CsvSource,
    PipelineConfig,
    SqliteMetadata,
)

PIPELINE_NAME = "taxi-edge"
DEFAULT_LOCAL_ROOT = REPO_ROOT / "outputs"

# The DirectRunner is named explicitly: Beam 2.7x otherwise first tries to download
# its Prism runner binary, which behaves differently with and without a network.
# In-memory mode with one worker is the fastest choice for data that fits a laptop.
LOCAL_BEAM_ARGS = (
    "--runner=DirectRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
)


def local(root: Path | None = None, data: Path | None = None) -> PipelineConfig:
    """Development on a laptop: SQLite MLMD and local folders under ``root``."""
    root = Path(root or DEFAULT_LOCAL_ROOT).resolve()
    return PipelineConfig(
        profile="local",
        pipeline_name=PIPELINE_NAME,
        pipeline_root=str(root / "pipeline"),
        serving_root=str(root / "serving"),
        data=CsvSource(str(Path(data or DEFAULT_DATA).resolve())),
        metadata=SqliteMetadata(str(root / "metadata.sqlite")),
        beam_args=LOCAL_BEAM_ARGS,
    )


PROFILES: dict[str, Callable[..., PipelineConfig]] = {"local": local}


def load_profile(name: str, root: Path | None = None, data: Path | None = None) -> PipelineConfig:
    """Builds the named profile; raises ``ValueError`` naming the known ones."""
    try:
        factory = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {name!r}; known profiles: {known}") from None
    return factory(root=root, data=data)
