"""Check the input CSV files before any heavy work starts.

A broken input (a missing folder, an empty or truncated file, a renamed column, text in
a numeric column, bytes that are not UTF-8) would otherwise surface minutes later as a
Beam stack trace from deep inside ExampleGen. These checks read the files with the
standard library only, against the column list and types of the curated schema, and
return every problem found, each on one line naming the file, line and column.

They stream (memory is one line, whatever the file's size) and read at most
``MAX_ROWS_CHECKED`` rows per file, so they cost the same for the sample and for a day of
millions of rows; the CLI says how many rows they checked. Any failure to read a file
(compression, encoding, CSV syntax) is one problem line, never a traceback
(tests/pipeline/test_preflight_fuzz.py fuzzes this).

Value-level problems that are legal CSV (out-of-domain values, missing required
values, drift) are the data gate's job: ExampleValidator + :mod:`pipeline.data_gate`.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

MAX_PROBLEMS_PER_FILE = 5
# Rows checked per file: the checks answer in about a second whatever the file's size; the
# rest of a large file is read by ExampleGen (a bad row there fails that component).
MAX_ROWS_CHECKED = 100_000
# A physical line longer than this is refused (a file without newlines would otherwise be
# read whole into memory); the longest line in the taxi data is under 400 bytes.
MAX_LINE_BYTES = 1 << 20

# Compressed files are read the way ExampleGen reads them: by the file name's suffix.
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_FORMATS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
_DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


class InputDataError(ValueError):
    """The input data cannot be used; the message lists every problem found."""


@dataclass(frozen=True)
class ColumnSpec:
    """What the schema says about one CSV column."""

    name: str
    kind: str  # "INT", "FLOAT" or "BYTES"


@dataclass(frozen=True)
class FileCheck:
    """What was checked in one file: rows read, whether the cap stopped the check, problems."""

    path: Path
    rows_checked: int = 0
    capped: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckSummary:
    """The input checks' answer for a folder that passed them."""

    files: list[FileCheck]
    max_rows: int

    @property
    def rows_checked(self) -> int:
        return sum(f.rows_checked for f in self.files)

    def describe(self) -> str:
        """One line for the CLI: how much of the data the checks actually read."""
        capped = sum(f.capped for f in self.files)
        text = (f"input checks: {len(self.files)} file(s), {self.rows_checked:,} rows checked")
        if capped:
            text += f" (the first {self.max_rows:,} rows of each file; {capped} file(s) hold more)"
        return text


def load_columns(schema_path: str | Path) -> list[ColumnSpec]:
    """Columns (and their types) that the curated schema expects, in schema order."""
    schema = text_format.Parse(Path(schema_path).read_text(), schema_pb2.Schema())
    return [ColumnSpec(f.name, schema_pb2.FeatureType.Name(f.type)) for f in schema.feature]


class _LineTooLong(Exception):
    pass


class _NotUtf8(Exception):
    def __init__(self, sample: bytes) -> None:
        super().__init__(sample)
        self.sample = sample


def _open_binary(path: Path) -> IO[bytes]:
    """A streaming reader of the file's bytes, decompressed by suffix as ExampleGen does."""
    opener = _OPENERS.get(path.suffix)
    return opener(path, "rb") if opener else path.open("rb")


