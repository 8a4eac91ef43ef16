"""Running TFLite variants and the SavedModel on the same eval rows: predictions and latency."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from pipeline.components.tflite_converter import edge_client
from pipeline.components.tflite_converter.examples import batched

PREDICT_BATCH = 1024


def runtime_name() -> str:
    """The interpreter variants are measured on: the edge runtime (LiteRT) when installed."""
    interpreter = edge_client.default_interpreter_class()
    return f"{interpreter.__module__}.{interpreter.__name__}"


def tflite_model(flatbuffer: bytes, output: str | None = None) -> edge_client.TFLiteModel:
    """The bundle client's model wrapper, on the bundle's runtime (``ai-edge-litert``), as on a device."""
    return edge_client.TFLiteModel(model_content=flatbuffer, output=output)


def rows_of(inputs: Mapping[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {name: values[start:stop] for name, values in inputs.items()}


def predict(model: Callable[[Mapping[str, np.ndarray]], np.ndarray], inputs: Mapping[str, np.ndarray],
            batch_size: int = PREDICT_BATCH) -> np.ndarray:
    rows = len(next(iter(inputs.values())))
    return np.concatenate([model(rows_of(inputs, s, min(s + batch_size, rows)))
                           for s in range(0, rows, batch_size)])


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first call allocates
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000.0


def tflite_latency(model: edge_client.TFLiteModel, inputs: Mapping[str, np.ndarray], sample: int,
                   batch_size: int) -> tuple[float, float]:
    """Median milliseconds of one single-row call and of one ``batch_size``-row call."""
    rows = len(next(iter(inputs.values())))
    singles = [rows_of(inputs, i, i + 1) for i in range(min(sample, rows))]
    cursor = iter(range(10**9))

    def one_row() -> None:
        model(singles[next(cursor) % len(singles)])

    single = _median_ms(one_row, len(singles))
    batch = rows_of(inputs, 0, min(batch_size, rows))
    batched_ms = _median_ms(lambda: model(batch), max(5, min(50, sample // 10)))
    return single, batched_ms


def saved_model_predict(serving: Callable, serialized: Sequence[bytes], batch_size: int = PREDICT_BATCH
                        ) -> np.ndarray:
    """Probabilities from the SavedModel's ``serving_default`` (raw examples in)."""
    parts = [serving(examples=tf.constant(list(chunk)))["outputs"].numpy().reshape(-1)
             for chunk in batched(serialized, batch_size)]
    return np.concatenate(parts)


def saved_model_latency(serving: Callable, serialized: Sequence[bytes], sample: int) -> float:
    """Median milliseconds of one ``serving_default`` call on a single raw example."""
    singles = [tf.constant([s]) for s in serialized[:sample]]
    cursor = iter(range(10**9))

    def one_row() -> None:
        serving(examples=singles[next(cursor) % len(singles)])

    return _median_ms(one_row, len(singles))
