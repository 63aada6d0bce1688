"""copy_from_layers agrees with the kernel: the tree it copies is the tree overlayfs shows."""
import os
import stat
import subprocess

import pytest

from dockyard.engine.image.merged import copy_from_layers


def snapshot(root):
    """{path: (kind, mode, uid, gid, content or link target)} of a tree, root itself included."""
    st = os.lstat(root)
    out = {".": ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, None)}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                kind, body = "link", os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                kind, body = "dir", None
            elif stat.S_ISREG(st.st_mode):
                kind, body = "file", open(path, "rb").read()
            else:
                kind, body = "other", st.st_rdev
            out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, body)
    return out


def build_layers(tmp_path):
    base, mid, top = (tmp_path / n for n in ("base", "mid", "top"))
    def put(layer, rel, text="", mode=0o644, owner=(0, 0)):
        path = layer / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)
        os.chown(path, *owner)
    put(base, "srv/www/index.html", "base index")
    put(base, "srv/www/old.css", "deleted in mid")
    put(base, "srv/conf/a.conf", "hidden by opaque")
    put(base, "srv/bin/tool", "#!/bin/sh", mode=0o4755)
    put(base, "srv/owned", "o", owner=(1000, 50))
    put(mid, "srv/www/index.html", "mid index", mode=0o600)
    os.mknod(mid / "srv/www/old.css", stat.S_IFCHR, os.makedev(0, 0))
    put(mid, "srv/conf/b.conf", "only this one")
    os.setxattr(mid / "srv/conf", "trusted.overlay.opaque", b"y")
    os.symlink("www/index.html", mid / "srv/index")
    put(top, "srv/new/file", "top")
    os.mknod(top / "srv/owned", stat.S_IFCHR, os.makedev(0, 0))
    os.symlink("/srv/www", top / "web")       # absolute: resolved in the image, not the host
    os.chmod(top / "srv", 0o750)
    os.chown(top / "srv", 33, 33)
    return [top, mid, base]


@pytest.fixture
def overlay(tmp_path):
    layers = build_layers(tmp_path)
    merged = tmp_path / "merged"
    merged.mkdir()
    lower = ":".join(map(str, layers))
    proc = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower}",
                           str(merged)], capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"can't mount overlayfs: {proc.stderr.strip()}")
    try:
        yield layers, merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_copy_matches_the_overlay_mount(overlay, tmp_path):
    layers, merged = overlay
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers(layers, "/srv", dest)
    expected = snapshot(merged / "srv")
    assert "www/old.css" not in expected and "conf/a.conf" not in expected   # the kernel agrees
    assert snapshot(dest) == expected


def test_copy_through_a_symlinked_path_matches(overlay, tmp_path):
    layers, merged = overlay
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers(layers, "/web", dest)
    assert snapshot(dest) == snapshot(merged / "srv" / "www")
