"""A CsvExampleGen executor built on pyarrow's multithreaded, streaming CSV reader.

Why: the stock executor reads each file line by line in Python, holds every parsed line
until column types are inferred over the whole file (a side input), then reshuffles every
record through Beam before writing. On one machine with Beam's embedded runner both steps
keep the whole dataset in memory, and the work runs on one core: 150 s and GiBs for 1.5
million rows. This executor streams instead: pyarrow parses blocks of the file on all
cores, tfx_bsl encodes each block to serialized ``tf.Example``s in C++, and a writer thread
per split compresses and writes them while the next block is parsed. Memory is a few
blocks, whatever the file's size.

The output is what the stock executor writes: gzipped TFRecord files of ``tf.Example``s
under ``Split-<name>/``, the same split names and proportions (hash buckets), and the same
examples (a missing cell is a feature with an empty list of its column's type, a column
empty everywhere a feature without a type, as in the stock executor). Which split a row
lands in comes from a hash of its values (see :func:`partition`), fixed across runs but
not the stock executor's hash, so the two executors split the same rows differently.

Column types come from ``custom_config['column_types']`` (``INT``/``FLOAT``/``BYTES`` per
column, the curated schema's types); a column not listed gets pyarrow's inference. What this
executor does not handle (remote file systems, ``partition_feature_name``, Parquet output,
payloads other than ``tf.Example``) is handed to the stock executor unchanged.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import tensorflow as tf
from google.protobuf import json_format, struct_pb2
from tfx.components.example_gen import utils
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils
from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

log = logging.getLogger("pipeline.progress")

BLOCK_BYTES = 8 << 20  # pyarrow parses blocks of this size, in parallel
# Each split is written as up to one file per core, one for every SHARD_BYTES of CSV read:
# a gzipped file is read by one Beam worker, so a split in one file would keep the
# downstream components (StatisticsGen, Transform, Evaluator) on one core even with a
# worker process per core. Small inputs stay in one file per split.
SHARD_BYTES = 16 << 20
PROGRESS_SECONDS = 10.0
_QUEUE_BLOCKS = 4  # encoded blocks waiting for a writer: bounds memory
_ARROW_TYPES = {"INT": pa.int64(), "FLOAT": pa.float64(), "BYTES": pa.string()}


class UnsupportedByArrowReader(Exception):
    """A configuration this executor leaves to the stock executor."""


class CsvReadError(ValueError):
    """A file pyarrow cannot read as this CSV (syntax, types, encoding, compression): one line."""


def custom_config(column_types: dict[str, str]) -> example_gen_pb2.CustomConfig:
    """ExampleGen's ``custom_config`` carrying the column types (a Struct packed in an Any)."""
    struct = struct_pb2.Struct()
    struct.update({"column_types": column_types})
    config = example_gen_pb2.CustomConfig()
    config.custom_config.Pack(struct)
    return config


def _column_types(serialized: Any) -> dict[str, pa.DataType]:
    """The column types in ExampleGen's ``custom_config`` exec property (JSON of CustomConfig)."""
    if not serialized:
        return {}
    config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(serialized, config)
    struct = struct_pb2.Struct()
    if not config.custom_config.Unpack(struct):
        return {}
    names = json_format.MessageToDict(struct).get("column_types", {})
    return {name: _ARROW_TYPES[kind] for name, kind in names.items()}


