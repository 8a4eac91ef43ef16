"""What the local CLI checks before it runs: the input files, and whether anything changed.

Both answer with the standard library only (no TensorFlow import), so a broken input
or an unchanged rerun costs well under a second.
"""

from __future__ import annotations

from pipeline.config import CsvSource, PipelineConfig
from pipeline.runners.local.up_to_date import fingerprint, forget, save_record, unchanged_run

__all__ = ["fingerprint", "forget", "input_problem", "save_record", "unchanged_run"]


def input_problem(config: PipelineConfig) -> str | None:
    """Every problem the input check finds in a CSV source, as one message; None if it is usable."""
    if not isinstance(config.data, CsvSource):
        return None
    from models.features import LABEL_SOURCE
    from pipeline.preflight import InputDataError, check_csv_folder

    try:
        check_csv_folder(config.data.path, config.schema_path, LABEL_SOURCE)
    except InputDataError as error:
        return str(error)
    return None
