"""What the local CLI checks before it runs: the input files, and whether anything changed.

Both answer with the standard library only (no TensorFlow import), so a broken input
or an unchanged rerun costs well under a second.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import spans
from pipeline.config import CsvSource, PipelineConfig
from pipeline.runners.local.up_to_date import fingerprint, forget, save_record, unchanged_run

__all__ = ["check_inputs", "fingerprint", "forget", "run_span", "save_record", "unchanged_run"]


def check_inputs(config: PipelineConfig, span: int | None = None) -> tuple[str | None, str | None]:
    """``(problem, checked)``: every problem the input checks find in a CSV source as one message
    (None if the data is usable), and what was checked (None for sources not checked here).

    A spanned source is checked in the folder of the span the run reads (``span``).
    """
    if not isinstance(config.data, CsvSource):
        return None, None
    from models.features import LABEL_SOURCE
    from pipeline.preflight import InputDataError, check_csv_folder

    folder = Path(config.data.path)
    if config.data.spanned and span is not None:
        folder = folder / spans.folder_name(config.data.layout, span)
    try:
        summary = check_csv_folder(folder, config.schema_path, LABEL_SOURCE)
    except InputDataError as error:
        return str(error), None
    return None, summary.describe()


def run_span(config: PipelineConfig, span: int | None) -> int | None:
    """The span a run of a spanned CSV source reads (the newest if None); None if not spanned.

    Raises :class:`pipeline.spans.SpanNotFound` naming the missing folder.
    """
    if not (isinstance(config.data, CsvSource) and config.data.spanned):
        if span is not None:
            raise ValueError(f"--span/--date need span folders (YYYY-MM-DD/ or span-N/) in "
                             f"{getattr(config.data, 'path', config.data)}")
        return None
    return spans.check_span(config.data.path, config.data.layout, span)
