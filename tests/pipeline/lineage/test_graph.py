"""The lineage picture: layout order and real SVG/PNG output."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import SqliteMetadata
from pipeline.lineage import graph
from pipeline.lineage.api import Lineage
from pipeline.metadata.read_only import open_read_only
from tests.support.mlmd_builder import two_run_store


def test_layers_follow_the_lineage_left_to_right():
    g = graph.Graph()
    for name in "abcd":
        g.add(graph.Node(name, name, "artifact", "#fff"))
    g.link("a", "b")
    g.link("b", "c")
    g.link("a", "c")
    g.link("d", "c")
    places = graph.layout(g)
    assert places["a"][0] == 0 and places["b"][0] == 1 and places["c"][0] == 2 and places["d"][0] == 0


def test_run_and_trace_pictures_render(tmp_path):
    ids = two_run_store(tmp_path / "m.sqlite")
    lineage = Lineage(open_read_only(SqliteMetadata(str(tmp_path / "m.sqlite"))))
    run = graph.run_graph(lineage, ids["runs"][0])
    expected = {f"e{ids['gen']}", f"a{ids['examples']}", "s:/data/taxi", "d:/srv/serving/17"}
    assert expected <= set(run.nodes)
    svg = graph.render(run, "svg").decode()
    assert "CsvExampleGen" in svg and "PushedModel" in svg
    trace = lineage.trace(str(ids["pushed"]))
    png = graph.write(graph.trace_graph(lineage, trace), str(tmp_path / "t.png"), title="t")
    assert Path(png).read_bytes()[:4] == b"\x89PNG"
