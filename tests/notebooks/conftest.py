"""Fixtures for notebook tests: the dockyard kernelspec in a private JUPYTER_PATH, run helpers."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture(scope="session")
def dockyard_kernel(tmp_path_factory):
    """Install the kernelspec with `dockyard kernel install --prefix` into a private path."""
    prefix = tmp_path_factory.mktemp("kernelprefix")
    subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "kernel", "install",
                    "--prefix", str(prefix)], check=True, capture_output=True)
    path = str(prefix / "share" / "jupyter")
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = path if not old else f"{path}{os.pathsep}{old}"
    yield {"name": "dockyard", "jupyter_path": path}
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def run_notebook(nb, cwd, kernel="dockyard", timeout=120, env=None, **kw):
    """Execute `nb` on the kernel with cwd as its working directory; save the executed copy."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    km = KernelManager(kernel_name=kernel, transport="ipc", ip=str(cwd / "kernel-ipc"))
    client = NotebookClient(nb, km=km, timeout=timeout, startup_timeout=60,
                            resources={"metadata": {"path": str(cwd)}}, **kw)
    try:
        # The kernel's environment goes to start_kernel: a KernelManager has no extra_env, so
        # setting one silently left DOCKYARD_DATA_ROOT unset (the kernel used /var/lib/dockyard).
        client.execute(env={**os.environ, **(env or {})})
    finally:
        nbformat.write(nb, cwd / "executed.ipynb")
    return nb


def run_cells(sources, cwd, **kw):
    return run_notebook(new_notebook(cells=[new_code_cell(s) for s in sources]), cwd, **kw)


def outputs(cell, output_type):
    return [o for o in cell.outputs if o.output_type == output_type]


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in outputs(cell, "stream"))


def widget_state(nb) -> dict:
    return nb.metadata["widgets"][WIDGET_STATE]["state"]


def widgets_in(nb, cell) -> list[dict]:
    """The widget states (with model_name) of a cell's display_data/execute_result outputs."""
    state = widget_state(nb)
    found = []
    for out in cell.outputs:
        view = out.get("data", {}).get(WIDGET_VIEW)
        if view:
            found.append({"model_name": state[view["model_id"]]["model_name"],
                          **state[view["model_id"]]["state"]})
    return found


def child_html(nb, widget: dict) -> str:
    """All HTML values below a container widget (its HTML children, recursively)."""
    state = widget_state(nb)
    parts = []
    for ref in widget.get("children", []):
        child = state[ref.removeprefix("IPY_MODEL_")]
        if child["model_name"] == "HTMLModel":
            parts.append(child["state"].get("value", ""))
        parts.append(child_html(nb, child["state"]))
    return "".join(parts)


@pytest.fixture
def host_ready(request):
    """Skip (a failure in CI) where this host can't run containers."""
    # tests/conftest.py by its file: the module name `conftest` also belongs to
    # tests/host/conftest.py, which wins once the host tests are collected in the same run.
    root_conftest = str(Path(__file__).parent.parent / "conftest.py")
    root = next(p for p in request.config.pluginmanager.get_plugins()
                if getattr(p, "__file__", None) == root_conftest)
    problem = root.host_problem()
    if problem:
        pytest.skip(problem)
