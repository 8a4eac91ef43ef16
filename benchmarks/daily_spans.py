"""Daily data spans cut from the shipped taxi sample, with a known shift from a given day.

Writes ``<out>/YYYY-MM-DD/data.csv`` (the ``date`` layout of :mod:`pipeline.spans`):
the sample's rows, shuffled with a fixed seed, dealt into ``days`` equal parts. From
day ``shift_from`` on (1-based) every fare is multiplied by ``fare_factor`` (prices
went up; tips did not), a shift the data gate's fare check is set to catch
(Jensen-Shannon 0.070 against a limit of 0.02, see ``pipeline.config``).
"""

from __future__ import annotations

import csv
import datetime
import random
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import DEFAULT_DATA

SAMPLE = DEFAULT_DATA / "data.csv"
FIRST_DAY = datetime.date(2024, 1, 1)


@dataclass(frozen=True)
class DaySpan:
    day: int  # 1-based
    date: datetime.date
    folder: Path
    rows: int
    shifted: bool


def _shift(row: dict[str, str], fare_factor: float) -> dict[str, str]:
    if row.get("fare"):
        row = {**row, "fare": f"{float(row['fare']) * fare_factor:.2f}"}
    return row


def write_daily_spans(out: Path, days: int = 14, *, rows_per_day: int | None = None,
                      shift_from: int | None = 8, fare_factor: float = 1.3,
                      first_day: datetime.date = FIRST_DAY, seed: int = 15,
                      sample: Path = SAMPLE) -> list[DaySpan]:
    """Writes ``days`` date folders under ``out``; ``rows_per_day`` None deals the whole sample."""
    with sample.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    random.Random(seed).shuffle(rows)
    per_day = rows_per_day or len(rows) // days
    if per_day * days > len(rows):
        raise ValueError(f"{days} days of {per_day} rows need {per_day * days} rows; "
                         f"the sample has {len(rows)}")
    written = []
    for index in range(days):
        date = first_day + datetime.timedelta(days=index)
        shifted = shift_from is not None and index + 1 >= shift_from
        chunk = rows[index * per_day:(index + 1) * per_day]
        folder = Path(out) / date.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "data.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(_shift(row, fare_factor) if shifted else row for row in chunk)
        written.append(DaySpan(index + 1, date, folder, len(chunk), shifted))
    return written
