"""Notebook locks on real builds: two data roots as two machines, drift, the CLI verbs.

Each notebook here starts with `%image bootstrap busybox` (the same image on every data root),
so a second, empty data root is a second machine with nothing but the notebook.
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dockyard.engine import Engine
from dockyard.engine.errors import BuildError, InvalidArgument, NotFound
from dockyard.engine.notebook import lockfile

ENV_CELL = "%%dockerfile -t env:1\nFROM busybox\nCOPY app.txt /app/\nRUN echo built > /built\n"
# busybox's date has whole seconds: sleeping first makes a second build's date another one
DATE_CELL = "%%dockerfile -t dated:1\nFROM env:1\nRUN sleep 1 && date > /when\n"


def write_notebook(directory, *sources, name="nb.ipynb"):
    nb = new_notebook(cells=[new_markdown_cell("# An analysis"),
                             *(new_code_cell(s) for s in sources)])
    nb.cells.append(new_code_cell("print('result')", execution_count=7,
                                  outputs=[new_output("stream", text="result\n")]))
    nb.metadata["kernelspec"] = {"name": "dockyard", "display_name": "Python 3 (dockyard)",
                                 "language": "python"}
    nb.metadata["authors"] = [{"name": "someone"}]
    path = directory / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path):
    """A notebook directory with one context file."""
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "app.txt").write_text("version 1\n")
    return directory


def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(root),
                           *args], capture_output=True, text=True)


def by_status(rows):
    return [(r.status, r.step, r.reason) for r in rows]


def test_a_second_data_root_rebuilds_the_same_images(tmp_path, project):
    nb = write_notebook(project, "%image bootstrap busybox", ENV_CELL, DATE_CELL)
    first, second = Engine(tmp_path / "machine-a"), Engine(tmp_path / "machine-b")
    lock = first.notebooks.lock(nb)
    assert [c["kind"] for c in lock["cells"]] == ["bootstrap", "dockerfile", "dockerfile"]
    env = lock["cells"][1]
    assert env["bases"][0]["source"] == {"cell": lock["cells"][0]["cell_id"] + ":1"}
    assert [s["instruction"] for s in env["steps"]] == ["FROM busybox", "COPY app.txt /app/",
                                                       "RUN echo built > /built"]
    assert all(s["diff_id"] for s in env["steps"][1:]) and env["tags"] == ["env:1"]
    assert lock["source_date_epoch"] > 0 and lock["engine"]["platform"].startswith("linux/")
    rows = second.notebooks.build(nb)
    assert [r.status for r in rows] == ["same", "same", "drifted"]
    assert second.images.get("env:1").id == env["image"]
    assert rows[2].step == "line 2: RUN sleep 1 && date > /when"
    assert rows[2].reason.startswith("not deterministic")


def test_a_changed_copy_input_drifts_at_the_copy(tmp_path, project):
    nb = write_notebook(project, "%image bootstrap busybox", ENV_CELL)
    engine = Engine(tmp_path / "root")
    engine.notebooks.lock(nb)
    assert [r.status for r in engine.notebooks.verify(nb)] == ["same", "same"]
    (project / "app.txt").write_text("version 2\n")
    row = engine.notebooks.verify(nb)[1]
    assert (row.status, row.step, row.reason) == ("drifted", "line 2: COPY app.txt /app/",
                                                  "a build-context file changed")
    engine.notebooks.verify(nb, update=True)
    assert [r.status for r in engine.notebooks.verify(nb)] == ["same", "same"]


def test_a_moved_base_tag_is_reported_and_the_build_keeps_the_locked_base(tmp_path, project):
    engine = Engine(tmp_path / "root")
    engine.images.bootstrap("busybox")
    old = engine.images.build("FROM busybox\nENV FLAVOUR=old\n", tag="base:1")
    nb = write_notebook(project, "%%dockerfile -t app:1\nFROM base:1\nRUN echo hi > /hi\n")
    lock = engine.notebooks.lock(nb)
    assert lock["cells"][0]["bases"][0]["source"] == {"local": "base:1"}
    new = engine.images.build("FROM busybox\nENV FLAVOUR=new\n", tag="base:1")
    row, = engine.notebooks.verify(nb)
    assert (row.status, row.step) == ("drifted", "FROM base:1")
    assert f"base:1 now names {new.id[:19]}" in row.reason
    assert row.current == lock["cells"][0]["image"]           # built on the locked base
    assert engine.images.get("app:1").layers[0].chain_id == old.layers[0].chain_id


def test_a_missing_locked_base_is_one_line_naming_its_digest_and_origin(tmp_path, project):
    first = Engine(tmp_path / "a")
    first.images.bootstrap("busybox")
    base = first.images.build("FROM busybox\nENV X=1\n", tag="base:1")
    nb = write_notebook(project, "%%dockerfile\nFROM base:1\n")
    first.notebooks.lock(nb)
    with pytest.raises(NotFound) as caught:
        Engine(tmp_path / "b").notebooks.build(nb)
    assert str(caught.value) == (f"cell 2 (%%dockerfile): the locked base {base.id} (FROM "
                                 "base:1, a local image, base:1) is not in this data root")


def test_the_lock_round_trip_keeps_the_rest_of_the_notebook(tmp_path, project):
    nb = write_notebook(project, "%image bootstrap busybox", ENV_CELL)
    before = nbformat.read(nb, as_version=4)
    Engine(tmp_path / "root").notebooks.lock(nb)
    after = nbformat.read(nb, as_version=4)
    nbformat.validate(after)
    lockfile.check(after.metadata["dockyard"]["lock"], "after")
    assert after.cells == before.cells and after.metadata.authors == before.metadata.authors
    del after.metadata["dockyard"]
    assert after == before
    # --sidecar: the notebook's bytes stay as they are, the lock goes beside it
    other = write_notebook(project, "%image bootstrap busybox", name="side.ipynb")
    text = other.read_bytes()
    Engine(tmp_path / "root").notebooks.lock(other, sidecar=True)
    assert other.read_bytes() == text
    assert json.loads((project / "side.dockyard-lock.json").read_text())["version"] == 1
    assert Engine(tmp_path / "root").notebooks.verify(other)[0].status == "same"


def test_exit_codes_of_the_notebook_verbs(tmp_path, project):
    root = tmp_path / "root"
    nb = write_notebook(project, "%image bootstrap busybox", ENV_CELL)
    assert cli(root, "notebook", "verify", "-q", str(nb)).returncode == 1     # no lock: missing
    done = cli(root, "notebook", "lock", "-q", str(nb))
    assert done.returncode == 0, done.stderr
    assert cli(root, "notebook", "build", "-q", str(nb)).returncode == 0
    assert cli(root, "notebook", "verify", "-q", str(nb)).returncode == 0
    (project / "app.txt").write_text("version 2\n")
    drifted = cli(root, "notebook", "verify", "-q", str(nb))
    assert drifted.returncode == 1 and "a build-context file changed" in drifted.stdout
    assert cli(root, "notebook", "build", "-q", str(nb)).returncode == 0
    assert cli(root, "notebook", "verify", "--update", "-q", str(nb)).returncode == 0
    assert cli(root, "notebook", "verify", "-q", str(nb)).returncode == 0
    assert cli(root, "notebook", "diff", str(nb), str(nb)).returncode == 0
    assert cli(root, "notebook", "verify", "--bogus", str(nb)).returncode == 125
    assert cli(root, "notebook", "build", str(project / "absent.ipynb")).returncode == 1


BAD_INPUTS = {
    "no environment cells": (lambda p: write_notebook(p, "print(1)"),
                             "no environment cells (%%dockerfile, %image bootstrap"),
    "invalid JSON": (lambda p: (p / "nb.ipynb").write_text('{"cells": [') and p / "nb.ipynb",
                     "not a notebook (invalid JSON at line 1"),
    "newer lock": (lambda p: _with_lock(p, {"version": 99}),
                   "the lock was written by a newer dockyard (format version 99"),
    "corrupted lock": (lambda p: _with_lock(p, {"version": 1, "cells": "x"}),
                       "the lock is corrupted ("),
    "failing cell": (lambda p: write_notebook(p, "%image bootstrap busybox",
                                              "%%dockerfile -t broken:1\nFROM busybox\n"
                                              "RUN echo one\nRUN exit 3\n"),
                     "cell 3 (%%dockerfile -t broken:1): Dockerfile line 3: RUN exit 3: "),
    "bad Dockerfile": (lambda p: write_notebook(p, "%%dockerfile\nFROM busybox\nCOPY only\n"),
                       "cell 2 (%%dockerfile): Dockerfile line 2: "),
    "missing base": (lambda p: write_notebook(p, "%%dockerfile\nFROM nowhere:1\n"),
                     "cell 2 (%%dockerfile): Dockerfile line 1: FROM nowhere:1: "),
}


def _with_lock(directory, lock):
    path = write_notebook(directory, "%image bootstrap busybox")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["dockyard"] = {"lock": lock}
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_changes_nothing(tmp_path, project, case):
    make, expected = BAD_INPUTS[case]
    nb = make(project)
    root = tmp_path / "root"
    Engine(root).images.bootstrap("busybox")
    before = (nb.read_bytes(), sorted(os.listdir(project)),
              {i.id for i in Engine(root).images.list()})
    done = cli(root, "notebook", "lock", "-q", str(nb))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: ")
    assert expected in done.stderr
    after = (nb.read_bytes(), sorted(os.listdir(project)),
             {i.id for i in Engine(root).images.list()})
    assert after == before
    assert not os.listdir(root / "buildcache" / "tmp") if (root / "buildcache" / "tmp").exists() \
        else True


def test_errors_raised_to_python_callers(tmp_path, project):
    engine = Engine(tmp_path / "root")
    nb = write_notebook(project, "%image bootstrap busybox",
                        "%%dockerfile\nFROM busybox\nRUN exit 4\n")
    with pytest.raises(BuildError, match="cell 3 .*Dockerfile line 2: RUN exit 4"):
        engine.notebooks.lock(nb)
    with pytest.raises(InvalidArgument, match="has no lock"):
        engine.notebooks.diff(nb, nb)
