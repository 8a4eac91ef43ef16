"""A standalone Flink session cluster on 127.0.0.1: one JobManager, N TaskManagers, one SDK worker pool.

On-prem teams run their own Flink cluster; this module starts a small one on this
machine so the Flink engine can be developed and tested here. Every process is started
with ``java -cp`` from the jars that ``make flink-setup`` fetched (Flink's own
entrypoints, exactly what ``bin/start-cluster.sh`` runs), and is stopped by the PID
recorded at start. Memory settings come from Flink's own calculator (``BashJavaUtils``,
as the shell scripts do), so nothing about Flink's memory model is re-implemented here.

Beam's Python SDK workers run in an ``EXTERNAL`` worker pool
(``apache_beam.runners.worker.worker_pool_main``) started from the pipeline's own
environment with the repository on ``PYTHONPATH``, so ``models/`` (Transform's
``preprocessing_fn``) imports on the workers. One pool serves all TaskManagers of a
host; each SDK worker is its own process, so parallelism 2 uses both cores.

Layout under ``state`` (default ``outputs/flink``): ``conf/`` (generated), ``log/``
(one log per process), ``pids/`` (one PID file per process).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import REPO_ROOT

log = logging.getLogger(__name__)

FLINK_VERSION = "1.20.3"
DEFAULT_HOME = REPO_ROOT / ".tools" / "flink"
DEFAULT_STATE = REPO_ROOT / "outputs" / "flink"

JOBMANAGER_CLASS = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TASKMANAGER_CLASS = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
MEMORY_CALCULATOR = "org.apache.flink.runtime.util.bash.BashJavaUtils"
_CALCULATOR_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:"

# What Flink's default config.yaml sets for Java 17 (env.java.opts.all): the module
# openings its serializers (Kryo) and RPC need.
JAVA_17_OPTIONS = (
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    *(f"--add-opens=java.base/{package}=ALL-UNNAMED" for package in (
        "java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect", "java.text",
        "java.time", "java.util", "java.util.concurrent", "java.util.concurrent.atomic",
        "java.util.concurrent.locks")),
)

LOG4J_PROPERTIES = """\
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
"""


class FlinkClusterError(RuntimeError):
    """The local cluster cannot be started, or is not healthy."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class LocalFlinkCluster:
    """Where the jars are, where state goes, and the cluster's shape and ports.

    ``slots_per_taskmanager`` x ``taskmanagers`` is the most parallelism a job gets.
    ``restart_attempts`` is Flink's fixed-delay restart strategy: a job whose
    TaskManager dies is restarted on the slots that remain (0: the job fails at once).
    Two TaskManagers with two slots each keep parallelism 2 after losing one of them.
    """

    home: Path = DEFAULT_HOME
    state: Path = DEFAULT_STATE
    rest_port: int = 8081
    rpc_port: int = 6123
    worker_pool_port: int = 50000
    taskmanagers: int = 2
    slots_per_taskmanager: int = 2
    jobmanager_memory: str = "1024m"
    taskmanager_memory: str = "1536m"
    restart_attempts: int = 3
    restart_delay: str = "2 s"
    python: str = sys.executable

    @property
    def lib(self) -> Path:
        return self.home / "lib"

    @property
    def conf_dir(self) -> Path:
        return self.state / "conf"

    @property
    def log_dir(self) -> Path:
        return self.state / "log"

    @property
    def pid_dir(self) -> Path:
        return self.state / "pids"

    @property
    def master(self) -> str:
        """What Beam's ``--flink_master`` takes: the REST endpoint."""
        return f"127.0.0.1:{self.rest_port}"

    @property
    def worker_pool(self) -> str:
        """What Beam's ``--environment_config`` takes for the EXTERNAL worker pool."""
        return f"127.0.0.1:{self.worker_pool_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def settings(self) -> dict[str, str]:
        """Flink configuration (the flat keys of ``config.yaml``); everything binds to 127.0.0.1."""
        return {
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": str(self.rpc_port),
            "jobmanager.bind-host": "127.0.0.1",
            "jobmanager.memory.process.size": self.jobmanager_memory,
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": str(self.rest_port),
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.numberOfTaskSlots": str(self.slots_per_taskmanager),
            "taskmanager.memory.process.size": self.taskmanager_memory,
            "parallelism.default": "1",
            # Subtasks of one job spread over the TaskManagers, so losing one loses part of the job.
            "cluster.evenly-spread-out-slots": "true",
            "restart-strategy.type": "fixed-delay" if self.restart_attempts else "none",
            "restart-strategy.fixed-delay.attempts": str(self.restart_attempts),
            "restart-strategy.fixed-delay.delay": self.restart_delay,
            # A job that lost its slots waits this long for new ones before it fails.
            "slot.request.timeout": "60000",
            "heartbeat.timeout": "20000",
            "io.tmp.dirs": str(self.state / "tmp"),
            "web.tmpdir": str(self.state / "tmp"),
        }


