"""Property: whatever a layer, an imported rootfs or a loaded archive holds, and whatever a
.dockerignore says, nothing outside the target is ever written, linked or deleted.

Each example runs beside a sentinel tree that must stay byte-identical (names, contents, modes
and link counts: a hard link into it would raise a count). Entries are drawn from the names and
kinds that have broken extractors before: `..`, absolute paths, symlinks and hard links that
point out (relative, absolute, to the sentinel by its real path), whiteouts of `.` and `..`,
opaque markers, device nodes, long names and duplicates.
"""
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.engine.builder.context import Context
from dockyard.engine.builder.ignore import IgnoreMatcher
from dockyard.engine.errors import DockyardError
from dockyard.engine.image.bootstrap import import_tarball
from dockyard.engine.image.layers import apply
from dockyard.engine.image.store import ImageStore

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

COMPONENTS = ["a", "b", "..", ".", ".wh.a", ".wh..", ".wh...", ".wh.", ".wh..wh..opq",
              ".wh..wh.plnk", "x" * 120, "sentinel", "é"]
PREFIXES = ["", "", "", "./", "/", "../", "//"]
KINDS = ["file", "file", "dir", "dir", "sym", "lnk", "chr", "blk", "fifo"]


@pytest.fixture(scope="module")
def base():
    path = tempfile.mkdtemp(prefix="dockyard-prop-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def names():
    return st.builds(lambda prefix, parts: prefix + "/".join(parts), st.sampled_from(PREFIXES),
                     st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=4))


def link_targets(sentinel_hint="SENTINEL"):
    return st.one_of(names(), st.sampled_from(["/", "..", "../..", "/etc", sentinel_hint,
                                               sentinel_hint + "/file", "a/../../sentinel"]))


ENTRIES = st.lists(st.tuples(names(), st.sampled_from(KINDS), link_targets(),
                             st.binary(max_size=64)), min_size=1, max_size=12)


def layer_tar(entries, sentinel: str) -> bytes:
    out = io.BytesIO()
    kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
             "lnk": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
             "fifo": tarfile.FIFOTYPE}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, target, data in entries:
            info = tarfile.TarInfo(name)
            info.type = kinds[kind]
            info.linkname = target.replace("SENTINEL", sentinel)
            info.devmajor, info.devminor = (1, 3) if kind == "chr" else (0, 0)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return out.getvalue()


def make_sentinel(path: str) -> None:
    os.makedirs(os.path.join(path, "dir"))
    for rel, data in (("file", b"precious"), ("dir/inner", b"inner"), ("a", b"a")):
        with open(os.path.join(path, rel), "wb") as f:
            f.write(data)


def fingerprint(path: str) -> dict:
    """Everything under `path` that an escape could change, link counts included."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st_ = os.lstat(full)
            data = b""
            if stat.S_ISREG(st_.st_mode):
                with open(full, "rb") as f:
                    data = f.read()
            elif stat.S_ISLNK(st_.st_mode):
                data = os.readlink(full).encode()
            seen[os.path.relpath(full, path)] = (st_.st_mode, st_.st_nlink, data)
    return seen


class Arena:
    """A fresh directory per example: `sentinel/` to guard and `target/` to write into."""

    def __init__(self, base: str):
        self.top = tempfile.mkdtemp(dir=base)
        self.sentinel = os.path.join(self.top, "sentinel")
        self.target = os.path.join(self.top, "target")
        make_sentinel(self.sentinel)
        os.mkdir(self.target)
        self.before = fingerprint(self.sentinel)
        self.parent_before = sorted(os.listdir(base))

    def check(self, allowed=("sentinel", "target")) -> None:
        assert fingerprint(self.sentinel) == self.before
        assert sorted(os.listdir(self.top)) == sorted(allowed)
        shutil.rmtree(self.top)


@FAST
@given(entries=ENTRIES, overlay=st.booleans())
def test_apply_never_touches_anything_outside_the_target(base, entries, overlay):
    arena = Arena(base)
    try:
        apply(io.BytesIO(layer_tar(entries, arena.sentinel)), arena.target, overlay=overlay)
    except DockyardError:
        pass
    for dirpath, dirnames, filenames in os.walk(arena.target):
        for name in filenames:
            st_ = os.lstat(os.path.join(dirpath, name))
            assert not stat.S_ISBLK(st_.st_mode)
            assert not stat.S_ISCHR(st_.st_mode) or (overlay and st_.st_rdev == 0)
    arena.check()


SAFE_ENTRIES = st.lists(st.tuples(
    st.builds("/".join, st.lists(st.sampled_from(["a", "b", "c", ".wh.a", ".wh..wh..opq"]),
                                 min_size=1, max_size=3)),
    st.sampled_from(["file", "file", "dir", "sym", "lnk"]),
    st.sampled_from(["a", "b", "a/b", "c/a", "../x"]), st.binary(max_size=64)),
    min_size=1, max_size=16)


@FAST
@given(entries=SAFE_ENTRIES, overlay=st.booleans())
def test_an_empty_root_unpacks_exactly_as_one_holding_something_else(base, entries, overlay):
    """An extraction into a root that started empty skips its existence checks; what it
    makes (duplicates, implied parents, whiteouts, links) must not differ from the careful
    path's result."""
    top = tempfile.mkdtemp(dir=base)
    results = []
    for name, marker in (("empty", False), ("marked", True)):
        target = os.path.join(top, name)
        os.mkdir(target)
        if marker:
            with open(os.path.join(target, "zz-marker"), "wb") as f:
                f.write(b"m")
        try:
            apply(io.BytesIO(layer_tar(entries, "SENTINEL")), target, overlay=overlay)
            outcome = "ok"
        except DockyardError as exc:
            outcome = type(exc).__name__
        tree = fingerprint(target)
        tree.pop("zz-marker", None)
        results.append((outcome, tree))
    shutil.rmtree(top)
    assert results[0] == results[1]


