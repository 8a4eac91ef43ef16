"""The per-node launcher: executors are imported only for nodes that run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tfx.orchestration.portable import data_types, launcher
from tfx.proto.orchestration import executable_spec_pb2

from pipeline.runners import ir

EXECUTOR_MODULE = '''
from tfx.dsl.components.base import base_executor


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        with open(exec_properties["marker"], "w") as marker:
            marker.write("ran")
'''


@pytest.fixture()
def executor_spec(tmp_path: Path, monkeypatch):
    module = f"deferred_executor_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(EXECUTOR_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield module, executable_spec_pb2.PythonClassExecutableSpec(class_path=f"{module}.Executor")
    sys.modules.pop(module, None)


def test_the_stock_operator_imports_the_executor_when_built(executor_spec):
    """Why the deferral exists: TFX builds an operator for every node, cached ones too."""
    module, spec = executor_spec
    launcher.DEFAULT_EXECUTOR_OPERATORS[type(spec)](executor_spec=spec)
    assert module in sys.modules


def test_the_executor_is_imported_only_when_it_runs(executor_spec, tmp_path: Path):
    module, spec = executor_spec
    operator = ir.DEFERRED_OPERATORS[type(spec)](executor_spec=spec, platform_config=None)
    assert module not in sys.modules
    marker = tmp_path / "marker"
    operator.run_executor(data_types.ExecutionInfo(
        execution_id=1, exec_properties={"marker": str(marker)},
        execution_output_uri=str(tmp_path / "executor_output.pb"), tmp_dir=str(tmp_path / "tmp"),
        stateful_working_dir=str(tmp_path / "stateful")))
    assert module in sys.modules
    assert marker.read_text() == "ran"


def test_python_and_beam_executors_are_deferred():
    assert set(ir.DEFERRED_OPERATORS) == {executable_spec_pb2.PythonClassExecutableSpec,
                                          executable_spec_pb2.BeamExecutableSpec}
