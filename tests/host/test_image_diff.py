"""`dockyard diff IMAGE1 IMAGE2` on real builds: files, config, layers, Debian and Python packages.

The first pair are busybox images with a dpkg status file and *.dist-info directories written
by RUN steps (every kind of change at once); the last test installs a real .deb (built by the
host's dpkg-deb, installed by busybox's dpkg) and a real wheel (built by setuptools, unpacked as
pip does) so the package sections read what the package managers themselves wrote.
"""
import json
import subprocess
import sys

import pytest

STATUS = """Package: base-files
Status: install ok installed
Version: 12.4

Package: zlib1g
Status: install ok installed
Multi-Arch: same
Architecture: amd64
Version: 1:1.2.13

Package: removed-one
Status: deinstall ok config-files
Version: 1.0
"""
CURL = "\nPackage: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n"
SITE = "/usr/lib/python3/dist-packages"


def dist(name, version):
    return (f"mkdir -p {SITE}/{name}-{version}.dist-info && printf 'Metadata-Version: 2.1\\n"
            f"Name: {name}\\nVersion: {version}\\n\\nbody\\n' > {SITE}/{name}-{version}.dist-info/METADATA")


@pytest.fixture(scope="module")
def images(engine, tmp_path_factory):
    context = tmp_path_factory.mktemp("ctx")
    (context / "status").write_text(STATUS)
    (context / "status-curl").write_text(STATUS + CURL)
    base = engine.images.build(
        "FROM busybox\nCOPY status /var/lib/dpkg/status\n"
        f"RUN {dist('requests', '2.28.1')} && {dist('six', '1.16.0')} && echo old > /etc/motd\n"
        "ENV A=1 B=2\nEXPOSE 80\n", context=str(context), tag="diffbase:1")
    changed = engine.images.build(
        "FROM diffbase:1\nCOPY status-curl /var/lib/dpkg/status\n"
        f"RUN rm -r {SITE}/requests-2.28.1.dist-info && {dist('requests', '2.31.0')} && "
        f"{dist('Flask_Login', '0.6.3')} && rm -r {SITE}/six-1.16.0.dist-info && "
        "echo newer > /etc/motd && rm /bin/vi && chmod 700 /tmp\n"
        "ENV A=2 C=3\nUSER nobody\nLABEL stage=two\n", context=str(context), tag="diffnew:1")
    return base, changed


def test_packages_files_config_and_layers(engine, images):
    base, changed = images
    result = engine.images.diff("diffbase:1", "diffnew:1")
    assert result["debian"] == [{"name": "curl", "change": "added", "old": None,
                                 "new": "7.88.1-10"}]
    assert result["python"] == [
        {"name": "flask-login", "change": "added", "old": None, "new": "0.6.3"},
        {"name": "requests", "change": "changed", "old": "2.28.1", "new": "2.31.0"},
        {"name": "six", "change": "removed", "old": "1.16.0", "new": None}]
    files = {f["path"]: f for f in result["files"]}
    assert files["/etc/motd"]["change"] == "changed" and files["/etc/motd"]["what"] == "content"
    assert (files["/etc/motd"]["old_size"], files["/etc/motd"]["size"]) == (4, 6)
    assert files["/bin/vi"]["change"] == "removed" and files["/bin/vi"]["type"] == "symlink"
    assert files["/tmp"]["what"] == "mode 1777 -> 700"
    assert files[f"{SITE}/requests-2.31.0.dist-info/METADATA"]["change"] == "added"
    assert "/bin/busybox" not in files                      # in the shared layers: not read
    config = {(c["field"], c["key"]): (c["old"], c["new"]) for c in result["config"]}
    assert config == {("Env", "A"): ("1", "2"), ("Env", "C"): (None, "3"),
                      ("User", None): (None, "nobody"), ("Labels", "stage"): (None, "two")}
    layers = result["layers"]
    assert len(layers["shared"]) == len(base.layers) and layers["only_a"] == []
    assert [row["index"] for row in layers["only_b"]] == [len(base.layers),
                                                          len(base.layers) + 1]


