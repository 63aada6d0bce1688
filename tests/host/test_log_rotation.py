"""The json-file log rotated by the monitor as Docker rotates it (--log-opt max-size/max-file),
`logs` across the rotated files and `logs --follow` through rotations, and --log-driver none."""
import os
import subprocess
import sys

import pytest

from dockyard.engine.errors import Conflict
from dockyard.engine.runtime import process

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]
PRINT = "for i in $(seq 1 {n}); do echo line-$i; done"


def run(engine, script, **log_opts):
    container = engine.containers.run(
        "busybox", ["sh", "-c", script], detach=True, network_mode="none",
        log_config={"type": "json-file", "config": log_opts})
    return container


def lines(container) -> list[str]:
    return container.logs().decode().splitlines()


def files(container) -> dict[str, int]:
    return {name: os.path.getsize(container.bundle / name) for name in os.listdir(container.bundle)
            if name.startswith("container.log")}


def test_rotation_keeps_max_file_files_of_about_max_size(engine):
    container = run(engine, PRINT.format(n=200), **{"max-size": "1k", "max-file": "3"})
    container.wait(timeout=20)
    found = files(container)
    assert sorted(found) == ["container.log", "container.log.1", "container.log.2"]
    line_size = 80      # one {"log":"line-123\n","stream":"stdout","time":"..."} line, at most
    assert all(size < 1000 + line_size for size in found.values()), found
    kept = lines(container)
    first = int(kept[0].split("-")[1])
    assert kept == [f"line-{i}" for i in range(first, 201)]      # the newest, in order, no gap
    assert len(kept) == sum(len(open(container.bundle / name).readlines()) for name in found)
    container.remove()


def test_max_file_1_empties_the_one_file(engine):
    container = run(engine, PRINT.format(n=100), **{"max-size": "1k"})
    container.wait(timeout=20)
    assert list(files(container)) == ["container.log"]
    assert lines(container)[-1] == "line-100" and len(lines(container)) < 100
    container.remove()


def test_follow_reads_on_through_rotations(engine):
    script = "for i in $(seq 1 300); do echo line-$i; [ $((i % 40)) = 0 ] && sleep 0.05; done; true"
    container = run(engine, script, **{"max-size": "2k", "max-file": "30"})
    followed = [e.data.decode().strip() for e in process.logs(str(container.bundle), follow=True)]
    assert followed == [f"line-{i}" for i in range(1, 301)]
    assert "container.log.5" in files(container)                  # it did rotate, often
    container.remove()


def test_log_driver_none_keeps_no_log_but_an_attached_run_shows_the_output(engine):
    container = engine.containers.run("busybox", ["echo", "hidden"], detach=True,
                                      network_mode="none", log_config={"type": "none"})
    container.wait(timeout=10)
    assert files(container) == {}
    assert container.attrs["LogPath"] == ""                       # as Docker's: no log file
    assert container.attrs["HostConfig"]["LogConfig"] == {"Type": "none", "Config": {}}
    with pytest.raises(Conflict, match="configured logging driver does not support reading"):
        container.logs()
    container.remove()
    done = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), "run", "--rm",
                           "--network", "none", "--log-driver", "none", "busybox", "echo", "shown"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "shown\n"), done.stderr
