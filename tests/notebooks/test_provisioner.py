"""The kernel provisioner: a kernelspec from `dockyard kernel install --image`, run by nbclient."""
import json
import subprocess
import sys

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from dockyard.engine import Engine

from .conftest import outputs, text_of


def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(root),
                           *args], capture_output=True, text=True)


def test_a_kernelspec_for_an_image_runs_notebooks_inside_it(python_image, tmp_path,
                                                            monkeypatch):
    prefix = tmp_path / "prefix"
    root = python_image["root"]
    done = cli(root, "kernel", "install", "--image", "python:latest", "--prefix", str(prefix))
    assert done.returncode == 0, done.stderr
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "dockyard-python-latest"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["display_name"] == "Python 3 (dockyard: python:latest)"
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "dockyard-provisioner"
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    assert "dockyard-python-latest   python:latest" in cli(root, "kernel", "list").stdout

    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "numbers.txt").write_text("1 2 3\n")
    nb = new_notebook(cells=[
        new_code_cell("import os, sys\nprint(sys.executable, os.getcwd())"),
        new_code_cell("sum(int(n) for n in open('numbers.txt').read().split())"),
        new_code_cell("1/0")])
    # nbclient owns the kernel manager here, so it shuts the kernel down at the end
    NotebookClient(nb, kernel_name="dockyard-python-latest", timeout=60, startup_timeout=60,
                   allow_errors=True, resources={"metadata": {"path": str(tmp_path / "work")}}
                   ).execute()
    first, second, third = nb.cells
    assert text_of(first) == f"/usr/bin/python3 {tmp_path / 'work'}\n"
    assert outputs(second, "execute_result")[0]["data"]["text/plain"] == "6"
    assert outputs(third, "error")[0]["ename"] == "ZeroDivisionError"
    # shut down with the notebook: the container is gone
    assert Engine(root).containers.list(all=True) == []

    assert cli(root, "kernel", "remove", "dockyard-python-latest").returncode == 0
    assert not spec_dir.exists()
    done = cli(root, "kernel", "remove", "dockyard-python-latest")
    assert (done.returncode, done.stderr.strip()) == (
        1, "Error: no dockyard kernelspec named 'dockyard-python-latest' (see dockyard "
             "kernel list)")
    done = cli(root, "kernel", "install", "--image", "nosuch:1", "--prefix", str(prefix))
    assert done.stderr.strip().startswith("Error: ") and "nosuch" in done.stderr


def test_interrupt_and_restart_map_onto_the_container(python_image, tmp_path, monkeypatch):
    from jupyter_client.manager import KernelManager

    prefix = tmp_path / "prefix"
    root = python_image["root"]
    assert cli(root, "kernel", "install", "--image", "python:latest", "--name", "dy-signals",
               "--prefix", str(prefix)).returncode == 0
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    km = KernelManager(kernel_name="dy-signals")
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        first = kernel_container_ids(root)
        assert len(first) == 1
        msg_id = kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)",
                            stop_on_error=False)      # the next cell is not aborted
        while kc.get_iopub_msg(timeout=30)["content"].get("text") != "sleeping\n":
            pass
        km.interrupt_kernel()                       # SIGINT inside: the kernel lives on
        reply = kc.get_shell_msg(timeout=30)
        while reply["parent_header"]["msg_id"] != msg_id:      # wait_for_ready's kernel_info
            reply = kc.get_shell_msg(timeout=30)
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert kc.execute_interactive("1", timeout=30)["content"]["status"] == "ok"
        assert kernel_container_ids(root) == first

        km.restart_kernel(now=True)                 # a new container, the old one gone
        kc.wait_for_ready(timeout=60)
        again = kernel_container_ids(root)
        assert len(again) == 1 and again != first
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert kernel_container_ids(root) == []


def kernel_container_ids(root):
    return [c.id for c in Engine(root).containers.list(all=True)
            if c.attrs["Config"]["Labels"].get("org.dockyard.kernel") == "provisioner"]
