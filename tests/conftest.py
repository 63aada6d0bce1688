"""Shared fixtures.

Host tests (tests/host/) use real namespaces, overlayfs, cgroups and netlink. They skip with a
reason where the host can't run them, and in CI (CI=true) a skip is a failure: CI is root with
every feature, so everything there must really run.
"""
import os
import shutil
import subprocess
import sys

import pytest

PYTHON = sys.executable


def host_problem() -> str | None:
    """Why this host can't run containers, or None. Probes features instead of checking euid."""
    if not shutil.which("busybox"):
        return "needs busybox-static (apt-get install busybox-static)"
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            return "no overlayfs"
    probe = subprocess.run(["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup",
                            "--fork", "true"], capture_output=True, text=True)
    if probe.returncode:
        return f"can't unshare namespaces: {probe.stderr.strip()}"
    return None


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    problem = None
    for item in items:
        if "python_image" in getattr(item, "fixturenames", ()):
            # the first of them may make the python image (mmdebstrap: minutes, once per
            # package set); pytest-timeout counts fixture set-up
            item.add_marker(pytest.mark.timeout(1800))
        if os.path.join(here, "host") in str(item.fspath):
            item.add_marker(pytest.mark.host)
            problem = problem if problem is not None else (host_problem() or "")
            if problem:
                item.add_marker(pytest.mark.skip(reason=problem))


def pytest_configure(config):
    config.addinivalue_line("markers", "host: needs root, namespaces, overlayfs and cgroups")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # In CI every feature exists, so a skipped test means something is broken or missing.
    if os.environ.get("CI") == "true" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI: {report.longrepr}"


def make_busybox_rootfs(path) -> str:
    """A minimal busybox tree at `path` (bin/ with applet links, etc/passwd, etc/group, tmp)."""
    path = str(path)
    for sub in ("bin", "etc", "tmp", "root", "home/user"):
        os.makedirs(f"{path}/{sub}", exist_ok=True)
    os.chmod(f"{path}/tmp", 0o1777)
    shutil.copy(shutil.which("busybox"), f"{path}/bin/busybox")
    # busybox --install -s links to the path it runs from; chrooted, that is /bin/busybox.
    subprocess.run(["chroot", path, "/bin/busybox", "--install", "-s", "/bin"], check=True)
    with open(f"{path}/etc/passwd", "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(f"{path}/etc/group", "w") as f:
        f.write("root:x:0:\nuser:x:1000:\nstaff:x:50:user\nnogroup:x:65534:\n")
    return path


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    """A read-only-by-convention busybox tree shared by the session's tests."""
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox-rootfs"))


@pytest.fixture
def data_root(tmp_path):
    """A fresh engine data root for one test."""
    root = tmp_path / "dockyard"
    root.mkdir()
    return root


def pytest_sessionfinish(session, exitstatus):
    """Remove what test data roots made in the kernel: bridges, netns files, nftables tables.

    Each test engine has its own data root under pytest's temp dir; containers die with their
    tests, but a root's default bridge and nftables table outlive it unless torn down here.
    """
    base = getattr(session.config, "_tmp_path_factory", None)
    if base is None:
        return
    try:
        basetemp = base.getbasetemp()
    except (OSError, ValueError):
        return
    from dockyard.engine.network.networks import Networks
    for state in basetemp.glob("**/networks"):
        if state.is_dir():
            try:
                Networks(state.parent).teardown()
            except Exception as exc:        # report, but never hide the test results
                print(f"teardown of {state.parent}: {exc}")


# Made once per package set and kept between test runs (mmdebstrap takes minutes).
TEST_CACHE = os.environ.get("DOCKYARD_TEST_CACHE") or os.path.expanduser("~/.cache/dockyard-tests")
# A fixed date keeps the cache key when the host's package lists are updated (apt-get update);
# kernels that bootstrap the same image get it as SOURCE_DATE_EPOCH.
TEST_EPOCH = 1717200000


@pytest.fixture(scope="session")
def python_image(tmp_path_factory):
    """A data root holding `python:latest` (Debian's python3 with ipykernel) and busybox.

    The root filesystem comes from the test cache ($DOCKYARD_TEST_CACHE/bootstrap, keyed by
    the package set), so mmdebstrap runs once per package set; kernels the tests start find
    the cache through $DOCKYARD_BOOTSTRAP_CACHE too.
    """
    from dockyard.engine import Engine
    from dockyard.engine.image.debian import CACHE_ENV

    problem = host_problem()
    if problem:
        pytest.skip(problem)
    cache = os.path.join(TEST_CACHE, "bootstrap")
    os.environ[CACHE_ENV] = cache
    root = tmp_path_factory.mktemp("python-root")
    engine = Engine(root)
    image = engine.images.bootstrap("python", cache_dir=cache, epoch=TEST_EPOCH)
    engine.images.bootstrap("busybox")
    yield {"root": root, "image": "python:latest", "id": image.id, "epoch": TEST_EPOCH}
    from dockyard.engine.errors import ContainerNotFound
    for container in engine.containers.list(all=True):
        try:
            container.remove(force=True)
        except ContainerNotFound:           # an auto-remove one the reaper took meanwhile
            pass
