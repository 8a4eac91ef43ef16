"""Dataflow workers can use the pipeline image (--sdk_container_image): its entrypoint is Beam's
boot program, and what boot starts (sdk_worker_main) runs our preprocessing_fn.

The last test is Beam's own recipe for trying a custom SDK container without Dataflow:
PortableRunner with an embedded job server and ``--environment_type=DOCKER``. Beam's runner
starts the image through its entrypoint with the flags a Dataflow worker VM passes (worker
id, logging, control, artifact and provision endpoints); boot fetches the pipeline options
from the provision service and execs ``python -m apache_beam.runners.worker.sdk_worker_main``,
which runs TFT's analyze and transform stages with models.preprocessing. Beam calls
``docker``: a shim maps it to the engine, mounts the test folder at the same path (TFT's
temp dir and the output, where Dataflow would use gs://) and labels each container, so the
test removes every one it caused.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import uuid
from pathlib import Path

import apache_beam as beam
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from apache_beam.options.pipeline_options import PipelineOptions
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from models import features
from models.preprocessing import preprocessing_fn
from pipeline.runners import container
from tests.support.image import ENGINE, IMAGE
from tests.support.sample import read_sample_rows

pytestmark = [pytest.mark.e2e, pytest.mark.image]

BOOT = "/opt/apache/beam/boot"
ROWS = 200
RAW_SPEC = {
    "fare": tf.io.FixedLenFeature([1], tf.float32),
    "trip_miles": tf.io.FixedLenFeature([1], tf.float32),
    "trip_seconds": tf.io.VarLenFeature(tf.int64),
    "payment_type": tf.io.FixedLenFeature([1], tf.string),
    "tips": tf.io.FixedLenFeature([1], tf.float32),
}


def _in_image(tmp_path: Path, *argv: str) -> tuple[int, str]:
    runner = container.ContainerRunner(IMAGE, mounts=(), engine=ENGINE, name_prefix="taxi-edge-test")
    runner.check()
    log = tmp_path / "command.log"
    code = runner(list(argv), log, None, {})
    return code, log.read_text()


def test_the_entrypoint_is_beams_boot_program_and_it_runs_in_the_image(tmp_path):
    inspected = subprocess.run([ENGINE, "image", "inspect", "--format", "{{json .Config.Entrypoint}}", IMAGE],
                               capture_output=True, text=True, check=True).stdout
    assert json.loads(inspected) == [BOOT]
    code, output = _in_image(tmp_path, BOOT, "--help")
    assert "-provision_endpoint" in output and "-control_endpoint" in output, output[-2000:]
    assert code in (0, 2), output[-2000:]  # Go's flag package exits 2 after -help


def test_sdk_worker_main_imports_in_the_image_with_our_preprocessing_fn(tmp_path):
    code, output = _in_image(
        tmp_path, "python", "-c",
        "import os, apache_beam, apache_beam.runners.worker.sdk_worker_main as m, models.preprocessing as p;"
        "print(apache_beam.__version__, os.getuid(), p.preprocessing_fn.__module__, m.__file__)")
    assert code == 0, output[-2000:]
    version, uid, module, path = output.split()[-4:]
    assert version == beam.__version__
    assert int(uid) != 0
    assert module == "models.preprocessing"
    assert path.startswith("/app/.venv/")


def _raw_rows(count: int) -> list[dict]:
    header, rows = read_sample_rows()
    raw = []
    for values in rows[: count]:
        row = dict(zip(header, values, strict=True))
        raw.append({
            "fare": [float(row["fare"] or 0)], "trip_miles": [float(row["trip_miles"] or 0)],
            "trip_seconds": [int(row["trip_seconds"])] if row["trip_seconds"] else [],
            "payment_type": [row["payment_type"].encode()], "tips": [float(row["tips"] or 0)],
        })
    return raw


@pytest.fixture
def docker_shim(tmp_path, monkeypatch):
    """`docker` for Beam's DockerSdkWorkerHandler, run by the engine; yields the containers' label.

    Workers run as root here: this process (root) creates TFT's temp folders while the
    pipeline runs, with mode 0755 whatever the umask (TensorFlow's mkdir), and the image's
    user could not write into them; on Dataflow both sides write to gs://, which has no
    owners. The image's own user is what the KFP task test runs as.
    """
    label = f"taxi-edge-test={uuid.uuid4().hex[:8]}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ulimits = " ".join(container.host_ulimits())
    shim = bin_dir / "docker"
    shim.write_text(f"""#!/bin/sh
case "$1" in
  pull) exec {ENGINE} image inspect "$2" >/dev/null ;;   # no registry: the built image is local
  run) shift; exec {ENGINE} run --label {label} --volume {tmp_path}:{tmp_path} --user 0:0 {ulimits} "$@" ;;
  *) exec {ENGINE} "$@" ;;
esac
""")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield label
    for name in _labelled(label):
        container.remove(ENGINE, name)
    assert _labelled(label) == []


def _labelled(label: str) -> list[str]:
    listed = subprocess.run([ENGINE, "ps", "--all", "--filter", f"label={label}", "--format", "{{.Names}}"],
                            capture_output=True, text=True, check=True).stdout
    return listed.split()


def test_workers_started_through_the_entrypoint_run_our_preprocessing_fn(tmp_path, docker_shim):
    work = tmp_path / "work"
    work.mkdir()
    _transform_in_workers(work)
    started = _labelled(docker_shim)
    assert started, "no worker container was started: the pipeline did not run in the image"
    written = sorted(work.glob("keys*"))
    assert written
    lines = [ast.literal_eval(line) for path in written for line in path.read_text().splitlines()]
    assert len(lines) == ROWS
    expected = {*features.dense_feature_names(), *features.categorical_feature_names(), features.LABEL_KEY}
    assert all(set(keys) == expected for keys in lines)
    vocabulary = list(work.glob(f"tft-tmp/**/{features.vocabulary_name('payment_type')}"))
    assert vocabulary, "the analyzer's vocabulary was not written"
    assert "Credit Card" in vocabulary[0].read_text().splitlines()


def _transform_in_workers(work: Path) -> None:
    """TFT's analyze and transform with our preprocessing_fn, on workers in the image."""
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    options = PipelineOptions(["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=DOCKER",
                               f"--environment_config={IMAGE}", "--sdk_location=container"])
    with tft_beam.Context(temp_dir=str(work / "tft-tmp")), beam.Pipeline(options=options) as p:
        rows = p | beam.Create(_raw_rows(ROWS), reshuffle=False)
        (transformed, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False)
        _ = transformed | beam.Map(sorted) | beam.io.WriteToText(str(work / "keys"))
