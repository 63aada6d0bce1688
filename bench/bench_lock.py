"""Issue 13's benchmark: diffing two environments, and locking and verifying a notebook.

    .venv/bin/python bench/bench_lock.py [--files 5000] [--rounds 5]

Two images share a base whose top layer holds `--files` files (an installed environment, say)
and differ only in their last layer (a few files changed, a package added). `dockyard diff`
reads just the layers they don't share; the peer is what standard tools do for two OCI images:
umoci unpacks both and `diff -rq` compares the trees. The data root's own OCI layout holds no
blob for a layer built here (its snapshot is the truth, issue 14), so each image is first
exported with `dockyard save` (Docker 25's tar, an OCI layout inside) and untarred: setup, not
timed, so the peer starts from two ready OCI layouts. A third row diffs an image against bare busybox, so that the big layer is read:
what it costs when the layers are not shared.

The notebook rows: `notebook lock` of a two-cell notebook on a fresh data root (busybox
bootstrapped, not timed), and `notebook verify` of it afterwards (every step cached).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PREFIX, Figure, markdown_table, time_calls  # noqa: E402

CHANGE = ("RUN for i in 1 2 3 4 5 6 7 8 9 10; do echo {v} > /env/pkg/file$i.txt; done && "
          "mkdir -p /usr/lib/python3/dist-packages/tool-{v}.dist-info && printf "
          "'Name: tool\\nVersion: {v}\\n' > /usr/lib/python3/dist-packages/tool-{v}.dist-info/METADATA")


def make_images(engine, top: Path, files: int):
    """(base, a, b): base = busybox + a COPY of `files` files; a and b differ in one layer."""
    context = top / "context"
    pkg = context / "pkg"
    pkg.mkdir(parents=True)
    for i in range(files):
        (pkg / f"file{i}.txt").write_text(f"content {i}\n" * 8)
    engine.images.build("FROM busybox\nCOPY pkg/ /env/pkg/\n", context=str(context),
                        tag="bench-base:1")
    for name, version in (("bench-a:1", "1.0"), ("bench-b:1", "2.0")):
        engine.images.build(f"FROM bench-base:1\n{CHANGE.format(v=version)}\n", tag=name)


def oci_layouts(engine, work: Path) -> None:
    """work/layout-a and work/layout-b: bench-a:1 and bench-b:1 as OCI layouts (dockyard save)."""
    for name in ("a", "b"):
        archive = work / f"{name}.tar"
        engine.images.save(f"bench-{name}:1", str(archive))
        (work / f"layout-{name}").mkdir()
        subprocess.run(["tar", "-xf", str(archive), "-C", str(work / f"layout-{name}")],
                       check=True)
        archive.unlink()


def umoci_diff(work: Path) -> None:
    """Unpack both layouts with umoci and compare the trees with diff -rq (exit 1: differ)."""
    for name in ("a", "b"):
        shutil.rmtree(work / name, ignore_errors=True)
        subprocess.run(["umoci", "unpack", "--image", f"{work}/layout-{name}:1",
                        str(work / name)], check=True, capture_output=True)
    done = subprocess.run(["diff", "-rq", "--no-dereference", str(work / "a" / "rootfs"),
                           str(work / "b" / "rootfs")], capture_output=True)
    assert done.returncode == 1, done.stderr


def notebook_figures(top: Path, rounds: int) -> dict:
    from dockyard.engine import Engine
    project = top / "project"
    project.mkdir()
    (project / "app.txt").write_text("app\n")
    path = project / "nb.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("%image bootstrap busybox"),
        new_code_cell("%%dockerfile -t lockbench:1\nFROM busybox\nCOPY app.txt /app/\n"
                      "RUN echo built > /built\nENV A=1\n")]), path)
    lock_s, verify_s = [], []
    for _ in range(rounds):
        engine = Engine(tempfile.mkdtemp(prefix="root-", dir=top))
        engine.images.bootstrap("busybox")
        started = time.perf_counter()
        engine.notebooks.lock(path)
        lock_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert engine.notebooks.verify(path).ok
        verify_s.append(time.perf_counter() - started)
    return {"notebook lock (fresh root)": Figure.timed(lock_s),
            "notebook verify (cached)": Figure.timed(verify_s)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from dockyard.engine import Engine
    top = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-lock-"))
    try:
        engine = Engine(top / "root")
        engine.images.bootstrap("busybox")
        make_images(engine, top, args.files)
        shared = Figure.timed(time_calls(lambda: engine.images.diff("bench-a:1", "bench-b:1"),
                                         args.rounds))
        unshared = Figure.timed(time_calls(lambda: engine.images.diff("busybox", "bench-b:1"),
                                           args.rounds))
        if shutil.which("umoci"):
            work = top / "unpacked"
            work.mkdir()
            oci_layouts(engine, work)
            peer = Figure.timed(time_calls(lambda: umoci_diff(work), args.rounds))
        else:
            peer = Figure.missing("umoci not installed")
        print(markdown_table(f"diff of two images sharing a {args.files}-file layer",
                             {"dockyard diff (shared base)": shared,
                              "dockyard diff (vs busybox: the big layer read)": unshared,
                              "umoci unpack x2 + diff -rq": peer}))
        print(markdown_table("notebook lock / verify (2 environment cells)",
                             notebook_figures(top, args.rounds)))
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
