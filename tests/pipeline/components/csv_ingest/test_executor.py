"""The pyarrow CsvExampleGen executor writes what the stock executor writes: same examples, same splits.

Compared on the whole shipped sample (15,000 rows); bad files get one line naming the file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as stock
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from pipeline.components.csv_ingest import executor as arrow
from pipeline.config import DEFAULT_DATA, DEFAULT_SCHEMA
from pipeline.pipeline import csv_column_types
from tests.support import bad_data
from tests.support.sample import read_sample_rows, write_slice

ROWS = len(read_sample_rows()[1])


def _run(executor_class: type, data: Path, out: Path, column_types: dict[str, str] | None = None,
         ) -> dict[str, list]:
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="single_split",
                                                                           pattern="*")])
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=2),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1)]))
    exec_properties = {
        "input_base": str(data),
        "input_config": proto_utils.proto_to_json(input_config),
        "output_config": proto_utils.proto_to_json(output_config),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "custom_config": proto_utils.proto_to_json(arrow.custom_config(column_types or {})),
    }
    executor_class().Do({}, {"examples": [examples]}, exec_properties)
    splits = {}
    for split in ("train", "eval"):
        files = sorted((out / f"Split-{split}").glob("*.gz"))
        dataset = tf.data.TFRecordDataset([str(f) for f in files], compression_type="GZIP")
        splits[split] = sorted(
            tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True) for r in dataset)
    return splits


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    root = tmp_path_factory.mktemp("csv_ingest")
    return (_run(stock.Executor, DEFAULT_DATA, root / "stock"),
            _run(arrow.Executor, DEFAULT_DATA, root / "arrow", csv_column_types(DEFAULT_SCHEMA)))


def test_the_same_examples_are_written_in_the_same_proportions(both: tuple[dict, dict]) -> None:
    stock_splits, arrow_splits = both
    assert len(stock_splits["train"]) + len(stock_splits["eval"]) == ROWS
    assert sorted(arrow_splits["train"] + arrow_splits["eval"]) == sorted(
        stock_splits["train"] + stock_splits["eval"])
    assert 0.6 < len(arrow_splits["train"]) / ROWS < 0.74  # 2 of 3 hash buckets


def test_a_row_lands_in_the_same_split_on_every_run(both: tuple[dict, dict], tmp_path: Path) -> None:
    _, arrow_splits = both
    again = _run(arrow.Executor, DEFAULT_DATA, tmp_path / "again", csv_column_types(DEFAULT_SCHEMA))
    assert again == arrow_splits


def test_a_missing_cell_is_an_empty_list_of_the_columns_type(both: tuple[dict, dict]) -> None:
    _, arrow_splits = both
    kinds: dict[str, set] = {}
    for record in arrow_splits["train"]:
        for name, feature in tf.train.Example.FromString(record).features.feature.items():
            kind = feature.WhichOneof("kind")
            kinds.setdefault(name, set()).add((kind, len(getattr(feature, kind).value) if kind else 0))
    with_gaps = {name for name, seen in kinds.items() if {(k, 0) for k, _ in seen} < seen}
    assert "dropoff_census_tract" in with_gaps
    assert kinds["dropoff_census_tract"] == {("int64_list", 0), ("int64_list", 1)}


def test_compressed_input_is_read_by_its_suffix_and_progress_is_reported(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="pipeline.progress")
    data = write_slice(tmp_path / "data", 90)
    raw = (data / "data.csv").read_bytes()
    (data / "data.csv").unlink()
    (data / "data.csv.gz").write_bytes(gzip.compress(raw))
    splits = _run(arrow.Executor, data, tmp_path / "out")
    assert len(splits["train"]) + len(splits["eval"]) == 90
    assert any("CsvExampleGen: 90 rows read, 100%" in message for message in caplog.messages)


def test_files_with_different_headers_are_refused(tmp_path: Path) -> None:
    data = write_slice(tmp_path / "data", 30)
    lines = (data / "data.csv").read_text().splitlines(keepends=True)
    (data / "other.csv").write_text("tips,fare\n" + "0.0,1.5\n")
    assert lines
    with pytest.raises(RuntimeError, match="different header"):
        _run(arrow.Executor, data, tmp_path / "out")


@pytest.mark.parametrize("kind", ["empty_file", "text_in_numeric_column", "non_utf8_bytes", "corrupt_gzip",
                                  "ragged_rows"])
def test_a_file_pyarrow_cannot_read_is_one_line_naming_the_file(kind: str, tmp_path: Path) -> None:
    make, _ = bad_data.PREFLIGHT_KINDS[kind]
    data = make(tmp_path / "data")
    with pytest.raises(arrow.CsvReadError) as raised:
        _run(arrow.Executor, data, tmp_path / "out", csv_column_types(DEFAULT_SCHEMA))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(next(data.iterdir()))), message


def test_a_large_input_is_written_as_one_file_per_core_holding_the_same_examples(
        both: tuple[dict, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, arrow_splits = both
    monkeypatch.setattr(arrow, "SHARD_BYTES", 1 << 10)
    monkeypatch.setattr(arrow, "BLOCK_BYTES", 256 << 10)  # several blocks: they go round the files
    monkeypatch.setattr(arrow.os, "cpu_count", lambda: 2)
    sharded = _run(arrow.Executor, DEFAULT_DATA, tmp_path / "out", csv_column_types(DEFAULT_SCHEMA))
    assert sharded == arrow_splits
    for split in ("train", "eval"):
        files = sorted((tmp_path / "out" / f"Split-{split}").glob("*.gz"))
        assert [f.name for f in files] == [f"data_tfrecord-0000{i}-of-00002.gz" for i in (0, 1)]
        counts = [sum(1 for _ in tf.data.TFRecordDataset(str(f), compression_type="GZIP")) for f in files]
        assert min(counts) > 0, counts
