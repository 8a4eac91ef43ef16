"""The local Flink session cluster: started and stopped by PID, healthy over REST, runs jobs, survives a lost
TaskManager.

Each test module starts its own cluster (JobManager, two TaskManagers with two slots each,
Beam's worker pool) on free ports under a temporary folder and stops it by PID. The job is
a small Flink batch job of our own (tests/support/flink/SlowSum.java), compiled here
against the cluster's jars and submitted over the REST API, because Beam's Flink job
server is not served by this project's package registry (docs/onprem.md).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT
from pipeline.flink import cluster as flink

pytestmark = [pytest.mark.e2e, pytest.mark.flink]

JOB_SOURCE = REPO_ROOT / "tests" / "support" / "flink" / "SlowSum.java"


def _missing() -> str | None:
    if shutil.which("javac") is None and not os.environ.get("JAVA_HOME"):
        return "no JDK (javac) on this machine"
    if not (flink.DEFAULT_HOME / "lib" / f"flink-runtime-{flink.FLINK_VERSION}.jar").exists():
        return "Flink is not installed: run `make flink-setup` (make test does)"
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    reason = _missing()
    if reason:
        pytest.fail(reason)  # make test installs Flink first: a missing install is a failure, not a skip
    state = tmp_path_factory.mktemp("flink")
    local = dataclasses.replace(
        flink.LocalFlinkCluster(), state=state, rest_port=flink.free_port(), rpc_port=flink.free_port(),
        worker_pool_port=flink.free_port(), taskmanagers=2, slots_per_taskmanager=2)
    flink.start(local, timeout=180)
    try:
        yield local
    finally:
        flink.stop(local)


@pytest.fixture(scope="module")
def job_jar(cluster: flink.LocalFlinkCluster) -> Path:
    classes = cluster.state / "job-classes"
    classes.mkdir()
    javac = Path(os.environ["JAVA_HOME"], "bin", "javac") if os.environ.get("JAVA_HOME") else "javac"
    subprocess.run([str(javac), "-d", str(classes), "-cp", str(cluster.lib / "*"), str(JOB_SOURCE)],
                   check=True, capture_output=True)
    jar = cluster.state / "slow-sum.jar"
    subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True, capture_output=True)
    return jar


def _submit(cluster: flink.LocalFlinkCluster, jar: Path, n: int, sleep_ms: int) -> subprocess.Popen:
    """The job's client, as its own process: it submits over REST and prints ``sum=...`` at the end."""
    return subprocess.Popen(
        [flink.java_binary(), *flink.JAVA_17_OPTIONS, "-cp", f"{cluster.lib / '*'}{os.pathsep}{jar}",
         "SlowSum", "127.0.0.1", str(cluster.rest_port), str(jar), str(n), str(sleep_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _finished_sum(client: subprocess.Popen, timeout: float) -> int:
    out, _ = client.communicate(timeout=timeout)
    assert client.returncode == 0, out
    return int(next(line for line in out.splitlines() if line.startswith("sum="))[len("sum="):])


def _job(cluster: flink.LocalFlinkCluster, name: str) -> dict:
    jobs = [job for job in flink.rest(cluster, "/jobs/overview")["jobs"] if job["name"] == name]
    return max(jobs, key=lambda job: job["start-time"]) if jobs else {}


def test_the_cluster_reports_its_taskmanagers_slots_and_worker_pool_over_rest(cluster):
    overview = flink.health(cluster)

    assert overview["flink-version"] == flink.FLINK_VERSION
    assert overview["taskmanagers"] == 2
    assert overview["slots-total"] == 4
    assert overview["worker_pool_listening"]
    assert set(flink.running_pids(cluster)) == {"jobmanager", "taskmanager-0", "taskmanager-1", "worker-pool"}
    assert (cluster.log_dir / "jobmanager.log").stat().st_size > 0


def test_a_job_at_parallelism_two_finishes_and_the_rest_api_lists_it(cluster, job_jar):
    assert _finished_sum(_submit(cluster, job_jar, 2000, 1), timeout=240) == 2000 * 2001 // 2

    job = _job(cluster, "slow-sum")
    assert job["state"] == "FINISHED"
    assert job["tasks"]["finished"] == job["tasks"]["total"] > 0
    details = flink.rest(cluster, f"/jobs/{job['jid']}")
    assert {vertex["parallelism"] for vertex in details["vertices"]} >= {2}


def test_a_taskmanager_killed_mid_job_is_survived_by_flinks_restart_strategy(cluster, job_jar):
    n = 20000
    client = _submit(cluster, job_jar, n, 2)
    deadline = time.monotonic() + 180
    victim = None
    while victim is None and time.monotonic() < deadline:
        job = _job(cluster, "slow-sum")
        if job.get("state") == "RUNNING":
            details = flink.rest(cluster, f"/jobs/{job['jid']}")
            for vertex in details["vertices"]:
                if vertex["status"] != "RUNNING":
                    continue
                subtasks = flink.rest(cluster, f"/jobs/{job['jid']}/vertices/{vertex['id']}")["subtasks"]
                running = [sub["taskmanager-id"] for sub in subtasks if sub["status"] == "RUNNING"]
                if running:
                    victim = running[0]
                    break
        time.sleep(0.5)
    assert victim, "the job never ran a subtask"
    flink.kill(cluster, victim, signal.SIGKILL)

    assert _finished_sum(client, timeout=400) == n * (n + 1) // 2
    job = _job(cluster, "slow-sum")
    assert job["state"] == "FINISHED"
    history = flink.rest(cluster, f"/jobs/{job['jid']}/exceptions")["exceptionHistory"]["entries"]
    assert any(victim in str(entry) for entry in history), history
    assert flink.health(cluster)["taskmanagers"] == 1