def _as_list_column(column: pa.Array, untyped: bool = False) -> pa.Array:
    """One value per row as a one-element list; a missing cell as an empty list (not null).

    tf.Example has no null: the stock executor writes an empty list of the column's type,
    and tfx_bsl writes exactly that for an empty (valid) list. A column empty in every row
    of the input has no type for the stock executor: ``untyped`` writes it as a feature
    without a kind (a null list for tfx_bsl), as the stock executor does.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.cast(pa.large_binary())
    elif pa.types.is_floating(column.type):
        column = column.cast(pa.float32())
    elif pa.types.is_null(column.type):
        column = column.cast(pa.large_binary())
    if untyped:
        return pa.nulls(len(column), pa.large_list(column.type))
    valid = pc.is_valid(column)
    lengths = pc.cast(valid, pa.int64())
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(lengths)])
    values = column.filter(valid)
    return pa.LargeListArray.from_arrays(offsets, values)


def encode_batch(batch: pa.RecordBatch, encoder: RecordBatchToExamplesEncoder,
                 empty_columns: frozenset[str] = frozenset()) -> list[bytes]:
    """Serialized tf.Examples of one parsed block, features in name order."""
    names = sorted(batch.schema.names)
    lists = [_as_list_column(batch.column(n), n in empty_columns) for n in names]
    return encoder.encode(pa.RecordBatch.from_arrays(lists, names))


def empty_columns(paths: list[str], column_types: dict[str, pa.DataType]) -> frozenset[str]:
    """Columns without a single value in any of the files: a first, cheap streaming pass.

    pyarrow parses on all cores; only null counts are kept, so memory stays one block.
    """
    seen: dict[str, bool] = {}
    for path in paths:
        for batch in read_blocks(path, column_types):
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                seen[name] = seen.get(name, False) or column.null_count < len(column)
    return frozenset(name for name, has_value in seen.items() if not has_value)


def partition(batch: pa.RecordBatch, buckets: list[int]) -> np.ndarray:
    """The split index of each row: a hash of the row's values into ``buckets[-1]`` buckets.

    The stock rule (base_example_gen_executor._PartitionFn) hashes each serialized example;
    tfx_bsl's encoder does not write features in a fixed order, so its bytes cannot be the
    key. pandas' row hash (SipHash with a fixed key) is fixed across runs and machines and
    vectorised: the same row always lands in the same split, in the configured proportions.
    """
    # Integers as float64: pandas turns an integer column holding a null into floats, so the
    # same row would hash differently in a block with and a block without a missing cell.
    columns = [c.cast(pa.float64()) if pa.types.is_integer(c.type) else c for c in batch.columns]
    frame = pa.RecordBatch.from_arrays(columns, batch.schema.names).to_pandas()
    keys = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return np.searchsorted(np.asarray(buckets, dtype=np.uint64), keys % np.uint64(buckets[-1]), side="right")


class _SplitWriter(threading.Thread):
    """Writes one split's records to a gzipped TFRecord file from a bounded queue."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path, self.queue, self.count, self.error = path, queue.Queue(_QUEUE_BLOCKS), 0, None
        self._writer = tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type="GZIP"))

    def run(self) -> None:
        try:
            while (records := self.queue.get()) is not None:
                for record in records:
                    self._writer.write(record)
                self.count += len(records)
        except BaseException as error:  # noqa: BLE001 - re-raised by the reading thread
            self.error = error
            while self.queue.get() is not None:  # keep the producer from blocking
                pass
        finally:
            self._writer.close()


