"""Writing a run's report: collect, draw the lineage, render, save."""

from __future__ import annotations

import logging
import os
import re

from pipeline.config import PipelineConfig
from pipeline.lineage import graph
from pipeline.lineage.api import Lineage
from pipeline.report import collect, html

log = logging.getLogger(__name__)


def report_folder(config: PipelineConfig) -> str:
    """Where a profile keeps its reports (``report.folder``, else ``<pipeline_root>/reports``)."""
    return config.report.folder or os.path.join(config.pipeline_root, "reports")


def report_name(run_id: str) -> str:
    """A file name from a run id (ISO timestamps have ':' which some filesystems refuse)."""
    return "run-" + re.sub(r"[^0-9A-Za-z.-]+", "-", run_id) + ".html"


def render_report(lineage: Lineage, run_ref: str) -> tuple[str, str]:
    """(run id, HTML) of one run's report."""
    data = collect.collect(lineage, run_ref)
    try:
        picture = graph.inline_svg(graph.render(graph.run_graph(lineage, data.run.run_id), "svg"))
    except Exception as error:  # noqa: BLE001 - a report without a picture is still a report
        log.warning("report: cannot draw the lineage: %s", error)
        data.problems.append(f"lineage picture: {error}")
        picture = None
    return data.run.run_id, html.render(data, picture)


def write_report(lineage: Lineage, run_ref: str, folder: str | None = None, path: str | None = None) -> str:
    """Writes the report of one run into ``folder`` (or exactly to ``path``); returns the path."""
    run_id, page = render_report(lineage, run_ref)
    target = path or os.path.join(folder or ".", report_name(run_id))
    from tfx.dsl.io import fileio  # lazily: reading MLMD alone does not load TFX

    fileio.makedirs(os.path.dirname(target) or ".")  # any filesystem TFX supports, e.g. gs://
    with fileio.open(target, "w") as handle:
        handle.write(page)
    return target
