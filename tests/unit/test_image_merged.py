"""MergedView: what one name is in the view decides every lookup, listing and copy below it.

These cases read only plain files, directories and symlinks, so they need no capabilities;
whiteouts and opaque dirs are covered in test_volumes_layers.py and the host tests.
"""
import os

import pytest

from dockyard.engine.image.merged import MergedView, copy_from_layers, read_merged


@pytest.fixture
def layers(tmp_path):
    """top holds a directory /etc; below it, base holds /etc as a symlink to a host folder."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text("host secret\n")
    top, base = tmp_path / "top", tmp_path / "base"
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "hostname").write_text("box\n")
    base.mkdir()
    os.symlink(host, base / "etc")
    return top, base


def test_a_lower_symlink_under_an_upper_directory_is_hidden(layers):
    # overlayfs merges a directory only with lower directories: the symlink below is hidden,
    # and the walk must never go through it onto the host
    view = MergedView(layers)
    assert read_merged(layers, "/etc/passwd") is None
    assert view.resolve("/etc/passwd") is None
    assert view.listdir(["etc"]) == {"hostname": str(layers[0] / "etc" / "hostname")}
    assert [rel for _, rel, _ in view.walk("/etc")] == ["hostname"]
    assert read_merged(layers, "/etc/hostname") == b"box\n"


def test_copy_from_layers_takes_the_same_view(layers, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_from_layers(layers, "/etc", dest)
    assert sorted(os.listdir(dest)) == ["hostname"]


def test_symlinks_resolve_inside_the_view(tmp_path):
    top = tmp_path / "top"
    (top / "data").mkdir(parents=True)
    (top / "data" / "f").write_text("in image\n")
    os.symlink("/data", top / "abs")
    os.symlink("../../../data", top / "rel")     # ".." stops at the image's root
    os.symlink("loop", top / "loop")
    view = MergedView([top])
    assert view.read("/abs/f") == view.read("/rel/f") == b"in image\n"
    assert view.resolve_parts("/abs/../rel/f") == ["data", "f"]
    assert view.resolve("/abs", follow_last=False) == str(top / "abs")
    assert view.resolve("/loop") is None
    assert view.is_dir("/") and MergedView([]).resolve("/") is None
