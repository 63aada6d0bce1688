"""Every notebook in notebooks/ executed end to end on the dockyard kernel, outputs checked."""
import pathlib
import subprocess

import nbformat

from .conftest import child_html, outputs, run_notebook, text_of, widgets_in

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


def execute(name, tmp_path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "stored with outputs"
    root = tmp_path / "dockyard"
    return run_notebook(nb, tmp_path, timeout=180, env={"DOCKYARD_DATA_ROOT": str(root)})


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def cell_with(nb, text):
    return next(c for c in code_cells(nb) if text in c.source)


def leftover_cgroups():
    return subprocess.run("ls -d /sys/fs/cgroup/*/dockyard*/* 2>/dev/null", shell=True,
                          capture_output=True, text=True).stdout.split()


def test_quickstart(host_ready, dockyard_kernel, tmp_path):
    nb = execute("quickstart.ipynb", tmp_path)
    info = outputs(cell_with(nb, "%dockyard info"), "execute_result")[0].data["text/html"]
    assert "overlayfs" in info

    build = widgets_in(nb, cell_with(nb, "-t hello:1"))
    progress = next(w for w in build if "steps_total" in w)
    assert progress["status"] == "done" and progress["steps_done"] == progress["steps_total"]
    stack = next(w for w in build if "layer_count" in w)
    assert stack["layer_count"] == 2                        # busybox + the RUN
    assert "2 layers" in text_of(cell_with(nb, "img = _"))

    second = widgets_in(nb, cell_with(nb, "-t hello:2"))
    assert next(w for w in second if "layer_count" in w)["layer_count"] == 3
    progress_html = child_html(nb, next(w for w in second if "steps_total" in w))
    assert "and one more line" in progress_html and "hello from a layer" not in progress_html

    assert text_of(cell_with(nb, "run --rm hello:2")) == "hello from a layer\nand one more line\n"

    (view,) = widgets_in(nb, cell_with(nb, "run -d --name quickstart-web"))
    assert view["container_name"] == "quickstart-web"
    assert view["state"] in ("running", "removed")         # the cleanup cell may come first
    assert "quickstart-web" in child_html(nb, view)
    ps = outputs(cell_with(nb, "%container ps"), "execute_result")[0].data["text/html"]
    assert "quickstart-web" in ps and "dy-state-running" in ps


def test_networks_and_volumes(host_ready, dockyard_kernel, tmp_path):
    nb = execute("networks-and-volumes.ipynb", tmp_path)
    assert "hello from a volume" in text_of(cell_with(nb, "wget -qO- http://web/"))
    assert "<h1>hello from a volume</h1>" in text_of(cell_with(nb, "urllib.request"))
    (view,) = widgets_in(nb, cell_with(nb, "--name web"))
    assert view["container_name"] == "web"
    assert "18080" in child_html(nb, view)                 # the published port, as a link


def test_reproducible_environment(host_ready, dockyard_kernel, tmp_path):
    nb = execute("reproducible-environment.ipynb", tmp_path)
    elsewhere = outputs(cell_with(nb, "elsewhere.notebooks.build"), "execute_result")[0]
    html = elsewhere.data["text/html"]
    assert html.count("dy-lock-same") == 2 and html.count("dy-lock-drifted") == 1
    assert "not deterministic" in html and "RUN date &gt; /env/built-at" in html
    assert "is the locked image: True" in text_of(cell_with(nb, "is the locked image"))
    drift = outputs(cell_with(nb, "numbers==2.0"), "execute_result")[0].data["text/html"]
    assert "COPY requirements.txt /env/" in drift and "a build-context file changed" in drift
    diff = outputs(cell_with(nb, "%image diff"), "execute_result")[0].data["text/html"]
    assert "/env/requirements.txt" in diff and "dy-diff-changed" in diff
    assert outputs(cell_with(nb, "update=True"), "execute_result")[0].data["text/plain"] == "True"
    assert text_of(cell_with(nb, "engine.notebooks.run")) == "numbers==2.0\n"
    assert not any(o.output_type == "error" for c in code_cells(nb) for o in c.outputs)


