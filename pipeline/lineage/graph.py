"""The lineage picture: executions and artifacts as a left-to-right graph, in SVG or PNG.

Drawn with matplotlib (a plain Python wheel) rather than Graphviz: the picture is made
at the end of every run, on laptops, Airflow workers and pipeline images alike, and
must not depend on a system binary being installed there. The graphs are small (a
run has about ten executions), so a simple layered layout is enough: layers by
longest path from the sources, order inside a layer by the barycentre of neighbours.
"""

from __future__ import annotations

import io
import os
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.lineage.api import Lineage, Step, Trace, is_reference_input
from pipeline.metadata import queries as q

FORMATS = ("svg", "png")

_FILL = {
    "complete": "#c8e6c9",
    "cached": "#e0e0e0",
    "failed": "#ffcdd2",
    "running": "#fff9c4",
    "artifact": "#e3f2fd",
    "target": "#bbdefb",
    "source": "#ffe0b2",
}


@dataclass
class Node:
    id: str
    label: str
    kind: str  # execution | artifact | source
    fill: str


@dataclass
class Graph:
    """Nodes and directed edges (edge style 'solid' for lineage, 'dashed' for a baseline)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def link(self, source: str, target: str, style: str = "solid") -> None:
        if (source, target, style) not in self.edges:
            self.edges.append((source, target, style))


def _short_path(path: str) -> str:
    parts = path.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else path


def _add_step(graph: Graph, lineage: Lineage, step: Step, keep_outputs: set[int] | None,
              target: int | None = None) -> None:
    e = graph.add(Node(f"e{step.execution_id}", f"{step.node_id}\n#{step.execution_id} {step.state}",
                       "execution", _FILL.get(step.state, _FILL["running"])))
    for key, ids in step.inputs.items():
        for artifact_id in ids:
            a = _artifact_node(graph, lineage, artifact_id, target)
            graph.link(a, e, "dashed" if is_reference_input(key) else "solid")
    for ids in step.outputs.values():
        for artifact_id in ids:
            if keep_outputs is None or artifact_id in keep_outputs:
                graph.link(e, _artifact_node(graph, lineage, artifact_id, target))
    for name in ("input_base", "schema_file"):
        value = step.properties.get(name)
        if isinstance(value, str) and value:
            s = graph.add(Node(f"s:{value}", f"{'data' if name == 'input_base' else 'schema file'}\n"
                               f"{_short_path(value)}", "source", _FILL["source"]))
            graph.link(s, e)


def _artifact_node(graph: Graph, lineage: Lineage, artifact_id: int, target: int | None) -> str:
    node_id = f"a{artifact_id}"
    if node_id not in graph.nodes:
        artifact = lineage.artifact(artifact_id)
        fill = _FILL["target"] if artifact_id == target else _FILL["artifact"]
        graph.add(Node(node_id, f"{artifact.type}\n#{artifact_id}", "artifact", fill))
        destination = q.property_value(artifact, "pushed_destination")
        if isinstance(destination, str) and destination:
            d = graph.add(Node(f"d:{destination}", f"serving\n{_short_path(destination)}", "source",
                               _FILL["source"]))
            graph.link(node_id, d)
    return node_id


def run_graph(lineage: Lineage, run_ref: str) -> Graph:
    """Every execution of one run with what it read and wrote (cached ones in grey)."""
    graph = Graph()
    for _, execution in sorted(lineage.run_executions(run_ref).items(), key=lambda item: item[1].id):
        _add_step(graph, lineage, lineage.step(execution, []), keep_outputs=None)
    return graph


def trace_graph(lineage: Lineage, trace: Trace) -> Graph:
    """The traced path: real producers back to the data, then evaluations and pushes."""
    graph = Graph()
    on_path = set(trace.artifacts)
    for step in trace.steps:
        _add_step(graph, lineage, step, keep_outputs=on_path, target=trace.target.id)
    for step in trace.forward_steps:
        _add_step(graph, lineage, step, keep_outputs=None, target=trace.target.id)
    return graph


# --- layout ----------------------------------------------------------------------------------


def _layers(graph: Graph) -> dict[str, int]:
    preds: dict[str, list[str]] = defaultdict(list)
    for source, target, _ in graph.edges:
        preds[target].append(source)
    layer: dict[str, int] = {}

    def depth(node: str, visiting: frozenset[str] = frozenset()) -> int:
        if node not in layer:
            parents = [p for p in preds[node] if p not in visiting]
            layer[node] = 1 + max((depth(p, visiting | {node}) for p in parents), default=-1)
        return layer[node]

    for node in graph.nodes:
        depth(node)
    return layer


def layout(graph: Graph) -> dict[str, tuple[int, int]]:
    """(layer, position in layer) per node; positions reduce crossings by barycentres."""
    layer = _layers(graph)
    columns: dict[int, list[str]] = defaultdict(list)
    for node in graph.nodes:
        columns[layer[node]].append(node)
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for source, target, _ in graph.edges:
        preds[target].append(source)
        succs[source].append(target)

    def positions() -> dict[str, float]:
        return {n: i for column in columns.values() for i, n in enumerate(column)}

    for sweep in range(6):
        order = sorted(columns) if sweep % 2 == 0 else sorted(columns, reverse=True)
        for index in order:
            pos = positions()
            neighbours = preds if sweep % 2 == 0 else succs

            def centre(n: str, pos: dict[str, float] = pos, neighbours: dict = neighbours) -> float:
                around = [pos[m] for m in neighbours[n] if m in pos]
                return sum(around) / len(around) if around else pos[n]

            columns[index].sort(key=centre)
    pos = positions()
    return {n: (layer[n], int(pos[n])) for n in graph.nodes}


# --- drawing ---------------------------------------------------------------------------------

_CHAR_W = 0.072  # inches per character at 8 pt
_LINE_H = 0.16
_GAP_X = 0.45
_GAP_Y = 0.22


def _box(node: Node) -> tuple[float, float]:
    lines = node.label.split("\n")
    return max(len(line) for line in lines) * _CHAR_W + 0.25, len(lines) * _LINE_H + 0.14


def render(graph: Graph, fmt: str = "svg", title: str | None = None) -> bytes:
    """The picture as SVG or PNG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported picture format {fmt!r}; use one of {', '.join(FORMATS)}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    places = layout(graph)
    sizes = {n: _box(node) for n, node in graph.nodes.items()}
    layers = sorted({layer for layer, _ in places.values()}) or [0]
    widths = {layer: max((sizes[n][0] for n, (lay, _) in places.items() if lay == layer), default=1.0)
              for layer in layers}
    heights = {layer: sum(sizes[n][1] + _GAP_Y for n, (lay, _) in places.items() if lay == layer)
               for layer in layers}
    top_margin = 0.45 if title else 0.2
    total_w = sum(widths.values()) + _GAP_X * (len(layers) + 1)
    total_h = max(heights.values(), default=1.0) + top_margin + 0.2
    x_of, x = {}, _GAP_X
    for layer in layers:
        x_of[layer] = x + widths[layer] / 2
        x += widths[layer] + _GAP_X
    centre: dict[str, tuple[float, float]] = {}
    for layer in layers:
        members = sorted((n for n, (lay, _) in places.items() if lay == layer), key=lambda n: places[n][1])
        y = (total_h - top_margin - heights[layer]) / 2 + heights[layer] + 0.1
        for n in members:
            h = sizes[n][1]
            centre[n] = (x_of[layer], y - h / 2 - _GAP_Y / 2)
            y -= h + _GAP_Y

    plt.rcParams["svg.fonttype"] = "none"
    figure = plt.figure(figsize=(total_w, total_h))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, total_w)
    axes.set_ylim(0, total_h)
    axes.axis("off")
    if title:
        axes.text(0.15, total_h - 0.25, title, fontsize=10, fontweight="bold", va="center")
    for source, target, style in graph.edges:
        (x1, y1), (x2, y2) = centre[source], centre[target]
        start = (x1 + sizes[source][0] / 2, y1)
        end = (x2 - sizes[target][0] / 2, y2)
        axes.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=0.8,
                                       color="#555555", linestyle="--" if style == "dashed" else "-",
                                       shrinkA=0, shrinkB=1))
    for n, node in graph.nodes.items():
        (cx, cy), (w, h) = centre[n], sizes[n]
        style = "round,pad=0.02,rounding_size=0.12" if node.kind != "execution" else "square,pad=0.02"
        axes.add_patch(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle=style, fc=node.fill,
                                      ec="#37474f", lw=1.1 if node.kind == "execution" else 0.7))
        axes.text(cx, cy, node.label, ha="center", va="center", fontsize=8, family="DejaVu Sans",
                  fontweight="bold" if node.kind == "execution" else "normal")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def inline_svg(svg: bytes) -> str:
    """SVG bytes as markup to embed in HTML (without the XML prologue and doctype)."""
    text = svg.decode("utf-8")
    return text[text.index("<svg"):]


def write(graph: Graph, path: str, title: str | None = None) -> str:
    """Writes the picture; the format follows the file extension (.svg or .png)."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"picture file must end in .svg or .png, not {path!r}")
    data = render(graph, fmt, title)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path