def test_the_other_way_round_swaps_added_and_removed(engine, images):
    result = engine.images.diff("diffnew:1", "diffbase:1")
    assert {(p["name"], p["change"]) for p in result["python"]} == {
        ("flask-login", "removed"), ("requests", "changed"), ("six", "added")}
    assert [p["change"] for p in result["debian"]] == ["removed"]


def test_an_image_against_itself_is_empty(engine, images):
    result = engine.images.diff("diffnew:1", "diffnew:1")
    assert result["files"] == result["python"] == result["debian"] == result["config"] == []


def test_layer_contents(engine, images):
    base, changed = images
    top = engine.images.layer_contents("diffnew:1", len(changed.layers) - 1)
    by_path = {e["path"]: e["change"] for e in top}
    assert by_path["/etc/motd"] == "changed" and by_path["/bin/vi"] == "removed"
    assert by_path[f"{SITE}/six-1.16.0.dist-info"] == "removed"
    assert by_path[f"{SITE}/flask_login-0.6.3.dist-info".replace("flask_login", "Flask_Login")] \
        == "added"
    assert "/etc" not in by_path                   # a directory the layer only passes through


def test_cli_text_and_json(engine, images):
    argv = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(engine.root), "diff"]
    text = subprocess.run([*argv, "diffbase:1", "diffnew:1"], capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "Debian packages: 1 added, 0 changed, 0 removed" in text.stdout
    assert "  ~ requests 2.28.1 -> 2.31.0" in text.stdout and "  D /bin/vi  (symlink)" in text.stdout
    data = subprocess.run([*argv, "--format", "json", "diffbase:1", "diffnew:1"],
                          capture_output=True, text=True)
    assert json.loads(data.stdout)["debian"][0]["name"] == "curl"
    missing = subprocess.run([*argv, "diffbase:1", "nope:1"], capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.startswith("Error: ")
    assert missing.stderr.count("\n") == 1


def real_packages(top):
    """A build context holding hello-lock_1.2-3_all.deb and tinylock-0.4.1-py3-none-any.whl."""
    context, deb, project = top / "ctx", top / "deb", top / "tinylock"
    (deb / "DEBIAN").mkdir(parents=True)
    (deb / "DEBIAN" / "control").write_text(
        "Package: hello-lock\nVersion: 1.2-3\nArchitecture: all\n"
        "Maintainer: dockyard <dev@example.org>\nDescription: a test package\n")
    (deb / "usr" / "share" / "hello-lock").mkdir(parents=True)
    (deb / "usr" / "share" / "hello-lock" / "README").write_text("hello\n")
    context.mkdir()
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(deb),
                    str(context / "hello-lock.deb")], check=True, capture_output=True)
    (project / "tinylock").mkdir(parents=True)
    (project / "tinylock" / "__init__.py").write_text("X = 1\n")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "tinylock"\nversion = "0.4.1"\n[build-system]\n'
        'requires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation",
                    "--no-deps", "--no-index", "-w", str(context), str(project)],
                   check=True, capture_output=True)
    return context


def test_a_real_debian_package_and_wheel_installed(engine, tmp_path):
    context = real_packages(tmp_path)
    engine.images.build("FROM busybox\nRUN mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates "
                        "&& touch /var/lib/dpkg/status\n", tag="realbase:1")
    engine.images.build(
        "FROM realbase:1\nCOPY hello-lock.deb tinylock-0.4.1-py3-none-any.whl /tmp/\n"
        f"RUN dpkg -i /tmp/hello-lock.deb && mkdir -p {SITE} && "
        f"unzip -q /tmp/tinylock-0.4.1-py3-none-any.whl -d {SITE} && rm /tmp/*.deb /tmp/*.whl\n",
        context=str(context), tag="realnew:1")
    result = engine.images.diff("realbase:1", "realnew:1")
    assert result["debian"] == [{"name": "hello-lock", "change": "added", "old": None,
                                 "new": "1.2-3"}]
    assert result["python"] == [{"name": "tinylock", "change": "added", "old": None,
                                 "new": "0.4.1"}]
    files = {f["path"]: f["change"] for f in result["files"]}
    assert files["/usr/share/hello-lock/README"] == "added"
    assert files["/var/lib/dpkg/status"] == "changed"
    assert files[f"{SITE}/tinylock/__init__.py"] == "added"
