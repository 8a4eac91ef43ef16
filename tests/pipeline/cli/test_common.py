"""What all commands share: only a user's mistake is reported as bad input."""

from __future__ import annotations

import argparse

import pytest

from pipeline.cli.common import ExitCode, handles_bad_input
from pipeline.metadata import MetadataConfigError
from pipeline.metadata.read_only import LineageError


def _command(error: Exception):
    @handles_bad_input
    def command(args: argparse.Namespace) -> int:
        raise error

    return command


@pytest.mark.parametrize("error", [LineageError("no run x in the store"), MetadataConfigError("no store")])
def test_a_users_mistake_is_one_line_and_exit_code_2(error, capsys):
    assert _command(error)(argparse.Namespace()) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err == f"error: {error}\n"


def test_a_defect_raising_value_error_is_not_called_bad_input():
    with pytest.raises(ValueError, match="invalid literal"):
        _command(ValueError("invalid literal for int() with base 10: 'x'"))(argparse.Namespace())


def test_a_bad_picture_name_is_still_a_users_mistake(tmp_path):
    from pipeline.lineage import graph

    with pytest.raises(LineageError, match="must end in .svg or .png"):
        graph.write(graph.Graph(), str(tmp_path / "picture.gif"))
