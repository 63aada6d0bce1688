"""Pure parts of kernels inside containers: which cells stay on the host, kernelspec names,
the launcher's command, pip's download for another Python, Hub's rate-limit words."""
import sys

import pytest

from dockyard.engine.registry.client import rate_limit, registry_mirrors
from dockyard.kernel.inside import launcher
from dockyard.kernel.inside.forward import runs_on_host
from dockyard.kernel.inside.ipykernel_image import dockerfile, pip_download_argv
from dockyard.kernel.spec import image_kernel_json, image_kernel_name


@pytest.mark.parametrize("code, host", [
    ("%%dockerfile -t x\nFROM python", True),
    ("\n  %image ls", True),
    ("%dockyard use host", True),
    ("%container run --rm busybox echo", True),
    ("%matplotlib inline\nimport pandas", False),       # IPython's own magics run inside
    ("%pip install rich", False),
    ("x = 1\n%image ls", False),                        # only the first line decides
    ("%images", False),
    ("", True),
])
def test_cells_that_start_with_a_dockyard_magic_stay_on_the_host(code, host):
    assert runs_on_host(code) is host


def test_kernelspec_for_an_image():
    assert image_kernel_name("Python:3.11-slim") == "dockyard-python-3.11-slim"
    assert image_kernel_name("localhost:5000/team/env:1") == "dockyard-localhost-5000-team-env-1"
    spec = image_kernel_json("python:3.11", data_root="/srv/dy")
    assert spec["display_name"] == "Python 3 (dockyard: python:3.11)"
    assert spec["interrupt_mode"] == "signal"
    assert spec["metadata"]["kernel_provisioner"] == {
        "provisioner_name": "dockyard-provisioner",
        "config": {"image": "python:3.11", "data_root": "/srv/dy"}}


def test_the_launcher_puts_an_added_ipykernel_first_for_the_kernel_only():
    argv = launcher.kernel_argv(["/opt/dockyard/ipykernel"], "/s/connection.json")
    assert argv[0] == sys.executable and argv[-2:] == ["-f", "/s/connection.json"]
    assert "sys.path[0:0] = ['/opt/dockyard/ipykernel']" in argv[2]
    assert launcher.EXTRA_PATH == "/opt/dockyard/ipykernel"


def test_pip_downloads_wheels_for_the_image_python():
    same = pip_download_argv("%d.%d.1" % sys.version_info[:2], "/w")
    assert "--python-version" not in same and same[-2:] == ["ipykernel", "pip"]
    other = pip_download_argv("3.8.10", "/w")
    assert other[other.index("--python-version") + 1] == "3.8"
    assert "--only-binary=:all:" in other and "--platform" in other
    text = dockerfile("sha256:abc", "pip-24.0-py3-none-any.whl")
    assert text.splitlines()[0] == "FROM sha256:abc"
    assert "--mount=type=bind,source=wheels" in text
    assert "pip-24.0-py3-none-any.whl/pip install" in text and "--target /opt/dockyard/ipykernel" in text


class Headers:
    def __init__(self, **h):
        self.h = {k.replace("_", "-"): v for k, v in h.items()}

    def header(self, name, default=None):
        return self.h.get(name, default)


def test_docker_hub_rate_limit_words_and_mirrors(tmp_path, monkeypatch):
    assert rate_limit(Headers(ratelimit_limit="100;w=21600",
                              ratelimit_remaining="0;w=21600")) == "0 of 100 pulls left per 6 h"
    assert rate_limit(Headers()) == ""
    monkeypatch.setenv("DOCKYARD_REGISTRY_MIRRORS", "http://127.0.0.1:5001, ")
    (tmp_path / "registries.json").write_text('{"registry-mirrors": ["https://mirror.example"]}')
    assert registry_mirrors(tmp_path) == ["http://127.0.0.1:5001", "https://mirror.example"]


def test_sessions_whose_host_process_is_gone_are_swept(tmp_path, monkeypatch):
    import os
    import tempfile
    import time

    from dockyard.kernel.inside import launch
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    live, _ = launch.new_session()                  # owned by this process
    gone = tmp_path / "dyk-gone"
    gone.mkdir()
    (gone / "owner").write_text(f"{os.getpid() + 10**6} 1\n")   # no such process
    recycled = tmp_path / "dyk-recycled"
    recycled.mkdir()
    (recycled / "owner").write_text(f"{os.getpid()} 1\n")       # this pid, another start
    young, old = tmp_path / "dyk-young", tmp_path / "dyk-old"
    young.mkdir()
    old.mkdir()
    os.utime(old, (time.time() - 3600,) * 2)
    launch.sweep_sessions()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([os.path.basename(live),
                                                                 "dyk-young"])
