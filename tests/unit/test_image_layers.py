"""Layer tars: deterministic diffs of plain trees, flat apply with whiteouts, refusals."""
import gzip
import hashlib
import io
import os
import tarfile

import pytest

from dockyard.engine.errors import ContentError
from dockyard.engine.image.layers import HashingSink, apply, diff


def make_tree(path):
    (path / "etc").mkdir(parents=True)
    (path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (path / "bin").mkdir()
    (path / "bin" / "tool").write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(path / "bin" / "tool", 0o755)
    os.symlink("/bin/tool", path / "bin" / "alias")
    os.link(path / "bin" / "tool", path / "bin" / "hard")
    (path / "tmp").mkdir()
    os.chmod(path / "tmp", 0o1777)
    (path / "empty").mkdir()
    return path


def tar_bytes(tree, **kw):
    out = io.BytesIO()
    diff(tree, out, **kw)
    return out.getvalue()


def test_round_trip_plain_tree(tmp_path):
    src = make_tree(tmp_path / "src")
    data = tar_bytes(src, overlay=False)
    dst = tmp_path / "dst"
    dst.mkdir()
    apply(io.BytesIO(data), dst, overlay=False)
    assert (dst / "etc" / "passwd").read_text() == "root:x:0:0::/root:/bin/sh\n"
    assert os.readlink(dst / "bin" / "alias") == "/bin/tool"
    assert os.stat(dst / "bin" / "hard").st_ino == os.stat(dst / "bin" / "tool").st_ino
    assert os.stat(dst / "bin" / "tool").st_mode & 0o777 == 0o755
    assert os.stat(dst / "tmp").st_mode & 0o7777 == 0o1777
    assert (dst / "empty").is_dir()


def test_entries_sorted_numeric_and_clamped(tmp_path):
    src = make_tree(tmp_path / "src")
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(src, epoch=1000, overlay=False))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == ["bin", "bin/alias", "bin/hard", "bin/tool", "empty", "etc", "etc/passwd",
                     "tmp"]
    assert all(m.mtime == 1000 and m.uname == "" and m.gname == "" for m in members)
    assert members[3].islnk() and members[3].linkname == "bin/hard"   # second sighting links


def test_same_tree_same_digest(tmp_path):
    first = make_tree(tmp_path / "a")
    second = make_tree(tmp_path / "b")                   # new inodes, later mtimes
    os.utime(second / "etc" / "passwd", (5e9, 5e9))
    digests = set()
    for tree in (first, second, first):
        out = io.BytesIO()
        sink = HashingSink(out)
        diff(tree, sink, epoch=0, overlay=False)
        digests.add((hashlib.sha256(out.getvalue()).hexdigest(), sink.digest, sink.size))
        assert out.getvalue()[:3] == b"bin" and len(out.getvalue()) % 10240 == 0
    assert len(digests) == 1


def test_mtime_without_epoch_is_kept(tmp_path):
    src = make_tree(tmp_path / "src")
    os.utime(src / "etc" / "passwd", (1234, 1234))
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(src, overlay=False))) as tar:
        assert tar.getmember("etc/passwd").mtime == 1234


def build_tar(entries):
    """A tar from (name, kind, extra) tuples: kind is file, dir, sym, lnk, chr, blk."""
    out = io.BytesIO()
    kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
             "lnk": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
             "fifo": tarfile.FIFOTYPE}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, extra in entries:
            info = tarfile.TarInfo(name)
            info.type = kinds[kind]
            data = extra.pop("data", b"") if kind == "file" else b""
            info.size = len(data)
            for key, value in extra.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


UNSAFE = {
    "absolute": [("/etc/evil", "file", {})],
    "dotdot": [("../evil", "file", {})],
    "dotdot-inside": [("a/../../evil", "file", {})],
    "symlinked-parent": [("a", "sym", {"linkname": "/tmp"}), ("a/evil", "file", {})],
    "relative-symlinked-parent": [("a", "sym", {"linkname": "../../.."}), ("a/evil", "file", {})],
    "hardlink-absolute": [("h", "lnk", {"linkname": "/etc/passwd"})],
    "hardlink-dotdot": [("h", "lnk", {"linkname": "../x"})],
    "hardlink-to-nothing": [("h", "lnk", {"linkname": "missing"})],
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_entries_refused(tmp_path, case):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ContentError):
        apply(build_tar([("ok", "file", {"data": b"fine"})] + UNSAFE[case]), root, overlay=False)
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def test_flat_whiteouts_and_opaque(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    apply(build_tar([("a", "dir", {}), ("a/keep", "file", {}), ("a/gone", "file", {}),
                     ("d", "dir", {}), ("d/old", "file", {})]), root, overlay=False)
    apply(build_tar([("a/.wh.gone", "file", {}), ("d", "dir", {}), ("d/.wh..wh..opq", "file", {}),
                     ("d/new", "file", {}), ("a/.wh..wh.plnk", "file", {})]), root, overlay=False)
    assert sorted(os.listdir(root / "a")) == ["keep"]
    assert sorted(os.listdir(root / "d")) == ["new"]


def test_existing_symlink_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "f")
    apply(build_tar([("f", "file", {"data": b"new"})]), root, overlay=False)
    assert outside.read_text() == "precious"
    assert (root / "f").read_bytes() == b"new" and not (root / "f").is_symlink()


