"""The README's notebook cells, executed in order on the dockyard kernel: each does what the
README's text around it says."""
import pathlib
import re

from nbformat.v4 import new_code_cell, new_notebook

from .conftest import child_html, outputs, run_notebook, text_of, widgets_in
from .test_notebooks import free_port

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def notebook_cells() -> list[str]:
    """The ```python blocks of the README's "In a notebook" section, one cell each."""
    text = README.read_text()
    section = text[text.index("## In a notebook"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_notebook_cells_do_what_the_readme_says(host_ready, dockyard_kernel, tmp_path):
    port = str(free_port())         # the README says 8080; another run may hold it
    cells = [new_code_cell(source.replace("8080", port)) for source in notebook_cells()]
    nb = run_notebook(new_notebook(cells=cells), tmp_path,
                      env={"DOCKYARD_DATA_ROOT": str(tmp_path / "dockyard")})
    bootstrap, build, run, web, fetch, ps, history, remove = nb.cells

    assert text_of(bootstrap).startswith("busybox:latest: base image busybox")
    states = widgets_in(nb, build)
    assert next(w for w in states if "steps_total" in w)["status"] == "done"
    assert next(w for w in states if "layer_count" in w)["layer_count"] == 2
    assert text_of(run) == "built in a notebook\n"

    (panel,) = widgets_in(nb, web)
    assert panel["container_name"] == "web"
    assert panel["state"] == "removed"                  # by the last cell; its link is gone
    assert "dy-logs" in child_html(nb, panel) and "href" not in child_html(nb, panel)
    assert outputs(fetch, "execute_result")[0].data["text/plain"] == "b'built in a notebook\\n'"

    table = outputs(ps, "execute_result")[0].data["text/html"]
    assert "web" in table and "dy-state-running" in table and "as of " in table
    assert f"href='http://127.0.0.1:{port}'" in table               # a link to the server
    steps = outputs(history, "execute_result")[0].data["text/html"]
    assert "RUN echo &quot;built in a notebook&quot; &gt; /hello.txt" in steps
    assert "fixed date" in steps and "buildkit" not in steps and "&lt;missing&gt;" not in steps
    assert text_of(remove) == "web\n"
