"""A throwaway MariaDB server for tests: own data dir, 127.0.0.1 on a free port, stopped by PID.

Needs Debian's ``mariadb-server`` (``make system-deps`` installs it). Tests that use it
skip with a clear reason when the binaries are missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DATABASE, USER, PASSWORD = "mlmd", "mlmd", "test-only-password"


def binaries_missing() -> str | None:
    """Why no server can be started here, or None."""
    for name in ("mariadbd", "mariadb-install-db", "mariadb"):
        if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists():
            return f"{name} not installed (run `make system-deps`)"
    return None


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MariaDb:
    """One server process; ``start()`` initialises the data dir on first use, ``stop()`` ends it."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def socket_path(self) -> Path:
        return self.folder / "mysqld.sock"

    @property
    def env(self) -> dict[str, str]:
        """The onprem profile's MLMD settings for this server."""
        return {
            "MLMD_MYSQL_HOST": "127.0.0.1", "MLMD_MYSQL_PORT": str(self.port),
            "MLMD_MYSQL_DATABASE": DATABASE, "MLMD_MYSQL_USER": USER, "MLMD_MYSQL_PASSWORD": PASSWORD,
        }

    def start(self, timeout: float = 60.0) -> None:
        datadir = self.folder / "data"
        fresh = not datadir.exists()
        if fresh:
            self.folder.mkdir(parents=True, exist_ok=True)
            subprocess.run([_binary("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}",
                            "--user=root", "--auth-root-authentication-method=socket",
                            "--skip-test-db"], check=True, capture_output=True)
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [_binary("mariadbd"), "--no-defaults", f"--datadir={datadir}", f"--socket={self.socket_path}",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--user=root",
             f"--pid-file={self.folder / 'mysqld.pid'}", "--skip-log-bin", "--innodb-buffer-pool-size=64M"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while self.sql("SELECT 1", check=False).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"MariaDB did not start; see {self.folder / 'server.log'}")
            time.sleep(0.3)
        if fresh:
            self.sql(f"CREATE DATABASE {DATABASE}; "
                     f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
                     f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'127.0.0.1';")

    def sql(self, statement: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs SQL as root over the socket."""
        return subprocess.run([_binary("mariadb"), f"--socket={self.socket_path}", "-uroot", "-N", "-e",
                               statement], check=check, capture_output=True, text=True)

    def stop(self) -> None:
        """Stops this server by its PID (SIGTERM, then SIGKILL after 30 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