def test_fifo_allowed_and_garbage_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    apply(build_tar([("p", "fifo", {})]), root, overlay=False)
    assert os.path.exists(root / "p")
    with pytest.raises(ContentError):
        apply(io.BytesIO(b"this is not a tar archive at all" * 40), root, overlay=False)


# A whiteout names what it hides: `.wh..` would be the directory itself, `.wh...` its parent.
WHITEOUT_ESCAPES = [".wh...", ".wh..", ".wh.", "sub/.wh...", "sub/.wh..", "./.wh..."]


@pytest.mark.parametrize("overlay", [False, True], ids=["flat", "overlay"])
@pytest.mark.parametrize("name", WHITEOUT_ESCAPES)
def test_whiteout_of_dot_or_dotdot_is_refused_and_deletes_nothing(tmp_path, name, overlay):
    above = tmp_path / "above"
    root = above / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "kept").write_text("kept")
    (above / "sentinel").write_text("precious")
    with pytest.raises(ContentError, match="unsafe whiteout"):
        apply(build_tar([(name, "file", {})]), root, overlay=overlay)
    assert (above / "sentinel").read_text() == "precious"
    assert (root / "sub" / "kept").read_text() == "kept"


@pytest.mark.parametrize("overlay", [False, True], ids=["flat", "overlay"])
def test_device_nodes_are_left_out_and_named(tmp_path, overlay):
    root = tmp_path / "root"
    root.mkdir()
    left_out = apply(build_tar([
        ("dev", "dir", {}), ("dev/console", "chr", {"devmajor": 5, "devminor": 1}),
        ("dev/null", "chr", {"devmajor": 1, "devminor": 3}),
        ("dev/sda", "blk", {"devmajor": 8, "devminor": 0}),
        ("x", "chr", {"devmajor": 0, "devminor": 0}),
        ("etc", "dir", {}), ("etc/hostname", "file", {"data": b"deb\n"})]), root, overlay=overlay)
    assert left_out == ["dev/console", "dev/null", "dev/sda", "x"]
    assert os.listdir(root / "dev") == [] and not os.path.lexists(root / "x")
    assert (root / "etc" / "hostname").read_bytes() == b"deb\n"


def test_device_node_with_an_unsafe_name_still_refuses(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ContentError, match="unsafe path"):
        apply(build_tar([("../console", "chr", {"devmajor": 5, "devminor": 1})]), root)


def test_hard_link_through_symlink_and_dotdot_never_reaches_outside(tmp_path):
    """`s/../secret` normalizes to `secret` inside the root, but link(2) would walk the
    symlink `s` first and land beside the root."""
    (tmp_path / "d").mkdir()
    (tmp_path / "secret").write_text("host file")
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ContentError, match="hard link"):
        apply(build_tar([("s", "sym", {"linkname": str(tmp_path / "d")}),
                         ("h", "lnk", {"linkname": "s/../secret"})]), root, overlay=False)
    assert not (root / "h").exists() and os.stat(tmp_path / "secret").st_nlink == 1


def test_hard_link_to_a_symlink_links_the_symlink_not_what_it_names(tmp_path):
    """As Docker's link(2) without AT_SYMLINK_FOLLOW: `h` is a second name of the symlink."""
    outside = tmp_path / "outside"
    outside.write_text("host file")
    root = tmp_path / "root"
    root.mkdir()
    apply(build_tar([("s", "sym", {"linkname": str(outside)}), ("h", "lnk", {"linkname": "s"})]),
          root, overlay=False)
    assert os.readlink(root / "h") == str(outside) and os.lstat(root / "h").st_nlink == 2
    assert os.stat(outside).st_nlink == 1


def test_a_directory_swapped_for_a_symlink_mid_layer_is_seen(tmp_path):
    """Parents are checked once and remembered; replacing one (here `x`, reached through the
    symlink `a`) must make the next entry under it be checked again."""
    outside = tmp_path / "outside"
    (outside / "b").mkdir(parents=True)
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ContentError, match="out of the root"):
        apply(build_tar([("x", "dir", {}), ("a", "sym", {"linkname": "x"}),
                         ("a/b/f", "file", {"data": b"in"}),
                         ("x", "sym", {"linkname": str(outside)}),
                         ("a/b/g", "file", {"data": b"escaped"})]), root, overlay=False)
    assert list((outside / "b").iterdir()) == []
