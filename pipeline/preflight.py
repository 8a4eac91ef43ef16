"""Check the input CSV files before any heavy work starts.

A broken input (a missing folder, an empty or truncated file, a renamed column, text in
a numeric column, bytes that are not UTF-8) would otherwise surface minutes later as a
Beam stack trace from deep inside ExampleGen. These checks read the files with the
standard library only, against the column list and types of the curated schema, and
return every problem found, each naming the file, line and column.

Value-level problems that are legal CSV (out-of-domain values, missing required
values, drift) are the data gate's job: ExampleValidator + :mod:`pipeline.data_gate`.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

MAX_PROBLEMS_PER_FILE = 5


class InputDataError(ValueError):
    """The input data cannot be used; the message lists every problem found."""


@dataclass(frozen=True)
class ColumnSpec:
    """What the schema says about one CSV column."""

    name: str
    kind: str  # "INT", "FLOAT" or "BYTES"


def load_columns(schema_path: str | Path) -> list[ColumnSpec]:
    """Columns (and their types) that the curated schema expects, in schema order."""
    schema = text_format.Parse(Path(schema_path).read_text(), schema_pb2.Schema())
    return [ColumnSpec(f.name, schema_pb2.FeatureType.Name(f.type)) for f in schema.feature]


def _read_text(path: Path) -> str:
    """The file's text; raises InputDataError for corrupt gzip or non-UTF-8 bytes."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise InputDataError(f"{path}: not a readable gzip file ({error})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputDataError(
            f"{path}: line {line}: bytes that are not UTF-8 at offset {error.start} "
            f"({raw[error.start:error.start + 4]!r})"
        ) from None


def _value_problem(value: str, column: ColumnSpec) -> str | None:
    if value == "" or column.kind == "BYTES":
        return None
    try:
        number = float(value)
    except ValueError:
        return f"{value!r} is not a number"
    if column.kind == "INT" and not number.is_integer():
        return f"{value!r} is not an integer"
    return None


def check_file(path: Path, columns: list[ColumnSpec], label_source: str) -> list[str]:
    """Problems of one CSV file (empty list when it is usable)."""
    if path.stat().st_size == 0:
        return [f"{path}: empty file"]
    try:
        text = _read_text(path)
    except InputDataError as error:
        return [str(error)]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        return [f"{path}: empty file (no header line)"]
    expected = [c.name for c in columns]
    problems = []
    if label_source not in header:
        problems.append(f"{path}: the label's source column {label_source!r} is missing")
    missing = [name for name in expected if name not in header and name != label_source]
    extra = [name for name in header if name not in expected]
    if missing:
        problems.append(f"{path}: columns missing from the header: {', '.join(missing)}")
    if extra:
        problems.append(f"{path}: columns not in the schema: {', '.join(extra)}")
    if problems:
        return problems
    by_position = [next(c for c in columns if c.name == name) for name in header]
    rows = 0
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        rows += 1
        if len(row) != len(header):
            problems.append(f"{path}: line {line_number}: {len(row)} fields, the header has {len(header)}")
        else:
            for value, column in zip(row, by_position, strict=True):
                problem = _value_problem(value, column)
                if problem:
                    where = f"{path}: line {line_number}: column {column.name} ({column.kind})"
                    problems.append(f"{where}: {problem}")
        if len(problems) >= MAX_PROBLEMS_PER_FILE:
            problems.append(f"{path}: (stopped after {MAX_PROBLEMS_PER_FILE} problems)")
            break
    if rows == 0 and not problems:
        problems.append(f"{path}: header only, no data rows")
    return problems


def check_csv_folder(folder: str | Path, schema_path: str | Path, label_source: str) -> int:
    """Raises InputDataError listing every problem; returns the number of files checked."""
    folder = Path(folder)
    if not folder.exists():
        raise InputDataError(f"data folder {folder} does not exist")
    if not folder.is_dir():
        raise InputDataError(f"data path {folder} is not a folder (give the folder holding the CSV files)")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputDataError(f"data folder {folder} holds no files")
    columns = load_columns(schema_path)
    problems = [problem for path in files for problem in check_file(path, columns, label_source)]
    if problems:
        raise InputDataError("input data rejected before the pipeline started:\n  " + "\n  ".join(problems))
    return len(files)
