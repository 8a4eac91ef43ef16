"""What the local CLI checks before it runs: the input files, and whether anything changed.

Both answer with the standard library only (no TensorFlow import), so a broken input
or an unchanged rerun costs well under a second.
"""

from __future__ import annotations

from pipeline.config import CsvSource, PipelineConfig
from pipeline.runners.local.up_to_date import fingerprint, forget, save_record, unchanged_run

__all__ = ["check_inputs", "fingerprint", "forget", "save_record", "unchanged_run"]


def check_inputs(config: PipelineConfig) -> tuple[str | None, str | None]:
    """``(problem, checked)``: every problem the input checks find in a CSV source as one message
    (None if the data is usable), and what was checked (None for sources not checked here)."""
    if not isinstance(config.data, CsvSource) or "://" in config.data.path:
        return None, None  # a gs:// folder is read (and refused when malformed) by ExampleGen itself
    from models.features import LABEL_SOURCE
    from pipeline.preflight import InputDataError, check_csv_folder

    try:
        summary = check_csv_folder(config.data.path, config.schema_path, LABEL_SOURCE)
    except InputDataError as error:
        return str(error), None
    return None, summary.describe()