def java_binary() -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` on the PATH."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if not found:
        raise FlinkClusterError("no Java found (set JAVA_HOME or put java on the PATH); "
                                "Flink needs Java 11 or 17")
    return found


def check_installed(cluster: LocalFlinkCluster) -> None:
    """One clear error if ``make flink-setup`` has not fetched Flink's jars."""
    if not any(cluster.lib.glob(f"flink-runtime-{FLINK_VERSION}.jar")):
        raise FlinkClusterError(f"Flink {FLINK_VERSION} is not installed in {cluster.home}: "
                                "run `make flink-setup`")


def write_config(cluster: LocalFlinkCluster) -> None:
    """``conf/config.yaml`` (flat keys are valid YAML) and the log4j file."""
    for folder in (cluster.conf_dir, cluster.log_dir, cluster.pid_dir, cluster.state / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}: {json.dumps(value)}" for key, value in cluster.settings().items()]
    (cluster.conf_dir / "config.yaml").write_text("\n".join(lines) + "\n")
    (cluster.conf_dir / "log4j.properties").write_text(LOG4J_PROPERTIES)


def _classpath(cluster: LocalFlinkCluster) -> str:
    return os.pathsep.join(str(jar) for jar in sorted(cluster.lib.glob("*.jar")))


def _memory_params(cluster: LocalFlinkCluster, command: str) -> tuple[list[str], list[str]]:
    """JVM options and ``-D`` settings from Flink's own memory calculator (as its scripts do)."""
    result = subprocess.run(
        [java_binary(), "-cp", _classpath(cluster), MEMORY_CALCULATOR, command,
         "--configDir", str(cluster.conf_dir)],
        capture_output=True, text=True, check=False)
    values = [line[len(_CALCULATOR_PREFIX):] for line in result.stdout.splitlines()
              if line.startswith(_CALCULATOR_PREFIX)]
    if result.returncode != 0 or len(values) < 2:
        raise FlinkClusterError(f"Flink's memory calculator failed: {result.stderr.strip()[-300:]}")
    return values[0].split(), values[1].split()


def _pid_file(cluster: LocalFlinkCluster, name: str) -> Path:
    return cluster.pid_dir / f"{name}.pid"


def _start(cluster: LocalFlinkCluster, name: str, command: list[str],
           env: dict[str, str] | None = None) -> int:
    log_file = cluster.log_dir / f"{name}.out"
    with log_file.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True, cwd=cluster.state)
    _pid_file(cluster, name).write_text(f"{process.pid}\n")
    log.info("started %s (pid %d), log %s", name, process.pid, log_file)
    return process.pid


def _java_command(cluster: LocalFlinkCluster, name: str, main_class: str, calculator: str) -> list[str]:
    jvm, dynamic = _memory_params(cluster, calculator)
    return [java_binary(), *jvm, *JAVA_17_OPTIONS,
            f"-Dlog.file={cluster.log_dir / (name + '.log')}",
            f"-Dlog4j.configurationFile=file:{cluster.conf_dir / 'log4j.properties'}",
            "-cp", _classpath(cluster), main_class, "--configDir", str(cluster.conf_dir), *dynamic]


def start_jobmanager(cluster: LocalFlinkCluster) -> int:
    command = _java_command(cluster, "jobmanager", JOBMANAGER_CLASS, "GET_JM_RESOURCE_PARAMS")
    return _start(cluster, "jobmanager", [*command, "--executionMode", "cluster"])


def start_taskmanager(cluster: LocalFlinkCluster, index: int) -> int:
    name = f"taskmanager-{index}"
    # The resource id is what the REST API shows as a subtask's "taskmanager-id": the process's name.
    command = _java_command(cluster, name, TASKMANAGER_CLASS, "GET_TM_RESOURCE_PARAMS")
    return _start(cluster, name, [*command, "-D", f"taskmanager.resource-id={name}"])


def start_worker_pool(cluster: LocalFlinkCluster) -> int:
    """Beam's SDK worker pool, from the pipeline's environment, with ``models/`` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    return _start(cluster, "worker-pool", [
        cluster.python, "-m", "apache_beam.runners.worker.worker_pool_main",
        f"--service_port={cluster.worker_pool_port}"], env=env)


def rest(cluster: LocalFlinkCluster, path: str, timeout: float = 5.0) -> Any:
    """GET one resource of Flink's REST API (``/overview``, ``/jobs/overview``, ...) as JSON."""
    with urllib.request.urlopen(f"{cluster.rest_url}{path}", timeout=timeout) as response:
        return json.load(response)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def health(cluster: LocalFlinkCluster) -> dict[str, Any]:
    """Flink's ``/overview`` plus whether the worker pool listens; raises if the REST API is down."""
    try:
        overview = rest(cluster, "/overview")
    except (urllib.error.URLError, OSError) as error:
        raise FlinkClusterError(f"Flink REST API at {cluster.rest_url} does not answer: {error}") from None
    overview["worker_pool_listening"] = _port_open(cluster.worker_pool_port)
    return overview


def is_healthy(cluster: LocalFlinkCluster, overview: dict[str, Any]) -> bool:
    return (overview.get("taskmanagers", 0) >= cluster.taskmanagers
            and overview.get("slots-total", 0) >= cluster.taskmanagers * cluster.slots_per_taskmanager
            and overview["worker_pool_listening"])


def running_pids(cluster: LocalFlinkCluster) -> dict[str, int]:
    """The cluster's processes that are alive, by name, from the PID files."""
    alive = {}
    for pid_file in sorted(cluster.pid_dir.glob("*.pid")):
        pid = int(pid_file.read_text().strip())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive[pid_file.stem] = pid
    return alive


def wait_healthy(cluster: LocalFlinkCluster, timeout: float = 120.0) -> dict[str, Any]:
    """Polls ``/overview`` until all TaskManagers registered their slots and the pool listens."""
    deadline = time.monotonic() + timeout
    last: object = "no answer yet"
    while time.monotonic() < deadline:
        expected = {"jobmanager", "worker-pool", *(f"taskmanager-{i}" for i in range(cluster.taskmanagers))}
        dead = expected - set(running_pids(cluster))
        if dead:
            raise FlinkClusterError(f"{', '.join(sorted(dead))} exited; see {cluster.log_dir}")
        try:
            overview = health(cluster)
            if is_healthy(cluster, overview):
                return overview
            last = overview
        except FlinkClusterError as error:
            last = error
        time.sleep(1.0)
    raise FlinkClusterError(f"Flink cluster not healthy after {timeout:.0f} s ({last}); "
                            f"see {cluster.log_dir}")


def start(cluster: LocalFlinkCluster, timeout: float = 120.0) -> dict[str, Any]:
    """Starts every process (unless the cluster already runs) and waits until it is healthy."""
    check_installed(cluster)
    if running_pids(cluster):
        raise FlinkClusterError(f"a Flink cluster from {cluster.state} is already running: "
                                "`make flink-down` first")
    for port in (cluster.rest_port, cluster.rpc_port, cluster.worker_pool_port):
        if _port_open(port):
            raise FlinkClusterError(f"port {port} on 127.0.0.1 is taken; choose another")
    write_config(cluster)
    try:
        start_jobmanager(cluster)
        for index in range(cluster.taskmanagers):
            start_taskmanager(cluster, index)
        start_worker_pool(cluster)
        return wait_healthy(cluster, timeout)
    except BaseException:
        stop(cluster)
        raise


def kill(cluster: LocalFlinkCluster, name: str, sig: int = signal.SIGKILL) -> int:
    """Sends ``sig`` to one process of the cluster (by its PID file); returns the PID."""
    pid = int(_pid_file(cluster, name).read_text().strip())
    os.kill(pid, sig)
    return pid


def stop(cluster: LocalFlinkCluster, timeout: float = 30.0) -> list[str]:
    """Stops every process this cluster started, by PID (TERM, then KILL); returns their names.

    Each process leads its own session, so the worker pool's SDK workers go with it.
    """
    stopped = []
    for name, pid in running_pids(cluster).items():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        stopped.append((name, pid))
    deadline = time.monotonic() + timeout
    for name, pid in stopped:
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        _pid_file(cluster, name).unlink(missing_ok=True)
    return [name for name, _ in stopped]


def _alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
