"""notebooks/data-science-environment.ipynb end to end: a real image, real wheels, a kernel inside."""
import base64
import pathlib
import shutil

import nbformat

from dockyard.engine import Engine

from .conftest import outputs, run_notebook, text_of, widgets_in

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


def cell_with(nb, text):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def test_data_science_environment(python_image, dockyard_kernel, tmp_path):
    for name in ("data-science-environment.ipynb", "weather.csv"):
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    nb = nbformat.read(tmp_path / "data-science-environment.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    run_notebook(nb, tmp_path, timeout=600, env={
        "DOCKYARD_DATA_ROOT": str(python_image["root"]),
        "SOURCE_DATE_EPOCH": str(python_image["epoch"])})

    progress = widgets_in(nb, cell_with(nb, "%image bootstrap python"))[0]
    assert progress["status"] == "done" and progress["image_id"] == python_image["id"]
    assert "numpy-" in text_of(cell_with(nb, "pip', 'download'"))
    assert "Cells run in sci-env:1" in outputs(cell_with(nb, "%dockyard use sci-env:1"),
                                               "execute_result")[0]["data"]["text/plain"]
    versions = text_of(cell_with(nb, "numpy.__version__"))
    assert "at /usr/bin/python3" in versions            # the container's Python ...
    wheels = {p.name.split("-")[0]: p.name.split("-")[1] for p in (tmp_path / "wheelhouse").iterdir()}
    assert f"numpy {wheels['numpy']} | pandas {wheels['pandas']}" in versions  # ... its packages
    table = outputs(cell_with(nb, "groupby('city').temp_c.agg"), "execute_result")[0]
    assert "<table" in table["data"]["text/html"] and "Lisbon" in table["data"]["text/html"]
    (figure,) = outputs(cell_with(nb, "plt.show()"), "display_data")
    assert base64.b64decode(figure["data"]["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert text_of(last).strip() != "/usr/bin/python3"               # back on the host
    engine = Engine(python_image["root"])
    assert [c for c in engine.containers.list(all=True)
            if c.attrs["Config"]["Labels"].get("org.dockyard.kernel")] == []
