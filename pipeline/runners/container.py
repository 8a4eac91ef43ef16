"""Runs task commands inside the pipeline image, one container per command, as a pod would.

The local KFP launcher hands each task's resolved command to a ``run_command`` callable;
:class:`ContainerRunner` is one that runs it in the image the spec names, the way
Kubernetes runs a KFP task: the command replaces the image's entrypoint (Beam's boot),
the image's own ``python``, user and working directory, no network (everything the task
needs is in the image), and the artifact folders mounted at the same paths, since the
ExecutorInput names them by path. Every container is named, and removed when its command
ends, fails, times out or is interrupted: nothing outlives the call.

Works with podman (what `make image` installs from Debian) and docker: only common flags.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_NAME_CHARS = re.compile(r"[^a-z0-9]+")


class ContainerError(RuntimeError):
    """The engine is missing, or the image is not there (one line, what to do)."""


def host_ulimits() -> tuple[str, ...]:
    """``--ulimit`` flags that give containers this process's own open-file and process limits.

    podman's defaults for root (1048576 for both) are above what some VMs let even root set
    (no CAP_SYS_RESOURCE, as on these machines), and the container then fails to start; the
    limits this process already has can always be kept. Processes are also capped at the
    kernel's pid_max, above which runc cannot set them either.
    """
    _, files = resource.getrlimit(resource.RLIMIT_NOFILE)
    _, processes = resource.getrlimit(resource.RLIMIT_NPROC)
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text()) if Path("/proc/sys/kernel/pid_max").exists() \
        else processes
    limits = {"nofile": files, "nproc": min(processes, pid_max)}
    flags: list[str] = []
    for name, value in limits.items():
        if value != resource.RLIM_INFINITY:
            flags += ["--ulimit", f"{name}={value}:{value}"]
    return tuple(flags)


def image_user(engine: str, image: str) -> tuple[int, int] | None:
    """The image's numeric ``uid, gid`` (its ``USER``), or None when it runs as root."""
    process = subprocess.run([engine, "image", "inspect", "--format", "{{.Config.User}}", image],
                             capture_output=True, text=True, check=False)
    if process.returncode != 0:
        raise ContainerError(f"image {image} not found by {engine} (build it: make image IMAGE={image})")
    user = process.stdout.strip()
    if not user or user.split(":")[0] in ("0", "root"):
        return None
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise ContainerError(f"image {image} runs as {user!r}; a numeric USER uid:gid is expected")
    return int(uid), int(gid or uid)


def hand_over(folder: Path, owner: tuple[int, int]) -> None:
    """Gives ``folder`` and everything in it to the container's user, as a pod's fsGroup does.

    The launcher creates each task's folder on this side (as root here); the task, as the
    image's non-root user, writes its outputs into it.
    """
    uid, gid = owner
    for path in [folder, *folder.rglob("*")]:
        stat = path.lstat()
        if (stat.st_uid, stat.st_gid) != (uid, gid):
            os.lchown(path, uid, gid)


@dataclass(frozen=True)
class ContainerRunner:
    """A ``run_command`` for the KFP local launcher: each task command in its own container."""

    image: str
    mounts: tuple[Path, ...]
    engine: str = "podman"
    network: str = "none"
    run_args: tuple[str, ...] = field(default_factory=host_ulimits)
    timeout: float | None = None
    name_prefix: str = "taxi-edge"

    def check(self) -> None:
        """Fails with one clear line if the engine or the image is missing."""
        try:
            image_user(self.engine, self.image)
        except FileNotFoundError as error:
            raise ContainerError(f"container engine {self.engine!r} not found (make image-deps)") from error

    def command(self, name: str, argv: Sequence[str]) -> list[str]:
        """The engine command that runs ``argv`` in a container called ``name``."""
        if not argv:
            raise ValueError("empty task command")
        volumes = [arg for mount in self.mounts for arg in ("--volume", f"{mount}:{mount}")]
        return [self.engine, "run", "--name", name, "--network", self.network, *volumes, *self.run_args,
                "--entrypoint", argv[0], self.image, *argv[1:]]

    def __call__(self, argv: Sequence[str], log_path: Path, cwd: Path | None, env: Mapping[str, str]) -> int:
        """Runs ``argv`` in a fresh container; returns its exit code. ``cwd`` and ``env`` are the
        host's and do not apply: the task gets the image's working directory and environment."""
        owner = image_user(self.engine, self.image)
        if owner is not None:
            for mount in self.mounts:
                hand_over(Path(mount), owner)
        label = _NAME_CHARS.sub("-", f"{log_path.parent.name}-{log_path.stem}".lower()).strip("-")
        name = f"{self.name_prefix}-{label}-{uuid.uuid4().hex[:8]}"
        log.info("running %s in container %s", argv[:3], name)
        try:
            with log_path.open("w") as handle:
                return subprocess.run(self.command(name, argv), stdout=handle, stderr=subprocess.STDOUT,
                                      check=False, timeout=self.timeout).returncode
        except subprocess.TimeoutExpired:
            with log_path.open("a") as handle:
                handle.write(f"\n[container {name} stopped after {self.timeout} s]\n")
            return 124
        finally:
            remove(self.engine, name)


def remove(engine: str, name: str) -> None:
    """Stops and removes a container by name; nothing happens if it is already gone."""
    subprocess.run([engine, "rm", "--force", name], capture_output=True, check=False)


def running(engine: str, prefix: str) -> list[str]:
    """Names of the containers (running or not) whose name starts with ``prefix``."""
    process = subprocess.run([engine, "ps", "--all", "--format", "{{.Names}}"], capture_output=True,
                             text=True, check=True)
    return [name for name in process.stdout.split() if name.startswith(prefix)]
