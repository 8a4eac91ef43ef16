"""Data spans: the folder layout a data team drops data into, and which span a run reads.

A CSV source is one folder. Its layout says how that folder is cut into spans
(TFX's unit of "one delivery of data"):

* ``single``: every CSV file in the folder is one span (the shipped sample);
* ``date``: one sub-folder per day, ``<folder>/YYYY-MM-DD/*.csv``. TFX numbers a
  date span by days since 1970-01-01, so 2024-01-05 is span 19727;
* ``span``: one sub-folder per numbered span, ``<folder>/span-N/*.csv``.

ExampleGen reads one span per run, through TFX's own ``input_config`` patterns
(``{YYYY}-{MM}-{DD}`` / ``{SPAN}``) and a ``RangeConfig``. Which span is a runtime
parameter of the compiled pipeline (:data:`SPAN_RANGE_PARAMETER`): a ``RangeConfig``
as JSON, by default a rolling range of one span (the newest present; TFX's driver
finds it), otherwise a static range naming one span. The CLI fills it from
``--span``/``--date``, the Airflow DAG from the run's logical date, a Kubeflow run
from the pipeline parameter of the same name.

This module imports nothing heavy: the CLI and the scheduler side use it.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

LAYOUTS = ("single", "date", "span")
SPAN_RANGE_PARAMETER = "span_range"
# TFX's ExampleGen split name when the input is one split cut into train/eval by hash.
INPUT_SPLIT = "single_split"
EPOCH = datetime.date(1970, 1, 1)
# The newest span, spelled as TFX's own default for a span pattern (a rolling range of one).
# Not '': the Kubeflow v2 compiler drops an empty default, and a KFP run would then have to
# be given the parameter.
NEWEST = '{"rollingRange": {"numSpans": 1}}'

_PATTERNS = {"date": "{YYYY}-{MM}-{DD}/*", "span": "span-{SPAN}/*"}
_FOLDER = {"date": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "span": re.compile(r"^span-(\d+)$")}


class SpanNotFound(ValueError):
    """The run asks for a span whose folder is not there (or the source has no span at all)."""


def input_pattern(layout: str) -> str:
    """The ExampleGen input pattern (relative to the source folder) for a spanned layout."""
    try:
        return _PATTERNS[layout]
    except KeyError:
        raise ValueError(f"layout {layout!r} has no span pattern; spanned: {sorted(_PATTERNS)}") from None


def date_to_span(day: datetime.date) -> int:
    """TFX's span number of a date (days since 1970-01-01, as ExampleGen's ``{YYYY}-{MM}-{DD}``)."""
    return (day - EPOCH).days


def span_to_date(span: int) -> datetime.date:
    return EPOCH + datetime.timedelta(days=span)


def parse_date(text: str) -> datetime.date:
    """``YYYY-MM-DD`` (an Airflow ``ds``), or a clear ``ValueError``."""
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None


def folder_name(layout: str, span: int) -> str:
    """The sub-folder that holds ``span`` in ``layout``."""
    if layout == "date":
        return span_to_date(span).isoformat()
    if layout == "span":
        return f"span-{span}"
    raise ValueError(f"layout {layout!r} has no span folders")


def span_label(layout: str, span: int | None) -> str:
    """How people name a span: its date in the date layout, else its number."""
    if span is None:
        return "-"
    return f"{span_to_date(span).isoformat()} (span {span})" if layout == "date" else f"span {span}"


def available_spans(path: str | Path, layout: str) -> list[int]:
    """The spans with a folder holding at least one CSV file, ascending (local folders only)."""
    folder = Path(path)
    spans = []
    if not folder.is_dir():
        return spans
    for child in folder.iterdir():
        match = _FOLDER[layout].match(child.name)
        if not match or not child.is_dir() or not any(child.glob("*.csv")):
            continue
        if layout == "date":
            try:
                spans.append(date_to_span(datetime.date(*(int(g) for g in match.groups()))))
            except ValueError:
                continue
        else:
            spans.append(int(match.group(1)))
    return sorted(spans)


def detect_layout(path: str | Path) -> str:
    """``date`` or ``span`` when the folder has such sub-folders, else ``single``."""
    for layout in ("date", "span"):
        if available_spans(path, layout):
            return layout
    return "single"


def range_config_json(span: int | None) -> str:
    """The ``span_range`` parameter value: one span as a TFX ``RangeConfig`` in JSON, or :data:`NEWEST`."""
    if span is None:
        return NEWEST
    return json.dumps({"staticRange": {"startSpanNumber": span, "endSpanNumber": span}})


def select_span(span: int | None = None, date: str | None = None) -> int | None:
    """The span named by ``--span`` or ``--date`` (None: the newest present)."""
    if span is not None and date:
        raise ValueError("give --span or --date, not both")
    if date:
        return date_to_span(parse_date(date))
    if span is not None and span < 0:
        raise ValueError(f"a span number is >= 0, not {span}")
    return span


def check_span(path: str | Path, layout: str, span: int | None) -> int:
    """The span a run will read (the newest when ``span`` is None); :class:`SpanNotFound` if absent.

    For local folders only: TFX's driver makes the same choice on any file system,
    this check exists to fail early with a message naming the folder.
    """
    present = available_spans(path, layout)
    if span is None:
        if not present:
            raise SpanNotFound(f"{path} holds no span folder with CSV files "
                               f"(expected {input_pattern(layout).replace('/*', '/*.csv')})")
        return present[-1]
    if span not in present:
        newest = span_label(layout, present[-1]) if present else "none"
        missing = Path(path) / folder_name(layout, span)
        raise SpanNotFound(f"no data for {span_label(layout, span)}: {missing} "
                           f"is missing or has no CSV file (newest present: {newest})")
    return span
