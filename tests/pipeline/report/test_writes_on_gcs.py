"""The run report and the lineage picture are written where the user says, gs:// included.

With local file APIs a gs:// target silently became a local folder named ``gs:``; the
rendering itself is covered elsewhere, so it is replaced by fixed content here.
"""

from __future__ import annotations

from pathlib import Path

from tfx.dsl.io import fileio

from pipeline.lineage import graph
from pipeline.report import build


def test_the_report_and_the_picture_land_on_gs_and_nothing_local(gcs, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(build, "render_report", lambda lineage, run_ref: ("run-1", "<html>report</html>"))
    monkeypatch.setattr(graph, "render", lambda g, fmt, title=None: b"<svg>picture</svg>")
    bucket = gcs.create_bucket("reports")

    report = build.write_report(None, "run-1", path=f"{bucket}/runs/run-1.html")
    picture = graph.write(None, f"{bucket}/runs/run-1.svg")

    with fileio.open(report, "r") as handle:
        assert handle.read() == "<html>report</html>"
    with fileio.open(picture, "rb") as handle:
        assert handle.read() == b"<svg>picture</svg>"
    assert list(tmp_path.iterdir()) == []
