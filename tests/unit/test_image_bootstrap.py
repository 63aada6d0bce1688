"""The busybox base image and `docker import`."""
import io
import os
import tarfile

import pytest

from dockyard.engine.errors import InvalidArgument
from dockyard.engine.image.bootstrap import apply_changes, bootstrap_busybox, import_tarball
from dockyard.engine.image.store import ImageStore


def test_busybox_image(data_root):
    store = ImageStore(data_root)
    image = bootstrap_busybox(store)
    assert image.tags == ("docker.io/library/busybox:latest",)
    assert len(image.layers) == 1
    diff = image.layers[0].snapshot
    assert os.readlink(diff / "bin" / "sh") == "/bin/busybox"
    assert os.readlink(diff / "bin" / "ls") == "/bin/busybox"
    assert store.read_file(image, "/bin/sh")[:4] == b"\x7fELF"        # through the link
    assert store.read_file(image, "/etc/passwd").startswith(b"root:x:0:0:root:/root:/bin/sh\n")
    assert b"nogroup:x:65534:" in store.read_file(image, "/etc/group")
    assert b"\nnobody:x:65534:65534:" in store.read_file(image, "/etc/passwd")
    assert os.stat(diff / "tmp").st_mode & 0o7777 == 0o1777
    assert not (diff / "proc").exists()
    config = image.config
    assert config["config"]["Cmd"] == ["sh"]
    assert config["config"]["Env"][0].startswith("PATH=")
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert config["history"][0]["created_by"].startswith("dockyard image bootstrap busybox")


def test_busybox_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = bootstrap_busybox(ImageStore(tmp_path / "a"))
    again = bootstrap_busybox(ImageStore(tmp_path / "a"))
    elsewhere = bootstrap_busybox(ImageStore(tmp_path / "b"))
    assert first.id == again.id == elsewhere.id
    assert first.layers[0].digest == elsewhere.layers[0].digest
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert bootstrap_busybox(ImageStore(tmp_path / "c"), tag="bb:epoch").id != first.id


def rootfs_tar(compression=""):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode=f"w:{compression}") as tar:
        for name, data in (("etc/os-release", b"ID=test\n"), ("bin/app", b"#!/bin/sh\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw.seek(0)
    return raw


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_import_tarball(data_root, compression):
    store = ImageStore(data_root)
    image = import_tarball(store, rootfs_tar(compression), "me/base:1",
                           changes=['CMD ["/bin/app"]', "ENV A=1 B=two", "EXPOSE 80",
                                    "WORKDIR /srv", "LABEL x=y"], message="hello")
    assert store.get("me/base:1").id == image.id
    assert store.read_file(image, "/etc/os-release") == b"ID=test\n"
    config = image.config["config"]
    assert config == {"Cmd": ["/bin/app"], "Env": ["A=1", "B=two"],
                      "ExposedPorts": {"80/tcp": {}}, "WorkingDir": "/srv", "Labels": {"x": "y"}}
    assert image.config["history"][0]["comment"] == "hello"


def test_import_without_reference_is_dangling(data_root, tmp_path):
    path = tmp_path / "rootfs.tar"
    path.write_bytes(rootfs_tar().getvalue())
    image = import_tarball(ImageStore(data_root), path, None)
    assert image.tags == () and image.config["comment"] == f"Imported from {path}"


def test_changes():
    assert apply_changes({}, ["CMD echo hi"]) == {"Cmd": ["/bin/sh", "-c", "echo hi"]}
    assert apply_changes({}, ["ENV PATH /usr/bin:/bin"]) == {"Env": ["PATH=/usr/bin:/bin"]}
    assert apply_changes({}, ['VOLUME ["/data"]', "USER nobody", "STOPSIGNAL SIGINT"]) == {
        "Volumes": {"/data": {}}, "User": "nobody", "StopSignal": "SIGINT"}
    with pytest.raises(InvalidArgument, match="RUN"):
        apply_changes({}, ["RUN true"])
    with pytest.raises(InvalidArgument, match="needs arguments"):
        apply_changes({}, ["CMD"])


def debian_like_rootfs(path):
    """A rootfs tarball as mmdebstrap writes one: ./-prefixed names and /dev nodes."""
    with tarfile.open(path, "w") as tar:
        for name, kind, major, minor in (("./dev", tarfile.DIRTYPE, 0, 0),
                                         ("./dev/console", tarfile.CHRTYPE, 5, 1),
                                         ("./dev/null", tarfile.CHRTYPE, 1, 3),
                                         ("./dev/zero", tarfile.CHRTYPE, 1, 5),
                                         ("./dev/loop0", tarfile.BLKTYPE, 7, 0)):
            info = tarfile.TarInfo(name)
            info.type, info.devmajor, info.devminor = kind, major, minor
            tar.addfile(info)
        info = tarfile.TarInfo("./etc/debian_version")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"12\n"))
    return path


def test_import_of_a_rootfs_with_device_nodes_leaves_them_out_with_a_note(data_root, tmp_path):
    events = []
    image = import_tarball(ImageStore(data_root), debian_like_rootfs(tmp_path / "deb.tar"),
                           "deb:1", on_event=events.append)
    diff = image.layers[0].snapshot
    assert (diff / "etc" / "debian_version").read_bytes() == b"12\n"
    assert os.listdir(diff / "dev") == []
    [note] = events
    assert note["type"] == "note" and note["message"].startswith(
        "left out 4 device nodes (./dev/console, ./dev/null, ./dev/zero and 1 more)")


def cli(data_root, *args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root",
                           str(data_root), *args], capture_output=True, text=True)


def test_cli_import_names_the_device_nodes_and_a_missing_file_in_one_line(data_root, tmp_path):
    done = cli(data_root, "import", str(debian_like_rootfs(tmp_path / "deb.tar")), "deb:1")
    assert done.returncode == 0 and done.stdout.startswith("sha256:")
    assert done.stderr.startswith("note: left out 4 device nodes") and done.stderr.count("\n") == 1
    missing = cli(data_root, "import", str(tmp_path / "nosuch.tar"), "x:1")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert missing.stderr == f"Error: open {tmp_path / 'nosuch.tar'}: no such file or directory\n"
