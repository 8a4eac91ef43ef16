"""The report page: one HTML file, styles and pictures inline, readable offline."""

from __future__ import annotations

import datetime
import json
import math
from html import escape
from typing import Any

from pipeline.report import plots
from pipeline.report.collect import ReportData

SHOWN_METRICS = ("auc", "binary_accuracy", "precision", "recall", "calibration", "example_count")

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;
color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:2px solid #ddd;padding-bottom:4px;
margin-top:32px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:middle}th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:3px 10px;border-radius:10px;font-weight:bold;color:#fff}
.ok{background:#2e7d32}.bad{background:#c62828}.warn{background:#ef6c00}.muted{color:#666}
.plots{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.plots svg{max-width:100%;height:auto}
.lineage{overflow-x:auto}.lineage svg{height:auto;max-width:none}nav a{margin-right:12px}
.spark{vertical-align:middle}code{background:#f3f5f7;padding:1px 4px}tr.hl td{background:#fdecea}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{int(value):,}"
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, dict | list):
        return escape(json.dumps(value, sort_keys=True))
    return escape(str(value))


def _table(headers: list[str], rows: list[list[Any]], raw: set[int] = frozenset(),
           highlight: set[int] = frozenset()) -> str:
    """A table; ``raw`` columns are HTML already, ``highlight`` rows (indices) are tinted."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for number, row in enumerate(rows):
        cells = []
        for index, cell in enumerate(row):
            numeric = isinstance(cell, int | float) and not isinstance(cell, bool)
            text = str(cell) if index in raw else _fmt(cell)
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append(("<tr class='hl'>" if number in highlight else "<tr>") + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _badge(ok: bool | None, yes: str, no: str) -> str:
    if ok is None:
        return '<span class="badge warn">unknown</span>'
    return f'<span class="badge {"ok" if ok else "bad"}">{escape(yes if ok else no)}</span>'


def _overview(data: ReportData) -> str:
    run = data.run
    pushed = ("–" if data.pushed is None else
              f"{escape(str(data.pushed_destination))}" + (" (already serving; not copied again)"
                                                             if data.push_reused else "")
              if data.pushed else "nothing pushed")
    rows = [
        ["pipeline", escape(str(run.pipeline))],
        ["status", _badge(run.status == "complete", run.status, run.status)],
        ["started / ended", f"{escape(str(run.started))} / {escape(str(run.ended))}"],
        ["duration", f"{run.seconds:.1f} s ({len(run.ran)} ran, {len(run.cached)} from cache)"],
        ["data", f"<code>{_fmt(data.data_source.get('input_base'))}</code> "
                 f"<span class='muted'>{_fmt(data.data_source.get('input_fingerprint'))}</span>"],
        *([["span", escape(f"{run.span}" + (f" version {run.version}" if run.version is not None else "")
                           + (f"; trained on spans {', '.join(str(x) for x in run.window)}"
                              if run.window else ""))]] if run.span else []),
        *([["data gate", _badge(False, "", "BLOCKED: the data gate refused this run's data")]]
          if run.blocked else []),
        *([["drift accepted", escape(run.drift_accepted)]] if run.drift_accepted else []),
        ["model", f"artifact #{data.model_artifact}" if data.model_artifact else "–"],
        ["blessed", _badge(data.blessed, "blessed", "not blessed")],
        ["pushed", pushed],
    ]
    return _table(["", ""], rows, raw={1})


def _timing(data: ReportData) -> str:
    rows = [[c.node_id, c.state, c.execution_id, c.started, f"{c.seconds:.1f}"] for c in data.run.components]
    return _table(["component", "state", "execution", "started", "seconds"], rows)


def _statistics(data: ReportData) -> str:
    if not data.statistics:
        return "<p class='muted'>No statistics were recorded in this run.</p>"
    parts = [f"<p class='muted'>StatisticsGen artifact #{data.statistics_artifact} (TFDV).</p>"]
    for split in data.statistics:
        numeric = [f for f in split.features if f.mean is not None]
        categorical = [f for f in split.features if f.mean is None]
        parts.append(f"<h3>split {escape(split.split)}: {split.num_examples:,} examples</h3>")
        parts.append(_table(
            ["numeric feature", "count", "missing", "mean", "std", "min", "median", "max", "histogram"],
            [[f.name, f.count, f"{f.missing:.1%}", f.mean, f.std, f.min, f.median, f.max,
              plots.sparkline(f.histogram)] for f in numeric], raw={2, 8}))
        parts.append(_table(
            ["categorical feature", "count", "missing", "unique", "top values", "rank histogram"],
            [[f.name, f.count, f"{f.missing:.1%}", f.unique,
              escape(", ".join(f"{v} ({int(n)})" for v, n in f.top_values)), plots.sparkline(f.histogram)]
             for f in categorical], raw={2, 4, 5}))
    return "".join(parts)


def _anomalies(data: ReportData) -> str:
    source = f"ExampleValidator artifact #{data.anomalies_artifact}" if data.anomalies_artifact else "–"
    if data.anomalies_artifact is None:
        return "<p class='muted'>No anomalies artifact in this run.</p>"
    if not data.anomalies:
        return f"<p>{_badge(True, 'no anomalies', '')} against the schema ({escape(source)}).</p>"
    rows = [[a.split, a.feature, a.severity, a.description] for a in data.anomalies]
    return (f"<p>{_badge(False, '', f'{len(data.anomalies)} anomalies')} ({escape(source)})</p>"
            + _table(["split", "feature", "severity", "description"], rows))


def _drift(data: ReportData) -> str:
    drift = data.drift
    if drift is None:
        return "<p class='muted'>No drift report in this run.</p>"
    if drift.failed_execution is not None:
        baseline = (f" Its baseline: <code>{_fmt(drift.baseline_uri)}</code>."
                    if drift.baseline_uri else "")
        return (f"<p>{_badge(False, '', 'not recorded')} Data gate execution #{drift.failed_execution} "
                f"failed before publishing its drift report; the run's error says why (drift or blocking "
                f"anomalies).{baseline}</p>")
    source = f"DataGate artifact #{drift.artifact_id}"
    if drift.reason:
        return (f"<p><span class='badge warn'>not checked</span> {escape(drift.reason)} "
                f"<span class='muted'>({escape(source)})</span>.</p>")
    action = ("a drift fails the run" if drift.action == "block" else
              "a drift is recorded and the run goes on" if drift.action == "warn" else "unknown action")
    drifted = len(drift.drifted) if drift.measurements is not None else drift.findings
    if not drifted:
        badge = _badge(True, "no drift", "")
    elif drift.action == "warn":
        badge = f"<span class='badge warn'>{drifted} drifted (warning)</span>"
    else:
        badge = _badge(False, "", f"{drifted} drifted")
    parts = [f"<p>{badge} checked against the data of the last blessed model: baseline "
             f"<code>{_fmt(drift.baseline_uri)}</code>; action <b>{_fmt(drift.action)}</b> ({action}) "
             f"<span class='muted'>({escape(source)})</span>.</p>"]
    if drift.measurements is None:
        parts.append("<p class='muted'>The measurements could not be read (see below).</p>")
        return "".join(parts)
    rows = sorted(drift.measurements, key=lambda m: (m.feature, m.split))
    bars = [(f"{m.feature} ({m.split})", m.value, m.limit, m.drifted) for m in rows
            if m.limit is not None and math.isfinite(m.value)]
    if bars:
        parts.append(f"<div class='plots'><figure>{plots.drift_plot(bars)}</figure></div>")
    parts.append(_table(
        ["split", "feature", "comparator", "value", "limit", "verdict"],
        [[m.split, m.feature, m.comparator, m.value, m.threshold, _badge(not m.drifted, "ok", "DRIFT")]
         for m in rows],
        raw={5}, highlight={i for i, m in enumerate(rows) if m.drifted}))
    return "".join(parts)


def _slice_order(item: tuple[str, dict[str, float]]) -> tuple[int, int, str]:
    """Numeric slice values (hours) in numeric order, the others alphabetically after them."""
    value = item[0]
    return (0, int(value), "") if value.lstrip("-").isdigit() else (1, 0, value)


def _slice_groups(data: ReportData) -> dict[str, list[tuple[str, dict[str, float]]]]:
    groups: dict[str, list[tuple[str, dict[str, float]]]] = {}
    for name, values in data.metrics_by_slice.items():
        if name == "overall" or "=" not in name:
            continue
        feature, value = name.split("=", 1)
        groups.setdefault(feature, []).append((value, values))
    for rows in groups.values():
        rows.sort(key=_slice_order)
    return groups


def _metrics(data: ReportData) -> str:
    if not data.metrics_by_slice:
        return "<p class='muted'>No evaluation in this run.</p>"
    overall = data.metrics_by_slice.get("overall", {})
    parts = [f"<p class='muted'>Evaluator artifact #{data.evaluation_artifact} (TFMA), eval split.</p>",
             "<h3>overall</h3>",
             _table(list(SHOWN_METRICS), [[overall.get(m) for m in SHOWN_METRICS]])]
    groups = _slice_groups(data)
    pictures = [plots.slice_metrics_plot(feature, rows) for feature, rows in groups.items()]
    if data.calibration:
        pictures.append(plots.calibration_plot(data.calibration))
    parts.append("<div class='plots'>" + "".join(f"<figure>{p}</figure>" for p in pictures) + "</div>")
    for feature, rows in groups.items():
        parts.append(f"<h3>by {escape(feature)}</h3>")
        parts.append(_table([feature, *SHOWN_METRICS],
                            [[value, *(values.get(m) for m in SHOWN_METRICS)] for value, values in rows]))
    return "".join(parts)


def _blessing(data: ReportData) -> str:
    if data.blessed is None:
        return "<p class='muted'>No blessing in this run.</p>"
    baseline = (f"compared with baseline model #{data.baseline_model} (the last blessed model)"
                if data.baseline_model else "no baseline model (no model had been blessed before), so only "
                                            "the absolute bounds apply")
    parts = [f"<p>{_badge(data.blessed, 'BLESSED', 'NOT BLESSED')} "
             f"TFMA validation {'passed' if data.validation_ok else 'failed'}; {escape(baseline)}.</p>"]
    rows = []
    for check in data.checks:
        bounds = []
        if check.lower_bound is not None:
            bounds.append(f"≥ {check.lower_bound:g}")
        if check.upper_bound is not None:
            bounds.append(f"≤ {check.upper_bound:g}")
        change = (f"change ≥ {check.change_bound:g} ({check.direction})"
                  if check.change_bound is not None else "–")
        rows.append([check.metric, check.slice, escape(" and ".join(bounds) or "–"), escape(change),
                     check.value, check.change, _badge(not check.failed, "pass", "FAIL")])
    if rows:
        parts.append(_table(["metric", "slice", "bound", "change vs baseline", "value", "change", "result"],
                            rows, raw={2, 3, 6}))
    return "".join(parts)


def _variants(data: ReportData) -> str:
    if not data.variants:
        return ("<p class='muted'>No TFLite variants recorded in this run. (Any artifact with a "
                "custom property whose name contains 'variant', or a <code>variants.json</code> file, "
                "holding a JSON list of rows is shown here.)</p>")
    parts = []
    for table in data.variants:
        headers = list(dict.fromkeys(k for row in table.rows for k in row))
        parts.append(f"<h3>{escape(table.artifact_type)} #{table.artifact_id} "
                     f"<span class='muted'>({escape(table.source)})</span></h3>")
        parts.append(_table(headers, [[row.get(h) for h in headers] for row in table.rows]))
    return "".join(parts)


def render(data: ReportData, lineage_svg: str | None) -> str:
    """The whole page."""
    sections = [
        ("overview", "Overview", _overview(data)),
        ("timing", "Components and timing", _timing(data)),
        ("statistics", "Data statistics", _statistics(data)),
        ("anomalies", "Anomalies", _anomalies(data)),
        ("drift", "Data drift vs last blessed model", _drift(data)),
        ("metrics", "Evaluation metrics", _metrics(data)),
        ("blessing", "Blessing decision", _blessing(data)),
        ("tflite", "TFLite variants", _variants(data)),
        ("lineage", "Lineage", f"<div class='lineage'>{lineage_svg}</div>" if lineage_svg
         else "<p class='muted'>No lineage picture.</p>"),
    ]
    if data.problems:
        sections.append(("problems", "Could not read", "<ul>" + "".join(
            f"<li>{escape(p)}</li>" for p in data.problems) + "</ul>"))
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{escape(title)}</h2>{html}</section>'
                   for key, title, html in sections)
    generated = datetime.datetime.now().isoformat(timespec="seconds")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Run {escape(data.run.run_id)}</title><style>{CSS}</style></head><body>"
            f"<h1>Pipeline run {escape(data.run.run_id)}</h1>"
            f"<p class='muted'>report generated {generated}</p><nav>{nav}</nav>{body}</body></html>")
