"""Every notebook in notebooks/ executed end to end on the dockyard kernel, outputs checked,
then its clean-up cell run as the reader would; and the notebook exported to HTML."""
import pathlib
import re
import socket

import nbformat
from nbformat.v4 import new_code_cell

from .conftest import child_html, outputs, run_notebook, text_of, widgets_in

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def execute(name, tmp_path, ports=()):
    """Run All, then the clean-up cells with their `# ` taken away, as the reader is told to.

    Fixed host ports in the text become free ones: other test runs may hold them.
    """
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "stored with outputs"
    for port in ports:
        free = str(free_port())
        for cell in nb.cells:
            cell.source = cell.source.replace(str(port), free)
    nb.cells += [new_code_cell(re.sub(r"(?m)^# ", "", c.source), metadata={"tags": ["ran-cleanup"]})
                 for c in nb.cells if "cleanup" in c.metadata.get("tags", [])]
    root = tmp_path / "dockyard"
    return run_notebook(nb, tmp_path, timeout=180, env={"DOCKYARD_DATA_ROOT": str(root)})


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def cell_with(nb, text):
    return next(c for c in code_cells(nb) if text in c.source)


def to_html(nb) -> str:
    """nbconvert's HTML of `nb` as JupyterLab saves it by default: without widget state."""
    from nbconvert import HTMLExporter

    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)
    html, _ = HTMLExporter().from_notebook_node(nb)
    return html


def test_quickstart(host_ready, dockyard_kernel, tmp_path):
    nb = execute("quickstart.ipynb", tmp_path)
    info = outputs(cell_with(nb, "%dockyard info"), "execute_result")[0].data["text/html"]
    assert "overlayfs" in info and "Data root" in info and "Docker Root Dir" not in info
    assert text_of(cell_with(nb, "%image bootstrap")).startswith(
        "busybox:latest: base image busybox")

    build_cell = cell_with(nb, "-t hello:1")
    build = widgets_in(nb, build_cell)
    progress = next(w for w in build if "steps_total" in w)
    assert progress["status"] == "done" and progress["steps_done"] == progress["steps_total"]
    stack = next(w for w in build if "layer_count" in w)
    assert stack["layer_count"] == 2                        # busybox + the RUN
    stack_html = child_html(nb, stack)
    assert f"In [{build_cell.execution_count}]" in stack_html       # the cell that built it
    assert "RUN echo &#x27;hello from a layer&#x27; &gt; /hello.txt" in stack_html
    assert "# buildkit" not in stack_html and "/bin/sh -c" not in stack_html
    assert "base image: busybox" in stack_html
    assert "2 layers" in text_of(cell_with(nb, "img = _"))

    second = widgets_in(nb, cell_with(nb, "-t hello:2"))
    assert next(w for w in second if "layer_count" in w)["layer_count"] == 3
    progress_html = child_html(nb, next(w for w in second if "steps_total" in w))
    assert "and one more line" in progress_html and "hello from a layer" not in progress_html

    assert text_of(cell_with(nb, "run --rm hello:2")) == "hello from a layer\nand one more line\n"
    assert widgets_in(nb, cell_with(nb, "-t hello:3"))          # the exercise runs as given

    clock = cell_with(nb, "run -d --name quickstart-clock")
    (view,) = widgets_in(nb, clock)
    assert view["container_name"] == "quickstart-clock"
    ps = outputs(cell_with(nb, "%container ps"), "execute_result")[0].data["text/html"]
    assert "quickstart-clock" in ps and "dy-state-running" in ps
    assert re.search(r"as of \d\d:\d\d:\d\d", ps)
    # Run All left the clock running; the clean-up cell removed it, and the panel's saved
    # copy says so.
    (display,) = outputs(clock, "display_data")
    assert display.data["text/plain"].startswith("Container quickstart-clock (hello:2): removed at ")
    assert "dy-state-removed" in display.data["text/html"]

    html = to_html(nb)
    for repr_name in ("BuildProgress(", "ContainerView(", "LayerStack("):
        assert repr_name not in html
    assert "Built</b> hello:1 (4/4 steps)" in html                   # the finished build table
    assert re.search(r"dy-layer-count.>2 layers", html) and "dy-total-bar" in html  # the stack
    assert "quickstart-clock" in html and "dy-state-removed" in html    # the container's last state


def test_networks_and_volumes(host_ready, dockyard_kernel, tmp_path):
    nb = execute("networks-and-volumes.ipynb", tmp_path, ports=[18080])
    assert text_of(cell_with(nb, "%network create")).startswith("Created network demo-net: bridge")
    assert "hello from a volume" in text_of(cell_with(nb, "wget -qO- http://web/"))
    assert "<h1>hello from a volume</h1>" in text_of(cell_with(nb, "urllib.request"))
    assert "<p>about this site</p>" in text_of(cell_with(nb, "about.html"))
    (view,) = widgets_in(nb, cell_with(nb, "--name web"))
    assert view["container_name"] == "web"
    (cleanup,) = [c for c in nb.cells if "ran-cleanup" in c.metadata.get("tags", [])]
    assert text_of(cleanup).split() == ["web", "demo-net", "site"]


def test_reproducible_environment(host_ready, dockyard_kernel, tmp_path):
    nb = execute("reproducible-environment.ipynb", tmp_path)
    elsewhere = outputs(cell_with(nb, "elsewhere.notebooks.build"), "execute_result")[0]
    html = elsewhere.data["text/html"]
    assert html.count("dy-lock-same") == 2 and html.count("dy-lock-drifted") == 1
    assert "not deterministic" in html and "RUN sleep 1 &amp;&amp; date &gt; /env/built-at" in html
    assert "is the locked image: True" in text_of(cell_with(nb, "is the locked image"))
    drift = outputs(cell_with(nb, "numbers==2.0"), "execute_result")[0].data["text/html"]
    assert "COPY requirements.txt /env/" in drift and "a build-context file changed" in drift
    diff = outputs(cell_with(nb, "%image diff"), "execute_result")[0].data["text/html"]
    assert "/env/requirements.txt" in diff and "dy-diff-changed" in diff
    assert outputs(cell_with(nb, "update=True"), "execute_result")[0].data["text/plain"] == "True"
    assert text_of(cell_with(nb, "engine.notebooks.run")) == "numbers==2.0\n"
    assert not any(o.output_type == "error" for c in code_cells(nb) for o in c.outputs)
    (cleanup,) = [c for c in nb.cells if "ran-cleanup" in c.metadata.get("tags", [])]
    assert "shutil.rmtree(project)" in cleanup.source and cleanup.outputs == []
