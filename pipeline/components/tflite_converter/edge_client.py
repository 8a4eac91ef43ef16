"""Reference edge client: raw taxi rows in, big-tip probabilities out, without TensorFlow.

This file ships inside every pushed TFLite bundle. It needs only numpy and a TFLite
interpreter (``ai-edge-litert``; ``tflite-runtime`` or TensorFlow also work), and it
replays the pipeline's Transform step from ``preprocessing.json``, which the TFLite
component derived from the Transform graph and checked against it before pushing.

Input contract (one row = one trip, as in the training CSV):

* a row maps column names to values: CSV strings, numbers, or ``None``;
  an empty string or ``None`` means "missing"; columns the model does not use are ignored;
* ``required`` columns must be present (the SavedModel rejects rows without them);
  a missing optional numeric column counts as ``default`` (0), a missing string as ``""``;
* numeric columns: ``log1p(max(x, 0))``, then ``(v - mean) / sqrt(var)`` in float32;
* string columns: the id of the value in ``vocabulary`` (exact, case-sensitive match),
  ``oov_id`` for any value not in it.

Command line: ``python edge_client.py BUNDLE_DIR rows.csv`` prints one JSON list of
probabilities (``-`` reads the CSV from stdin).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SPEC_FILE = "preprocessing.json"
SPEC_FORMAT = "taxi-edge-preprocessing"
SPEC_VERSION = 1


def default_interpreter_class() -> Any:
    """The first TFLite interpreter available: LiteRT, then tflite-runtime, then TensorFlow."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    import tensorflow as tf

    return tf.lite.Interpreter


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or (
        isinstance(value, float) and math.isnan(value)
    )


def _as_text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Preprocessor:
    """Turns raw rows into the model's named inputs, as the Transform graph does."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if spec.get("format") != SPEC_FORMAT or spec.get("version") != SPEC_VERSION:
            raise ValueError(f"unsupported preprocessing spec: {spec.get('format')} v{spec.get('version')}")
        self.spec = spec
        self._vocabularies = {
            f["column"]: {word: index for index, word in enumerate(f["vocabulary"])}
            for f in spec["features"] if f["transform"] == "vocabulary"
        }

    def _numeric(self, feature: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        column = feature["column"]
        values = np.empty(len(rows), dtype=np.float32)
        for i, row in enumerate(rows):
            raw = row.get(column)
            if _missing(raw):
                if feature["required"]:
                    raise ValueError(f"row {i}: required column {column!r} is missing")
                raw = feature["default"]
            values[i] = np.float32(float(raw))
        logged = np.log1p(np.maximum(values, np.float32(0.0)))
        centred = logged - np.float32(feature["mean"])
        std = np.sqrt(np.float32(feature["var"]))
        scaled = centred / std if std != 0 else centred
        return scaled.astype(np.float32)

    def _vocabulary(self, feature: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        column = feature["column"]
        vocabulary = self._vocabularies[column]
        ids = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            raw = row.get(column)
            if raw is None or (isinstance(raw, str) and raw == ""):
                if feature["required"]:
                    raise ValueError(f"row {i}: required column {column!r} is missing")
                raw = feature["default"]
            ids[i] = vocabulary.get(_as_text(raw), feature["oov_id"])
        return ids

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Model inputs keyed by name, each shaped ``[len(rows), 1]``."""
        inputs = {}
        for feature in self.spec["features"]:
            if feature["transform"] == "log1p_z_score":
                values = self._numeric(feature, rows)
            elif feature["transform"] == "vocabulary":
                values = self._vocabulary(feature, rows)
            else:
                raise ValueError(f"unknown transform {feature['transform']!r}")
            inputs[feature["model_input"]] = values.reshape(-1, 1)
        return inputs


def quantize(values: np.ndarray, details: Mapping[str, Any]) -> np.ndarray:
    """Float values to the tensor's type (int8/uint8 tensors use their scale and zero point)."""
    dtype = np.dtype(details["dtype"])
    scale, zero_point = details.get("quantization", (0.0, 0))
    if dtype.kind in "iu" and scale and np.asarray(values).dtype.kind == "f":
        info = np.iinfo(dtype)
        return np.clip(np.round(values / scale) + zero_point, info.min, info.max).astype(dtype)
    return np.asarray(values).astype(dtype)


