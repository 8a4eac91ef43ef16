"""The container runner: its engine command, folder hand-over, limits, and a toy spec in the image."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import pytest

from pipeline.runners import container
from pipeline.runners import kfp_local as launcher
from tests.pipeline.runners.kfp_local.test_driver import _spec
from tests.support.image import ENGINE, IMAGE


def test_the_task_command_replaces_the_entrypoint_and_mounts_folders_at_the_same_path():
    runner = container.ContainerRunner("img:1", mounts=(Path("/data/run"),), engine="podman",
                                       run_args=("--x",))
    assert runner.command("task-1", ["python", "-m", "tfx.x", "--arg"]) == [
        "podman", "run", "--name", "task-1", "--network", "none", "--volume", "/data/run:/data/run", "--x",
        "--entrypoint", "python", "img:1", "-m", "tfx.x", "--arg"]


def test_an_empty_task_command_is_refused():
    with pytest.raises(ValueError, match="empty task command"):
        container.ContainerRunner("img:1", mounts=()).command("task-1", [])


def test_container_limits_never_exceed_this_process_own():
    flags = container.host_ulimits()
    limits = dict(flag.split("=") for flag in flags[1::2])
    assert set(limits) == {"nofile", "nproc"}
    assert int(limits["nofile"].split(":")[0]) <= resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert int(limits["nproc"].split(":")[0]) <= resource.getrlimit(resource.RLIMIT_NPROC)[1]


def test_the_folder_and_everything_in_it_are_handed_to_the_containers_user(tmp_path):
    owner = (4321, 4321) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.txt").write_text("x")
    container.hand_over(tmp_path, owner)
    for path in (tmp_path, tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "f.txt"):
        assert (path.stat().st_uid, path.stat().st_gid) == owner


def test_a_missing_image_is_one_clear_error():
    with pytest.raises(container.ContainerError, match="not found by false .*make image"):
        container.image_user("false", "no-such-image:1")


@pytest.mark.image
def test_a_toy_spec_runs_in_the_image_one_container_per_command_none_left(tmp_path):
    prefix = "taxi-edge-test-toy"
    runner = container.ContainerRunner(IMAGE, mounts=(tmp_path,), engine=ENGINE, name_prefix=prefix)
    runner.check()
    result = launcher.run_pipeline(_spec(tmp_path, hook=True), tmp_path / "root", run_id="r1",
                                   python="python", run_command=runner)
    made = result.artifact("make", "data")
    assert made["metadata"]["hook"] == "ran"
    content = json.loads((Path(result.artifact("use", "result")["uri"]) / "content.json").read_text())
    assert json.loads(content["upstream"][0])["extra"] == ["--n=7"]
    uid, _ = container.image_user(ENGINE, IMAGE)
    assert (Path(made["uri"]) / "content.json").stat().st_uid == uid != 0
    assert container.running(ENGINE, prefix) == []
