"""Image snapshots as real overlayfs lower dirs: whiteouts, opaque dirs, upper-dir diffs."""
import io
import os
import stat
import subprocess
import tarfile

import pytest

from dockyard.engine.image.bootstrap import bootstrap_busybox
from dockyard.engine.image.layers import OPAQUE_XATTR
from dockyard.engine.image.store import ImageStore

OVERLAY_OPTS = "redirect_dir=off,metacopy=off,index=off"


def in_mount_ns(script: str, cwd) -> str:
    """Run `script` with sh in a private mount namespace (its mounts vanish with it)."""
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-euc", script],
                            cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def mount_image(store, image, target, upper=None, work=None) -> str:
    lowers = ":".join(store.lowerdirs(image))
    opts = f"lowerdir={lowers},{OVERLAY_OPTS}"
    if upper:
        opts += f",upperdir={upper},workdir={work}"
    return f"mount -t overlay overlay -o {opts} {target}"


def layer_tar(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
            else:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data or b""))
    raw.seek(0)
    return raw


@pytest.fixture
def store(data_root):
    return ImageStore(data_root)


@pytest.fixture
def busybox(store):
    return bootstrap_busybox(store)


def test_whiteout_layer_hides_files(store, busybox, tmp_path):
    base = busybox.layers[0]
    top = store.add_layer_from_tar(layer_tar([
        ("etc/.wh.group", b""), ("home", None), ("home/.wh..wh..opq", b""),
        ("home/new", b"n"), ("etc/motd", b"hi\n")]), base)
    # The snapshot is in overlay lower format.
    st = os.lstat(top.snapshot / "etc" / "group")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(top.snapshot / "home", OPAQUE_XATTR) == b"y"
    image = store.create_image({"config": {"Cmd": ["sh"]}}, [base, top], tags=["wh"])
    assert store.read_file(image, "/etc/group") is None
    assert store.read_file(image, "/etc/motd") == b"hi\n"
    target = tmp_path / "merged"
    target.mkdir()
    out = in_mount_ns(f"""{mount_image(store, image, target)}
        ls {target}/bin/busybox; cat {target}/etc/motd
        test ! -e {target}/etc/group && echo group-hidden
        ls -A {target}/home; {target}/bin/busybox echo runs""", store.snapshots_root)
    assert out.split() == [f"{target}/bin/busybox", "hi", "group-hidden", "new", "runs"]
    assert subprocess.run(["findmnt", str(target)], capture_output=True).returncode == 1


def test_commit_upper_dir_round_trip(store, busybox, tmp_path):
    upper, work, merged = (tmp_path / n for n in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        d.mkdir()
    in_mount_ns(f"""{mount_image(store, busybox, merged, upper, work)}
        rm {merged}/etc/group
        rm -rf {merged}/var && mkdir {merged}/var && echo fresh > {merged}/var/only
        mkdir -p {merged}/app && echo data > {merged}/app/file
        echo extra >> {merged}/etc/passwd""", store.snapshots_root)
    assert stat.S_ISCHR(os.lstat(upper / "etc" / "group").st_mode)
    layer = store.add_layer_from_upper(upper, busybox.layers[0], epoch=0)
    assert not upper.exists()                                  # moved into the snapshot
    assert stat.S_ISCHR(os.lstat(layer.snapshot / "etc" / "group").st_mode)
    with tarfile.open(fileobj=io.BytesIO(b"".join(store.layer_tar(layer)))) as tar:
        names = tar.getnames()
    assert "etc/.wh.group" in names and "var/.wh..wh..opq" in names and "app/file" in names
    image = store.create_image({"config": {}}, [busybox.layers[0], layer], tags=["committed"])
    assert store.read_file(image, "/etc/group") is None
    assert store.read_file(image, "/etc/passwd").endswith(b"extra\n")
    assert store.read_file(image, "/var/only") == b"fresh\n"
    out = in_mount_ns(f"""{mount_image(store, image, merged)}
        ls -A {merged}/var; cat {merged}/app/file; test ! -e {merged}/etc/group && echo gone""",
                      store.snapshots_root)
    assert out.split() == ["only", "data", "gone"]


def test_upper_diff_same_bytes_as_extracted_copy(store, busybox, tmp_path):
    """The move fast path and the extract path give the same layer for the same upper dir."""
    uppers = []
    for name in ("u1", "u2"):
        upper, work, merged = tmp_path / name, tmp_path / f"w{name}", tmp_path / f"m{name}"
        for d in (upper, work, merged):
            d.mkdir()
        in_mount_ns(f"""{mount_image(store, busybox, merged, upper, work)}
            rm {merged}/bin/ls; echo x > {merged}/x""", store.snapshots_root)
        uppers.append(upper)
    moved = store.add_layer_from_upper(uppers[0], busybox.layers[0], epoch=0)
    kept = store.add_layer_from_upper(uppers[1], busybox.layers[0], epoch=0, move=False)
    assert moved == kept


def test_many_layers_fit_one_mount(store, busybox, tmp_path):
    layers = [busybox.layers[0]]
    for i in range(120):
        layers.append(store.add_layer_from_tar(layer_tar([(f"l/{i}", b"%d" % i)]), layers[-1]))
    image = store.create_image({"config": {}}, layers)
    options = "lowerdir=" + ":".join(store.lowerdirs(image))
    assert len(options) < 4096 - len(OVERLAY_OPTS) - 1
    target = tmp_path / "merged"
    target.mkdir()
    out = in_mount_ns(f"""{mount_image(store, image, target)}
        ls {target}/l | wc -l; cat {target}/l/119""", store.snapshots_root)
    assert out.split() == ["120", "119"]
