"""Fuzzing the input checks: generated malformed files always get a one-line problem, never a traceback.

The cases are not the ones we thought of one by one (those are in test_preflight.py): each
is a random mix of damage to lines, fields, bytes/encodings and compression, from a fixed
seed so that a failure can be replayed.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_SCHEMA
from pipeline.preflight import CheckSummary, InputDataError, check_csv_folder
from tests.support.sample import SAMPLE_CSV

CASES = 150
SEED = 20261203
_SAMPLE_LINES = SAMPLE_CSV.read_bytes().splitlines(keepends=True)[:60]


def _drop_lines(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    return [line for line in lines if rng.random() > 0.3]


def _shuffle_lines(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    rng.shuffle(lines)  # the header may land anywhere
    return lines


def _split_line(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = rng.randrange(len(lines))
    cut = rng.randrange(len(lines[i]) + 1)
    return [*lines[:i], lines[i][:cut], b"\n", lines[i][cut:], *lines[i + 1:]]


def _mangle_fields(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = []
    for line in lines:
        fields = line.rstrip(b"\r\n").split(b",")
        action = rng.choice(("drop", "dup", "quote", "blank", "junk", "keep", "keep"))
        i = rng.randrange(len(fields))
        if action == "drop":
            del fields[i]
        elif action == "dup":
            fields.insert(i, fields[i])
        elif action == "quote":
            fields[i] = b'"' + fields[i]  # an unbalanced quote swallows what follows
        elif action == "blank":
            fields[i] = b""
        elif action == "junk":
            fields[i] = rng.choice((b"NaN", b"1e999", b"--3", b"0x1F", b"12,5", b" 7 ", b"\t", b"\xc3"))
        out.append(b",".join(fields) + rng.choice((b"\n", b"\r\n", b"\r", b"")))
    return out


def _random_bytes(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    data = bytearray(b"".join(lines))
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.choice((0, 0xFF, 0xC3, 0x80, ord('"'), ord("\n"), ord(",")))
    return [bytes(data)]


def _reencode(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    text = b"".join(lines).decode("utf-8", errors="replace") + "Céline,Zoë\n"
    encoding = rng.choice(("latin-1", "utf-16", "utf-16-be", "utf-32", "cp1252", "utf-8-sig"))
    return [text.encode(encoding, errors="replace")]


def _bom(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    return [rng.choice((codecs.BOM_UTF8, codecs.BOM_UTF16_LE)), *lines]


def _truncate(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    data = b"".join(lines)
    return [data[: rng.randrange(len(data))]]


def _long_line(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    return [*lines[:2], b"9" * rng.choice((200_000, 1_100_000)), *lines[2:]]


LINE_DAMAGE: list[Callable[[random.Random, list[bytes]], list[bytes]]] = [
    _drop_lines, _shuffle_lines, _split_line, _mangle_fields, _random_bytes, _reencode, _bom, _truncate,
    _long_line,
]


def _compress(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """Compressed, mislabelled or damaged compression, or plain."""
    kind = rng.choice(("plain", "plain", "gz", "bz2", "xz", "gz-cut", "gz-flip", "bz2-cut", "xz-as-gz",
                       "gz-as-csv", "not-gz"))
    if kind == "plain":
        return "data.csv", data
    if kind == "gz":
        return "data.csv.gz", gzip.compress(data)
    if kind == "bz2":
        return "data.csv.bz2", bz2.compress(data)
    if kind == "xz":
        return "data.csv.xz", lzma.compress(data)
    if kind == "gz-cut":
        packed = gzip.compress(data)
        return "data.csv.gz", packed[: rng.randrange(1, len(packed))]
    if kind == "gz-flip":
        packed = bytearray(gzip.compress(data))
        packed[rng.randrange(10, len(packed))] ^= 0xFF
        return "data.csv.gz", bytes(packed)
    if kind == "bz2-cut":
        packed = bz2.compress(data)
        return "data.csv.bz2", packed[: rng.randrange(1, len(packed))]
    if kind == "xz-as-gz":
        return "data.csv.gz", lzma.compress(data)
    if kind == "gz-as-csv":
        return "data.csv", gzip.compress(data)
    return "data.csv.gz", data


def _malformed_folder(case: int, root: Path) -> Path:
    rng = random.Random(SEED + case)
    lines = list(_SAMPLE_LINES)
    for damage in rng.sample(LINE_DAMAGE, rng.randint(1, 3)):
        lines = damage(rng, lines) or [b""]
    name, payload = _compress(rng, b"".join(lines))
    folder = root / f"case{case}"
    folder.mkdir()
    (folder / name).write_bytes(payload)
    return folder


@pytest.mark.parametrize("case", range(CASES))
def test_a_malformed_file_gets_one_line_per_problem_and_no_traceback(case: int, tmp_path: Path):
    folder = _malformed_folder(case, tmp_path)
    try:
        result = check_csv_folder(folder, DEFAULT_SCHEMA, "tips")
    except InputDataError as error:
        first, *problems = str(error).split("\n")
        assert first == "input data rejected before the pipeline started:"
        assert problems, str(error)
        for problem in problems:
            assert problem.startswith(f"  {folder}/"), problem
            assert "Traceback" not in problem and len(problem) < 600
        return
    # Damage that leaves legal CSV (e.g. dropped rows) passes: ExampleGen reads it as it is.
    assert isinstance(result, CheckSummary) and result.rows_checked > 0


def test_the_fuzzer_mostly_makes_files_the_checks_refuse(tmp_path: Path):
    """A fuzzer whose files all pass would test nothing."""
    refused = 0
    for case in range(40):
        try:
            check_csv_folder(_malformed_folder(case, tmp_path), DEFAULT_SCHEMA, "tips")
        except InputDataError:
            refused += 1
    assert refused >= 25