@FAST
@given(entries=ENTRIES)
def test_import_never_touches_anything_outside_its_data_root(base, entries):
    arena = Arena(base)
    store = ImageStore(arena.target)
    try:
        import_tarball(store, io.BytesIO(layer_tar(entries, arena.sentinel)), "prop:1")
    except DockyardError:
        assert store.snapshots.chains() == [] and store.blobs.digests() == []
    assert store.snapshots.leftovers() == []
    arena.check()


ARCHIVE_NAMES = st.sampled_from(["manifest.json", "config.json", "layer.tar", "../layer.tar",
                                 "/abs/layer.tar", "blobs/sha256/../../x", "link", "a/b/c",
                                 "./layer.tar", "x" * 150])


@st.composite
def archives(draw):
    """A docker-archive whose members and manifest entries are drawn from unsafe names."""
    members = draw(st.lists(st.tuples(ARCHIVE_NAMES, st.sampled_from(["file", "sym", "lnk",
                                                                       "dir", "chr"]),
                                      st.sampled_from(["layer.tar", "../../sentinel/file",
                                                       "SENTINEL/file", "/etc/passwd",
                                                       "config.json"])),
                            max_size=8))
    layer_entries = draw(ENTRIES)
    manifest = [{"Config": draw(ARCHIVE_NAMES), "RepoTags": ["prop:1"],
                 "Layers": draw(st.lists(ARCHIVE_NAMES, max_size=3))}]
    return members, layer_entries, manifest


def archive_tar(members, layer_entries, manifest, sentinel: str) -> bytes:
    layer = layer_tar(layer_entries, sentinel)
    import hashlib
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [
        "sha256:" + hashlib.sha256(layer).hexdigest()] * len(manifest[0]["Layers"])}}).encode()
    contents = {"manifest.json": json.dumps(manifest).encode(), "config.json": config,
                "layer.tar": layer}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("config.json", "layer.tar", "manifest.json"):
            info = tarfile.TarInfo(name)
            info.size = len(contents[name])
            tar.addfile(info, io.BytesIO(contents[name]))
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            info.type = {"file": tarfile.REGTYPE, "sym": tarfile.SYMTYPE, "dir": tarfile.DIRTYPE,
                         "lnk": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE}[kind]
            info.linkname = target.replace("SENTINEL", sentinel)
            data = contents.get(os.path.basename(name), b"") if kind == "file" else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@FAST
@given(archive=archives())
def test_load_never_touches_anything_outside_its_data_root(base, archive):
    from dockyard.engine.archive import load
    arena = Arena(base)
    store = ImageStore(arena.target)
    try:
        load(store, io.BytesIO(archive_tar(*archive, arena.sentinel)))
    except DockyardError:
        assert store.list() == []
    assert store.snapshots.leftovers() == []
    assert [p for p in os.listdir(arena.target) if p.startswith(".load-")] == []
    arena.check()


PATTERN_PARTS = st.sampled_from(["*", "**", "?", "a", "b", "/", "..", ".", "!", "[a-c]", "[",
                                 "]", "\\", "[!a]", "[z-a]", "x" * 50, "é", " "])
PATTERNS = st.lists(st.lists(PATTERN_PARTS, max_size=6).map("".join), max_size=6)
REL_PATHS = st.lists(st.sampled_from(["a", "b", "ab", "c", ".x", "é", "[a]"]), min_size=1,
                     max_size=4).map("/".join)


@settings(max_examples=300, deadline=None)
@given(patterns=PATTERNS, path=REL_PATHS)
def test_ignore_matcher_decides_or_refuses_and_covers_children(patterns, path):
    try:
        matcher = IgnoreMatcher(patterns)
    except DockyardError:
        return
    ignored = matcher.ignored(path)
    assert ignored in (True, False)
    if ignored and not matcher.has_exceptions:
        assert matcher.ignored(path + "/child")       # a parent's match covers what's below


@FAST
@given(patterns=PATTERNS, links=st.lists(st.sampled_from(["../sentinel", "SENTINEL", "/",
                                                          "../../", "dir", "dir/../.."]),
                                          max_size=3))
def test_context_walk_stays_inside_and_never_follows_links(base, patterns, links):
    arena = Arena(base)
    ctx_dir = os.path.join(arena.target, "ctx")
    os.makedirs(os.path.join(ctx_dir, "dir", "a"))
    with open(os.path.join(ctx_dir, "dir", "a", "b"), "w") as f:
        f.write("b")
    for i, target in enumerate(links):
        os.symlink(target.replace("SENTINEL", arena.sentinel), os.path.join(ctx_dir, f"l{i}"))
    try:
        context = Context(ctx_dir, ignore=patterns)
        sources = context.resolve(["."], "COPY")
    except DockyardError:
        arena.check()
        return
    for source in sources:
        for host, rel, st_ in context.walk(source):
            assert os.path.realpath(os.path.dirname(host)).startswith(os.path.realpath(ctx_dir))
            assert not rel.startswith("/") and ".." not in rel.split("/")
        context.digest([source])
    arena.check()
