"""quickstart.ipynb in real JupyterLab and headless Chromium: the widgets render and act.

Screenshots go to .artifacts/ at the repository root (or $SCREENSHOT_DIR); a failing test leaves
<name>-failure.png there and the cells' prompts and outputs in its error.
"""
import contextlib
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
WAIT_MS = 30_000                # any one step; the whole quickstart runs in about 10 s

# The notebook's own session, not its execution indicator: that indicator reads "idle" before
# the kernel even exists, and run-all on a notebook without a kernel skips (or hangs on) cells.
KERNEL_READY = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = panel && panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return !!(ctx && ctx.isReady && !ctx.hasNoKernel && kernel
            && kernel.connectionStatus === "connected" && kernel.status === "idle");
}"""
# Fire and forget: commands.execute's promise settles only when every cell has run, and
# page.evaluate would wait on it with no timeout at all.
RUN_ALL = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
CELLS = """() => Array.from(document.querySelectorAll('.jp-CodeCell')).map(cell =>
  ((cell.querySelector('.jp-InputPrompt') || {}).innerText || '').trim() + ' ' +
  ((cell.querySelector('.jp-OutputArea') || {}).innerText || '').slice(0, 300))"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path, dockyard_kernel):
    """JupyterLab on 127.0.0.1 with a token, the dockyard kernelspec and a private data root."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    root, home = tmp_path / "lab", tmp_path / "home"
    root.mkdir()
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    data_root = tmp_path / "dockyard"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_PATH=dockyard_kernel["jupyter_path"], DOCKYARD_DATA_ROOT=str(data_root))
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url, deadline = f"http://127.0.0.1:{port}", time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError((home / "lab.log").read_text())
            time.sleep(0.25)
    yield {"url": url, "token": token, "root": root, "data_root": data_root}
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def screenshot_dir() -> pathlib.Path:
    shots = pathlib.Path(os.environ.get("SCREENSHOT_DIR", REPO / ".artifacts"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@contextlib.contextmanager
def lab_page(lab, notebook: str, shots: pathlib.Path, name: str):
    """A Chromium page on `notebook` with its kernel ready and all cells started.

    Whatever fails inside leaves `<name>-failure.png` (viewport only, bounded time) and the
    cells' prompts and outputs as a note on the exception.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(f"{lab['url']}/lab/tree/{notebook}?token={lab['token']}")
            page.wait_for_function(KERNEL_READY, timeout=60_000)
            page.evaluate(RUN_ALL)
            yield page
        except Exception as exc:
            exc.add_note(describe_failure(page, shots / f"{name}-failure.png"))
            raise
        finally:
            browser.close()


def describe_failure(page, path: pathlib.Path) -> str:
    """Save a screenshot of what the page shows and return the cells' state; never hangs."""
    notes = []
    try:
        page.screenshot(path=str(path), timeout=5_000)
        notes.append(f"screenshot: {path}")
    except Exception as exc:            # the page may be gone: say so, keep the real error
        notes.append(f"no screenshot: {exc}")
    try:
        notes += ["cells:"] + [f"  {c!r}" for c in page.evaluate(CELLS)]
    except Exception as exc:
        notes.append(f"no cell dump: {exc}")
    return "\n".join(notes)


def quickstart_without_cleanup(path):
    nb = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if "cleanup" not in c.metadata.get("tags", [])]
    nbformat.write(nb, path)


def wait_engine_status(data_root, name, wanted, seconds=30):
    from dockyard.engine import Engine
    deadline = time.time() + seconds
    while True:
        status = Engine(data_root).containers.get(name).status
        if status == wanted or time.time() > deadline:
            return status
        time.sleep(0.2)


@pytest.mark.timeout(120)      # about 15 s when it works; every wait inside is bounded
def test_quickstart_widgets_in_lab(host_ready, lab):
    shots = screenshot_dir()
    quickstart_without_cleanup(lab["root"] / "quickstart.ipynb")
    try:
        with lab_page(lab, "quickstart.ipynb", shots, "quickstart") as page:
            stack = page.locator(".dy-layer-stack").first
            stack.wait_for()
            assert "2 layers" in stack.inner_text() and "hello:1" in stack.inner_text()
            view = page.locator(".dy-container").first
            view.locator(".dy-state-running").wait_for()
            assert "quickstart-web" in view.locator(".dy-name").inner_text()
            assert "hello:2" in view.inner_text()
            stack.screenshot(path=str(shots / "quickstart-layers.png"))
            view.screenshot(path=str(shots / "quickstart-container-running.png"))

            view.locator("button.dy-stop").click()
            assert wait_engine_status(lab["data_root"], "quickstart-web", "exited") == "exited"
            view.locator(".dy-state-exited").wait_for()
            assert view.locator("button.dy-stop").is_disabled()
            view.screenshot(path=str(shots / "quickstart-container-stopped.png"))
            page.screenshot(path=str(shots / "quickstart-page.png"))
    finally:
        from dockyard.engine import Engine
        engine = Engine(lab["data_root"])
        for container in engine.containers.list(all=True):
            engine.containers.remove(container, force=True)


@pytest.mark.timeout(120)
def test_widgets_render_in_lab_from_fake_objects(lab):
    """The widgets' DOM hooks and buttons, without an engine: fake objects in the kernel."""
    from nbformat.v4 import new_code_cell, new_notebook

    shutil.copy(pathlib.Path(__file__).with_name("fakes.py"), lab["root"] / "fakes.py")
    nb = new_notebook(cells=[new_code_cell(
        "import fakes\n"
        "from dockyard.extension.layers import LayerStack\n"
        "from dockyard.extension.container_widget import ContainerView\n"
        "c = fakes.Container()\n"
        "display(LayerStack(fakes.image()))\n"
        "ContainerView(c, refresh_seconds=0.2)")])
    nb.metadata["kernelspec"] = {"name": "dockyard", "display_name": "Python 3 (dockyard)",
                                 "language": "python"}
    nbformat.write(nb, lab["root"] / "fakes.ipynb")
    shots = screenshot_dir()
    with lab_page(lab, "fakes.ipynb", shots, "fakes") as page:
        stack = page.locator(".dy-layer-stack")
        stack.wait_for()
        assert "2 layers" in stack.inner_text() and "demo:1" in stack.inner_text()
        assert stack.locator(".dy-layer").count() == 2
        view = page.locator(".dy-container")
        view.locator(".dy-state-running").wait_for()
        assert "web" in view.locator(".dy-name").inner_text()
        assert "http://127.0.0.1:8080" in view.locator("a.dy-port").get_attribute("href")
        view.locator(".dy-cpu").wait_for()
        page.screenshot(path=str(shots / "fakes-page.png"))
        view.locator("button.dy-stop").click()
        view.locator(".dy-state-exited").wait_for()
        assert view.locator("button.dy-stop").is_disabled()
        view.screenshot(path=str(shots / "fakes-container-stopped.png"))