def dequantize(values: np.ndarray, details: Mapping[str, Any]) -> np.ndarray:
    """A tensor's values as float32 (quantized tensors are rescaled)."""
    scale, zero_point = details.get("quantization", (0.0, 0))
    if np.asarray(values).dtype.kind in "iu" and scale:
        return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return np.asarray(values, dtype=np.float32)


class TFLiteModel:
    """A ``.tflite`` model called through its signature, inputs by name.

    Tensors are resized only when the batch size changes, so repeated single-row calls
    cost one ``invoke`` each (this is also how the pipeline measures latency).
    """

    def __init__(self, model_path: str | None = None, model_content: bytes | None = None,
                 interpreter_class: Any = None, signature: str = "serving_default",
                 output: str | None = None) -> None:
        interpreter_class = interpreter_class or default_interpreter_class()
        if model_content is not None:
            self.interpreter = interpreter_class(model_content=model_content)
        else:
            self.interpreter = interpreter_class(model_path=str(model_path))
        runner = self.interpreter.get_signature_runner(signature)
        self.inputs = runner.get_input_details()
        outputs = runner.get_output_details()
        self.output = outputs[output] if output else next(iter(outputs.values()))
        self._batch: int | None = None

    def _allocate(self, batch: int) -> None:
        for details in self.inputs.values():
            shape = list(details["shape"])
            self.interpreter.resize_tensor_input(details["index"], [batch, *shape[1:]])
        self.interpreter.allocate_tensors()
        self._batch = batch

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Probabilities, shape ``[batch]``."""
        batch = len(next(iter(inputs.values())))
        if batch != self._batch:
            self._allocate(batch)
        for name, details in self.inputs.items():
            self.interpreter.set_tensor(details["index"], quantize(inputs[name], details))
        self.interpreter.invoke()
        return dequantize(self.interpreter.get_tensor(self.output["index"]), self.output).reshape(batch)


class EdgeModel:
    """A pushed bundle: ``preprocessing.json`` plus the ``.tflite`` (or ``.tflite.gz``) model it names."""

    def __init__(self, bundle_dir: str | Path, interpreter_class: Any = None) -> None:
        bundle = Path(bundle_dir)
        self.spec = json.loads((bundle / SPEC_FILE).read_text())
        self.preprocess = Preprocessor(self.spec)
        model_file = bundle / self.spec["model_file"]
        # A compressed bundle (``model.tflite.gz``) is decompressed in memory: the interpreter
        # needs the whole flatbuffer either way, the gzip saves download and storage only.
        content = gzip.decompress(model_file.read_bytes()) if model_file.suffix == ".gz" else None
        self.model = TFLiteModel(None if content else model_file, model_content=content,
                                 interpreter_class=interpreter_class, signature=self.spec["signature"],
                                 output=self.spec["output"])

    def predict(self, rows: Sequence[Mapping[str, Any]], batch_size: int = 256) -> np.ndarray:
        """Probability of a big tip for every row."""
        chunks = [self.model(self.preprocess(rows[i:i + batch_size]))
                  for i in range(0, len(rows), batch_size)]
        return np.concatenate(chunks) if chunks else np.empty(0, dtype=np.float32)


def read_csv(lines: Iterable[str]) -> list[dict[str, str]]:
    """CSV rows as dicts of strings (empty cells stay empty strings: missing)."""
    return list(csv.DictReader(lines))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python edge_client.py BUNDLE_DIR rows.csv|-", file=sys.stderr)
        return 2
    bundle, source = argv
    if source == "-":
        rows = read_csv(sys.stdin)
    else:
        with open(source, newline="") as handle:
            rows = read_csv(handle)
    print(json.dumps([float(p) for p in EdgeModel(bundle).predict(rows)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