def shard_count(input_bytes: int, cores: int | None = None) -> int:
    """Files per split: one per core once the input is large enough to keep every core busy."""
    return max(1, min(cores or os.cpu_count() or 1, input_bytes // SHARD_BYTES))


def read_blocks(path: str, column_types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """Parsed blocks of one CSV file (decompressed by its suffix), header from its first line.

    pyarrow's errors name neither the file nor (for some) the problem in one line; they are
    raised as :class:`CsvReadError` naming the file, so a bad file is one line in the log.
    """
    try:
        stream = pa.input_stream(path, compression="detect")
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=True),
            convert_options=pcsv.ConvertOptions(column_types=column_types, strings_can_be_null=True,
                                                quoted_strings_can_be_null=False),
        )
        yield from reader
    except (pa.ArrowException, OSError, UnicodeDecodeError, EOFError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise CsvReadError(f"{path}: not readable as CSV ({detail[:300]})") from None


class Executor(csv_executor.Executor):
    """CsvExampleGen's executor, reading with pyarrow and writing without a Beam shuffle."""

    def Do(self, input_dict: dict[str, list[Any]], output_dict: dict[str, list[Any]],
           exec_properties: dict[str, Any]) -> None:
        try:
            plan = self._plan(output_dict, exec_properties)
        except UnsupportedByArrowReader as reason:
            log.info("CsvExampleGen: stock executor (%s)", reason)
            super().Do(input_dict, output_dict, exec_properties)
            return
        self._log_startup(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        self._write(plan, _column_types(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)))
        payload = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        if payload:
            from tfx.components.util import examples_utils

            examples_utils.set_payload_format(examples, payload)

    def _plan(self, output_dict: dict[str, list[Any]], exec_properties: dict[str, Any]) -> dict[str, Any]:
        input_config, output_config = example_gen_pb2.Input(), example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        if "://" in base:
            raise UnsupportedByArrowReader(f"remote input {base}")
        if output_config.split_config.partition_feature_name:
            raise UnsupportedByArrowReader("partition_feature_name")
        file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY)
        if file_format not in (None, example_gen_pb2.FILE_FORMAT_UNSPECIFIED,
                               example_gen_pb2.FORMAT_TFRECORDS_GZIP):
            raise UnsupportedByArrowReader(f"file format {file_format}")
        payload = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        if payload not in (None, example_gen_pb2.FORMAT_TF_EXAMPLE):
            raise UnsupportedByArrowReader(f"payload format {payload}")
        split_names = utils.generate_output_split_names(input_config, output_config)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(examples).split_names = artifact_utils.encode_split_names(
            split_names)
        uris = {name: artifact_utils.get_split_uri(examples, name) for name in split_names}
        if output_config.split_config.splits:
            buckets, total = [], 0
            for split in output_config.split_config.splits:
                total += split.hash_buckets
                buckets.append(total)
            sources = [(input_config.splits[0].pattern, None)]
        else:
            buckets, sources = [], [(s.pattern, s.name) for s in input_config.splits]
        return {"base": base, "split_names": split_names, "uris": uris, "buckets": buckets,
                "sources": sources}

    def _write(self, plan: dict[str, Any], column_types: dict[str, pa.DataType]) -> None:
        sources = []
        for pattern, split in plan["sources"]:
            files = sorted(fileio.glob(os.path.join(plan["base"], pattern)))
            if not files:
                raise RuntimeError(f"Split pattern {pattern} does not match any files in {plan['base']}.")
            sources.append((pattern, split, files))
        shards = shard_count(sum(fileio.stat(f).length for _, _, files in sources for f in files))
        writers: dict[str, list[_SplitWriter]] = {}
        for name, uri in plan["uris"].items():
            fileio.makedirs(uri)
            writers[name] = [_SplitWriter(os.path.join(uri, f"data_tfrecord-{i:05d}-of-{shards:05d}.gz"))
                             for i in range(shards)]
            for writer in writers[name]:
                writer.start()
        names, buckets = plan["split_names"], plan["buckets"]
        encoder = RecordBatchToExamplesEncoder()
        started, last_report, rows, header, block = time.monotonic(), time.monotonic(), 0, None, 0
        try:
            for pattern, split, files in sources:
                total_bytes = sum(fileio.stat(f).length for f in files)
                done_bytes = 0
                untyped = empty_columns(files, column_types)
                for path in files:
                    for batch in read_blocks(path, column_types):
                        if header is None:
                            header = batch.schema.names
                        elif batch.schema.names != header:
                            raise RuntimeError(f"Files in same split {pattern} have different header.")
                        records = encode_batch(batch, encoder, untyped)
                        rows += len(records)
                        shard, block = block % shards, block + 1  # blocks go round the shards
                        if split is not None:
                            self._put(writers[split][shard], records)
                        else:
                            where = partition(batch, buckets)
                            array = np.empty(len(records), dtype=object)
                            array[:] = records
                            for index, name in enumerate(names):
                                self._put(writers[name][shard], array[where == index].tolist())
                        if time.monotonic() - last_report >= PROGRESS_SECONDS:
                            last_report = time.monotonic()
                            log.info("CsvExampleGen: %s rows read (%s, %.0f s)", f"{rows:,}",
                                     os.path.basename(path), last_report - started)
                    done_bytes += fileio.stat(path).length
                    log.info("CsvExampleGen: %s rows read, %.0f%% of %.0f MB", f"{rows:,}",
                             100 * done_bytes / max(total_bytes, 1), total_bytes / 1e6)
        finally:
            every = [writer for split_writers in writers.values() for writer in split_writers]
            for writer in every:
                writer.queue.put(None)
            for writer in every:
                writer.join()
        for writer in every:
            if writer.error is not None:
                raise writer.error
        counts = ", ".join(f"{name} {sum(w.count for w in ws):,}" for name, ws in writers.items())
        log.info("CsvExampleGen: %s rows in %.1f s (%s; %d file(s) per split)", f"{rows:,}",
                 time.monotonic() - started, counts, shards)

    @staticmethod
    def _put(writer: _SplitWriter, records: list[bytes]) -> None:
        if writer.error is not None:
            raise writer.error
        writer.queue.put(records)
