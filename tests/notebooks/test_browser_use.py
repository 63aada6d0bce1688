"""data-science-environment.ipynb in real JupyterLab and Chromium: the figure drawn inside the
container shows in the page (screenshot: .artifacts/data-science-figure.png)."""
import shutil

import nbformat
import pytest

from .test_browser import REPO, lab, lab_page, screenshot_dir  # noqa: F401 (lab: a fixture)

ALL_RAN_LONG_MS = 900_000      # a cold run builds the environment (wheels, one pip layer)


@pytest.mark.timeout(1800)
def test_the_figure_drawn_inside_the_container_shows_in_lab(host_ready, python_image, lab):
    nb = nbformat.read(REPO / "notebooks" / "data-science-environment.ipynb", as_version=4)
    # Test set-up, as two cells a reader would not need: the session's data root with the
    # python image, and the date that image was made with (so bootstrap finds it).
    nb.cells[:0] = [nbformat.v4.new_code_cell(
        f"import os\nos.environ['SOURCE_DATE_EPOCH'] = '{python_image['epoch']}'\n"
        f"%config DockyardSettings.data_root = '{python_image['root']}'")]
    nbformat.write(nb, lab["root"] / "data-science.ipynb")
    shutil.copy(REPO / "notebooks" / "weather.csv", lab["root"] / "weather.csv")
    with lab_page(lab, "data-science.ipynb", "data-science") as page:
        page.wait_for_function("""() => {
            const cells = window.jupyterapp.shell.currentWidget.content.widgets
              .filter(cell => cell.model.type === 'code');
            return cells.every(cell => cell.model.executionCount !== null);
        }""", timeout=ALL_RAN_LONG_MS)
        figure = page.locator(".jp-OutputArea-output img").first
        figure.wait_for()
        box = figure.bounding_box()
        assert box["width"] > 300 and box["height"] > 150
        text = page.locator(".jp-Notebook").inner_text()
        assert "Cells run in sci-env:1" in text and "at /usr/bin/python3" in text
        figure.screenshot(path=str(screenshot_dir() / "data-science-figure.png"))
        page.screenshot(path=str(screenshot_dir() / "data-science-page.png"), full_page=False)
