"""The lock in a real dockyard kernel: `%dockyard lock`, `%%dockerfile` against the lock,
`%image diff`, and `dockyard notebook run` executing a locked notebook headless."""
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from dockyard.engine.notebook.execute import execute

BOOTSTRAP = "%image bootstrap busybox"
ENV = "%%dockerfile -t lockenv:1\nFROM busybox\nCOPY data.txt /data.txt\n"


def html_of(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs
                   if o.output_type in ("display_data", "execute_result"))


def errors_of(nb):
    return [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
            if o.output_type == "error"]


@pytest.fixture
def project(tmp_path, dockyard_kernel, host_ready):
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "data.txt").write_text("one\n")
    return directory


def save(directory, *sources, name="nb.ipynb"):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "dockyard", "display_name": "d", "language": "python"}
    nbformat.write(nb, directory / name)
    return directory / name


def run_in_kernel(path, root, session=True):
    nb = nbformat.read(path, as_version=4)
    env = {"DOCKYARD_DATA_ROOT": str(root), "JPY_SESSION_NAME": str(path) if session else ""}
    execute(nb, path.parent, env=env, timeout=300)
    return nb


def test_dockyard_lock_writes_the_lock_and_dockerfile_results_compare_to_it(project, tmp_path):
    root = tmp_path / "root"
    path = save(project, BOOTSTRAP, ENV, "%dockyard lock", "%image diff busybox lockenv:1")
    nb = run_in_kernel(path, root)
    assert errors_of(nb) == []
    table = html_of(nb.cells[2])
    assert "dy-lock-table" in table and table.count("dy-lock-new") == 2
    assert "Reload Notebook from Disk" in table
    lock = json.loads(path.read_text())["metadata"]["dockyard"]["lock"]
    assert [c["kind"] for c in lock["cells"]] == ["bootstrap", "dockerfile"]
    diff = html_of(nb.cells[3])
    assert "/data.txt" in diff and "dy-diff-added" in diff
    # Run again: the %%dockerfile result matches the lock, the table says "same"
    nb = run_in_kernel(path, root)
    assert "matches the lock" in html_of(nb.cells[1])
    assert html_of(nb.cells[2]).count("dy-lock-same") == 2
    # Change the COPY input: the result differs, and says where
    (project / "data.txt").write_text("two\n")
    nb = run_in_kernel(path, root)
    note = html_of(nb.cells[1])
    assert "differs from the lock" in note and "first at line 2: COPY data.txt /data.txt" in note
    assert "dy-lock-drifted" in html_of(nb.cells[2])


def test_without_its_notebook_path_the_kernel_says_how_to_lock(project, tmp_path):
    path = save(project, BOOTSTRAP, ENV, "%dockyard lock")
    nb = run_in_kernel(path, tmp_path / "root", session=False)
    assert "run `dockyard notebook lock NOTEBOOK.ipynb`" in html_of(nb.cells[2])
    assert "dockyard" not in json.loads(path.read_text())["metadata"]


def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(root),
                           *args], capture_output=True, text=True, env=os.environ.copy())


def test_notebook_run_executes_a_locked_notebook_and_names_a_failed_cell(project, tmp_path):
    root = tmp_path / "root"
    path = save(project, BOOTSTRAP, ENV,
                "%container run --rm --network none lockenv:1 cat /data.txt")
    assert cli(root, "notebook", "lock", "-q", str(path)).returncode == 0
    done = cli(root, "notebook", "run", "-q", str(path), "-o", str(tmp_path / "out.ipynb"))
    assert done.returncode == 0, done.stderr
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "matches the lock" in html_of(executed.cells[1])
    assert "one" in "".join(o.get("text", "") for o in executed.cells[2].outputs)
    failing = save(project, BOOTSTRAP, "raise ValueError('bad data')", name="fails.ipynb")
    assert cli(root, "notebook", "lock", "-q", str(failing)).returncode == 0
    failed = cli(root, "notebook", "run", "-q", str(failing))
    assert failed.returncode == 1
    assert failed.stderr == "Error: cell 2 failed: ValueError: bad data\n"
    assert errors_of(nbformat.read(project / "fails.executed.ipynb", as_version=4))
