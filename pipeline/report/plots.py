"""Report plots as inline SVG (matplotlib, Agg): metrics by slice, calibration and drift."""

from __future__ import annotations

import io

from pipeline.lineage.graph import inline_svg


def _svg(figure) -> str:  # noqa: ANN001
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    return inline_svg(buffer.getvalue())


def _pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    return plt


def slice_metrics_plot(feature: str, rows: list[tuple[str, dict[str, float]]],
                       metrics: tuple[str, ...] = ("auc", "binary_accuracy")) -> str:
    """Grouped bars of some metrics per value of one slice feature, with example counts."""
    plt = _pyplot()
    labels = [value for value, _ in rows]
    figure, axes = plt.subplots(figsize=(max(5.0, 0.45 * len(rows) + 2), 2.8))
    width = 0.8 / len(metrics)
    for index, metric in enumerate(metrics):
        xs = [i + (index - (len(metrics) - 1) / 2) * width for i in range(len(rows))]
        axes.bar(xs, [values.get(metric, 0.0) for _, values in rows], width=width, label=metric)
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels([f"{label}\nn={int(values.get('example_count', 0))}"
                          for label, (_, values) in zip(labels, rows, strict=True)], fontsize=7)
    axes.set_ylim(0, 1.05)
    axes.set_title(f"metrics by {feature}", fontsize=10)
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(axis="y", alpha=0.3)
    return _svg(figure)


def calibration_plot(points: list[tuple[float, float, float]]) -> str:
    """Mean label against mean prediction per decile: on the diagonal is well calibrated."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(3.6, 3.2))
    axes.plot([0, 1], [0, 1], linestyle="--", color="#999999", lw=1, label="perfect")
    axes.plot([p for p, _, _ in points], [label for _, label, _ in points], marker="o", label="model")
    axes.set_xlabel("mean prediction", fontsize=8)
    axes.set_ylabel("fraction big tippers", fontsize=8)
    axes.set_title("calibration (eval split, deciles)", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _svg(figure)


def sparkline(values: list[float], width: int = 120, height: int = 22) -> str:
    """A tiny histogram as hand-written SVG (dozens per page, so no matplotlib here)."""
    if not values or max(values) <= 0:
        return ""
    top = max(values)
    bar = width / len(values)
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - v / top * height:.1f}" width="{max(bar - 1, 0.5):.1f}" '
        f'height="{v / top * height:.1f}"/>'
        for i, v in enumerate(values)
    )
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<g fill="#5c8dd6">{rects}</g></svg>')


def drift_plot(bars: list[tuple[str, float, float, bool]]) -> str:
    """(label, distance, limit, drifted) per feature and split: bars with their limits as ticks."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(4.0, 0.6 * len(bars) + 1.5), 2.8))
    for drifted, colour, label in ((False, "C0", "within limit"), (True, "#c62828", "drifted")):
        chosen = [(i, value) for i, (_, value, _, flag) in enumerate(bars) if flag is drifted]
        if chosen:
            axes.bar([i for i, _ in chosen], [value for _, value in chosen], width=0.6, color=colour,
                     label=label)
    axes.hlines([limit for _, _, limit, _ in bars], [i - 0.4 for i in range(len(bars))],
                [i + 0.4 for i in range(len(bars))], colors="#222222", linestyles="--", lw=1, label="limit")
    axes.set_xticks(range(len(bars)))
    axes.set_xticklabels([label for label, _, _, _ in bars], fontsize=7, rotation=30, ha="right")
    axes.set_ylim(0, 1.15 * max(max(value, limit) for _, value, limit, _ in bars))
    axes.set_ylabel("distance", fontsize=8)
    axes.set_title("drift vs the last blessed model's data", fontsize=10)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes.grid(axis="y", alpha=0.3)
    return _svg(figure)