class _Lines:
    """Physical lines of a byte stream, decoded one at a time, with the count read so far.

    Decoding line by line names the exact line of a bad byte; refusing lines longer than
    ``limit`` bounds memory for a file without newlines.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream, self._limit, self.count = stream, limit, 0

    def __iter__(self) -> Iterator[str]:
        while True:
            raw = self._stream.readline(self._limit + 1)
            if not raw:
                return
            self.count += 1
            if len(raw) > self._limit:
                raise _LineTooLong
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise _NotUtf8(raw[error.start:error.start + 4]) from None


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


def _header_problems(path: Path, header: list[str] | None, columns: list[ColumnSpec],
                     label_source: str) -> list[str]:
    if not header or not any(cell.strip() for cell in header):
        return [f"{path}: empty file (no header line)"]
    expected = [c.name for c in columns]
    problems = []
    if label_source not in header:
        problems.append(f"{path}: the label's source column {label_source!r} is missing")
    missing = [name for name in expected if name not in header and name != label_source]
    extra = [name for name in header if name not in expected]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing:
        problems.append(f"{path}: columns missing from the header: {', '.join(missing)}")
    if extra:
        problems.append(f"{path}: columns not in the schema: {', '.join(extra)}")
    if repeated:
        problems.append(f"{path}: columns named twice in the header: {', '.join(repeated)}")
    return problems


def _check_rows(path: Path, reader: Iterator[list[str]], header: list[str], columns: list[ColumnSpec],
                max_rows: int) -> FileCheck:
    by_position = [next(c for c in columns if c.name == name) for name in header]
    problems: list[str] = []
    rows = 0
    for row in reader:
        if not row:
            continue
        if rows >= max_rows:
            return FileCheck(path, rows, True, problems)
        rows += 1
        line_number = reader.line_num  # type: ignore[attr-defined]
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
    return FileCheck(path, rows, False, problems)


def _one_line(text: object) -> str:
    """Messages from libraries may hold newlines or control bytes; a problem is one line."""
    return " ".join(str(text).split())[:300]


MAX_PROBLEM_CHARS = 400


def _printable(problem: str) -> str:
    """One printable line: a problem quotes the file's own text (header names, values), which
    may hold newlines, NUL or other control characters; escaped and clipped, never echoed raw."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in problem)
    return text if len(text) <= MAX_PROBLEM_CHARS else text[: MAX_PROBLEM_CHARS - 3] + "..."


def inspect_file(path: Path, columns: list[ColumnSpec], label_source: str,
                 max_rows: int = MAX_ROWS_CHECKED) -> FileCheck:
    """Checks one CSV file, streaming: memory is bounded by one line, whatever the file's size.

    Reads at most ``max_rows`` data rows. Every failure to read (compression, encoding,
    CSV syntax, I/O) becomes one problem line naming the file; none escapes as a traceback.
    """
    if path.stat().st_size == 0:
        return FileCheck(path, problems=[f"{path}: empty file"])
    lines: _Lines | None = None
    try:
        with _open_binary(path) as stream:
            lines = _Lines(stream, MAX_LINE_BYTES)
            reader = csv.reader(lines)
            header = next(reader, None)
            problems = _header_problems(path, header, columns, label_source)
            if problems:
                return FileCheck(path, problems=problems)
            assert header is not None
            return _check_rows(path, reader, header, columns, max_rows)
    except _NotUtf8 as error:
        problem = f"{path}: line {_count(lines)}: bytes that are not UTF-8 ({error.sample!r})"
    except _LineTooLong:
        problem = f"{path}: line {_count(lines)}: longer than {MAX_LINE_BYTES:,} bytes (not a CSV line)"
    except csv.Error as error:
        problem = f"{path}: line {_count(lines)}: not valid CSV ({_one_line(error)})"
    except _DECOMPRESSION_ERRORS as error:
        kind = _FORMATS.get(path.suffix, "")
        problem = f"{path}: not a readable {kind or 'CSV'} file ({_one_line(error) or type(error).__name__})"
    except Exception as error:  # noqa: BLE001 - the guarantee: one line, never a traceback
        problem = f"{path}: unreadable ({type(error).__name__}: {_one_line(error)})"
    return FileCheck(path, problems=[problem])


def _count(lines: _Lines | None) -> int:
    return lines.count if lines else 0


def check_file(path: Path, columns: list[ColumnSpec], label_source: str,
               max_rows: int = MAX_ROWS_CHECKED) -> list[str]:
    """Problems of one CSV file (empty list when it is usable)."""
    return inspect_file(path, columns, label_source, max_rows).problems


def check_csv_folder(folder: str | Path, schema_path: str | Path, label_source: str,
                     max_rows: int = MAX_ROWS_CHECKED) -> CheckSummary:
    """Raises InputDataError listing every problem; otherwise says what was checked.

    At most ``max_rows`` data rows are read per file, streaming, so the checks take
    the same time and memory for a 15,000-row sample and for a day of millions of rows.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputDataError(f"data folder {folder} does not exist")
    if not folder.is_dir():
        raise InputDataError(f"data path {folder} is not a folder (give the folder holding the CSV files)")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputDataError(f"data folder {folder} holds no files")
    columns = load_columns(schema_path)
    checks = [inspect_file(path, columns, label_source, max_rows) for path in files]
    problems = [_printable(problem) for check in checks for problem in check.problems]
    if problems:
        raise InputDataError("input data rejected before the pipeline started:\n  " + "\n  ".join(problems))
    return CheckSummary(checks, max_rows)
