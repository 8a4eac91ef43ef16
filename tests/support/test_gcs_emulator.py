"""The test GCS emulator serves what the pipeline does on gs://: TF's filesystem and Beam's GCS IO."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.filesystems import FileSystems
from apache_beam.testing.util import assert_that, equal_to
from tfx.dsl.io import fileio

from tests.support.gcs_emulator import REPO_ROOT

gfile = tf.io.gfile


def test_tf_gfile_makedirs_write_read_list_and_glob_across_levels(gcs) -> None:
    root = gcs.create_bucket("gfile-basics") + "/a"
    gfile.makedirs(f"{root}/b/c")
    with gfile.GFile(f"{root}/b/c/x.txt", "w") as handle:
        handle.write("hello")
    big = os.urandom(3_000_000)  # more than one upload chunk's worth of random bytes
    with gfile.GFile(f"{root}/b/c/y.bin", "wb") as handle:
        handle.write(big)
    with gfile.GFile(f"{root}/b/empty.txt", "w") as handle:
        handle.write("")  # GFile creates nothing until the first write, on any filesystem

    assert gfile.GFile(f"{root}/b/c/x.txt").read() == "hello"
    assert gfile.GFile(f"{root}/b/c/y.bin", "rb").read() == big
    assert gfile.GFile(f"{root}/b/empty.txt").read() == ""
    assert sorted(gfile.listdir(f"{root}/b")) == ["c/", "empty.txt"]
    assert gfile.isdir(f"{root}/b/c") and not gfile.exists(f"{root}/nope")
    assert gfile.glob(f"{root}/*/*/*.txt") == [f"{root}/b/c/x.txt"]
    assert gfile.stat(f"{root}/b/c/y.bin").length == len(big)


def test_tf_gfile_renames_files_and_directories_and_removes_trees(gcs) -> None:
    root = gcs.create_bucket("gfile-rename")
    gfile.makedirs(f"{root}/src/deep")
    for name in ("one", "deep/two"):
        with gfile.GFile(f"{root}/src/{name}", "w") as handle:
            handle.write(name)
    gfile.rename(f"{root}/src/one", f"{root}/src/uno")
    gfile.rename(f"{root}/src", f"{root}/dst")

    assert not gfile.exists(f"{root}/src")
    assert gfile.GFile(f"{root}/dst/uno").read() == "one"
    assert gfile.GFile(f"{root}/dst/deep/two").read() == "deep/two"
    gfile.rmtree(f"{root}/dst")
    assert gfile.listdir(root) == []


def test_tfrecords_round_trip_through_tfx_fileio(gcs) -> None:
    root = gcs.create_bucket("records")
    path = f"{root}/examples/data.tfrecord.gz"
    fileio.makedirs(f"{root}/examples")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for index in range(100):
            writer.write(b"record-%d" % index)

    records = [bytes(r.numpy()) for r in tf.data.TFRecordDataset(path, compression_type="GZIP")]
    assert records == [b"record-%d" % index for index in range(100)]
    assert fileio.glob(f"{root}/examples/*.gz") == [path]


def test_beam_writes_matches_reads_and_deletes_on_gs(gcs) -> None:
    root = gcs.create_bucket("beam-io")
    with beam.Pipeline() as pipeline:
        _ = (pipeline | beam.Create([str(n) for n in range(500)])
             | beam.io.WriteToText(f"{root}/out/part", file_name_suffix=".txt"))
    [match] = FileSystems.match([f"{root}/out/part*"])
    paths = [m.path for m in match.metadata_list]
    assert paths == [f"{root}/out/part-00000-of-00001.txt"]
    # The same objects, seen through TF's filesystem (the other client).
    assert sorted(gfile.GFile(paths[0]).read().split()) == sorted(str(n) for n in range(500))

    with beam.Pipeline() as pipeline:
        counted = pipeline | beam.io.ReadFromText(f"{root}/out/part*") | beam.combiners.Count.Globally()
        assert_that(counted, equal_to([500]))
    FileSystems.delete(paths)  # a JSON-API batch request
    assert not FileSystems.exists(paths[0])
    # TF caches stat() results per process for 5 s (GCS_STAT_CACHE_MAX_AGE); listings are not cached.
    assert gfile.glob(f"{root}/out/*") == []


def test_a_subprocess_reaches_the_same_store_through_env_alone_and_without_credential_waits(gcs) -> None:
    root = gcs.create_bucket("child")
    script = (
        "import apache_beam as beam, tensorflow as tf, time\n"
        "from apache_beam.io.gcp.gcsio import GcsIO\n"
        "t = time.monotonic()\n"
        f"tf.io.gfile.GFile('{root}/from-tf', 'w').write('tf')\n"
        f"with GcsIO().open('{root}/from-beam', 'wb') as f: f.write(b'beam')\n"
        "print(round(time.monotonic() - t, 1))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in gcs.env} | gcs.env
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    io_seconds = float(result.stdout.split()[-1])
    # Beam's credential lookup would retry for ~20 s without the emulator's offline credentials.
    assert io_seconds < 10, f"gs:// I/O took {io_seconds} s (total {time.monotonic() - started:.0f} s)"
    assert gfile.GFile(f"{root}/from-tf").read() == "tf"
    assert gfile.GFile(f"{root}/from-beam").read() == "beam"
