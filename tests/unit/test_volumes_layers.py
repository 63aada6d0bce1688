"""copy_from_layers: the merged view of overlay lower layers, whiteouts and opaque dirs included.

Whiteouts are 0/0 character devices and opaque dirs carry a trusted.* xattr, so making them
needs CAP_MKNOD and CAP_SYS_ADMIN; those tests skip with a reason where they are missing.
"""
import os
import stat

import pytest

from dockyard.engine.image.merged import copy_from_layers


def whiteout(path):
    try:
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    except PermissionError:
        pytest.skip("making a whiteout (0/0 char device) needs CAP_MKNOD")


def opaque(path):
    try:
        os.setxattr(path, "trusted.overlay.opaque", b"y")
    except PermissionError:
        pytest.skip("setting trusted.overlay.opaque needs CAP_SYS_ADMIN")


def write(path, text="", mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)


def tree(root):
    """{relative path: kind and content} of a copied tree."""
    out = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(top, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "-> " + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                out[rel] = open(p).read()
    return out


@pytest.fixture
def layers(tmp_path):
    top, mid, base = (tmp_path / n for n in ("top", "mid", "base"))
    for d in (top, mid, base):
        d.mkdir()
    return top, mid, base


def test_merge_plain_layers(layers, tmp_path):
    top, mid, base = layers
    write(base / "srv/a", "base a")
    write(base / "srv/b", "base b", mode=0o640)
    write(mid / "srv/a", "mid a")
    write(top / "srv/sub/c", "top c")
    os.symlink("a", mid / "srv/link")
    os.link(base / "srv/b", base / "srv/b2")
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers([top, mid, base], "/srv", dest)
    assert tree(dest) == {"a": "mid a", "b": "base b", "b2": "base b", "link": "-> a",
                          "sub": "dir", "sub/c": "top c"}
    assert stat.S_IMODE(os.lstat(dest / "b").st_mode) == 0o640
    assert os.stat(dest / "b").st_ino == os.stat(dest / "b2").st_ino     # hard link kept


def test_whiteouts_hide_lower_entries(layers, tmp_path):
    top, mid, base = layers
    write(base / "srv/gone", "deleted later")
    write(base / "srv/olddir/x", "x")
    write(base / "srv/kept", "kept")
    (mid / "srv").mkdir()
    whiteout(mid / "srv/gone")
    whiteout(mid / "srv/olddir")
    write(top / "srv/olddir/new", "recreated")      # a dir made again above its whiteout
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers([top, mid, base], "/srv", dest)
    assert tree(dest) == {"kept": "kept", "olddir": "dir", "olddir/new": "recreated"}


def test_opaque_dir_hides_lower_content(layers, tmp_path):
    top, mid, base = layers
    write(base / "srv/old", "old")
    write(base / "srv/deep/old", "old")
    write(mid / "srv/new", "new")
    opaque(mid / "srv")
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers([top, mid, base], "/srv", dest)
    assert tree(dest) == {"new": "new"}
    assert "trusted.overlay.opaque" not in os.listxattr(dest)


def test_whited_out_or_missing_path_copies_nothing(layers, tmp_path):
    top, mid, base = layers
    write(base / "srv/a", "a")
    write(base / "file", "f")
    dest = tmp_path / "dest"
    dest.mkdir()
    assert not copy_from_layers([top, mid, base], "/nope", dest)
    assert not copy_from_layers([top, mid, base], "/file", dest)
    whiteout(top / "srv")
    assert not copy_from_layers([top, mid, base], "/srv", dest)
    assert os.listdir(dest) == []


def test_symlinked_path_is_followed_inside_the_image(layers, tmp_path):
    top, mid, base = layers
    write(base / "real/data/f", "through a link")
    os.symlink("/real", base / "abs")                 # absolute: from the image's root
    os.symlink("../../real", mid / "rel")             # ".." can't climb above the root
    dest1, dest2 = tmp_path / "d1", tmp_path / "d2"
    dest1.mkdir()
    dest2.mkdir()
    assert copy_from_layers([top, mid, base], "/abs/data", dest1)
    assert copy_from_layers([top, mid, base], "/rel/data", dest2)
    assert tree(dest1) == tree(dest2) == {"f": "through a link"}


def test_owner_and_special_files_kept(layers, tmp_path):
    top, mid, base = layers
    write(base / "srv/owned", "o")
    try:
        os.chown(base / "srv/owned", 1234, 4321)
    except PermissionError:
        pytest.skip("chown needs CAP_CHOWN")
    os.chown(base / "srv", 1000, 1000)
    os.mkfifo(base / "srv/fifo")
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers([top, mid, base], "/srv", dest)
    st = os.lstat(dest / "owned")
    assert (st.st_uid, st.st_gid) == (1234, 4321)
    assert (os.lstat(dest).st_uid, os.lstat(dest).st_gid) == (1000, 1000)
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
