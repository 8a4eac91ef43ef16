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
    ReportConfig,
    SqliteMetadata,
)

PIPELINE_NAME = "taxi-edge"
DEFAULT_LOCAL_ROOT = REPO_ROOT / "outputs"

# Beam's local runner is named explicitly. In Beam 2.72 even "--runner=DirectRunner"
# first tries to download the Prism runner binary (and falls back when offline), so
# behaviour would depend on the network; FnApiRunner is the engine DirectRunner falls
# back to for batch work, named directly, so nothing is ever downloaded.
# TFX builds a source package of itself for every Beam step unless the arguments say
# where workers get their code; local workers share this Python environment, so we
# say so with a worker-image name that nothing local ever pulls.
LOCAL_WORKER_DEPENDENCIES = "--sdk_container_image=local-workers-share-this-environment"
LOCAL_BEAM_ARGS = (
    "--runner=FnApiRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
    LOCAL_WORKER_DEPENDENCIES,
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
        report=ReportConfig(folder=str(root / "reports")),
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
