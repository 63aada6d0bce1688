"""The notebooks in real JupyterLab and headless Chromium, driven as a person would.

Covers what only a browser shows: Run All leaves the quickstart's panel live, Stop says
"stopping…" then "exited (137)", the stop button (interrupt) ends a run or a build with one
line, a build's newest output line shows while the step runs, and a kernel restart mid-build
leaves the build panel in a final state. Screenshots go to .artifacts/ at the repository root
(or $SCREENSHOT_DIR); a failing test leaves <name>-failure.png there and the cells' prompts and
outputs in its error.
"""
import contextlib
import json
import os
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
WAIT_MS = 30_000                # any one step; the whole quickstart runs in about 10 s
KERNELSPEC = {"name": "dockyard", "display_name": "Python 3 (dockyard)", "language": "python"}

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
RESTART = "() => { window.jupyterapp.shell.currentWidget.sessionContext.restartKernel(); }"
# Whether an element matching the selector ever appeared, however briefly.
WATCH = """(selector) => { window.dySeen = window.dySeen || {}; window.dySeen[selector] = false;
  new MutationObserver(() => { if (document.querySelector(selector)) window.dySeen[selector] = true; })
    .observe(document.body, {subtree: true, childList: true}); }"""
CELLS = """() => Array.from(document.querySelectorAll('.jp-CodeCell')).map(cell =>
  ((cell.querySelector('.jp-InputPrompt') || {}).innerText || '').trim() + ' ' +
  ((cell.querySelector('.jp-OutputArea') || {}).innerText || '').slice(0, 300))"""
ALL_RAN = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .every(cell => cell.model.type !== 'code' || cell.model.executionCount)"""
CELL_IN_VIEW = """(index) => {
  const top = window.jupyterapp.shell.currentWidget.content.widgets[index].node.getBoundingClientRect().top;
  return top >= 0 && top < window.innerHeight / 2; }"""
EXECUTION_COUNTS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(cell => cell.model.type === 'code').map(cell => cell.model.executionCount)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, dockyard_kernel):
    """JupyterLab on 127.0.0.1 with a token, the dockyard kernelspec and a private data root."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    base = tmp_path_factory.mktemp("browser")
    root, home = base / "lab", base / "home"
    root.mkdir()
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Every cell in the DOM, as a reader scrolling through sees them (Lab 4 draws only the
    # cells in view by default).
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    data_root = base / "dockyard"
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


@pytest.fixture
def engine_cleanup(lab):
    """Remove whatever containers a test left on the Lab's data root."""
    yield
    from dockyard.engine import Engine
    engine = Engine(lab["data_root"])
    for container in engine.containers.list(all=True):
        engine.containers.remove(container, force=True)


def screenshot_dir() -> pathlib.Path:
    shots = pathlib.Path(os.environ.get("SCREENSHOT_DIR", REPO / ".artifacts"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def write_notebook(path, sources) -> None:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(nb, path)


@contextlib.contextmanager
def lab_page(lab, notebook: str, name: str, run_all: bool = True):
    """A Chromium page on `notebook` with its kernel ready (and all cells started).

    Whatever fails inside leaves `<name>-failure.png` (viewport only, bounded time) and the
    cells' prompts and outputs as a note on the exception.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        try:
            open_notebook(page, f"{lab['url']}/lab/tree/{notebook}?reset&token={lab['token']}")
            if run_all:
                page.evaluate(RUN_ALL)
            yield page
        except Exception as exc:
            exc.add_note(describe_failure(page, screenshot_dir() / f"{name}-failure.png"))
            raise
        finally:
            browser.close()


def open_notebook(page, url: str) -> None:
    """Open the notebook and wait for its kernel; once more if Lab's page half loaded.

    On a loaded machine Lab sometimes gives up on a request ("Error Loading Theme", "File Load
    Error ... Failed to fetch") and stays in a dialog; a person would reload, and so do we.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in (1, 2):
        page.goto(url)
        try:
            page.wait_for_function(KERNEL_READY, timeout=60_000)
            return
        except PlaywrightTimeout:
            if attempt == 2 or not page.locator(".jp-Dialog").count():
                raise


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


def wait_all_ran(page) -> None:
    """Until every code cell has an execution count, i.e. Run All has finished."""
    page.wait_for_function(ALL_RAN)


def run_cell(page, index: int) -> None:
    """Click the cell's prompt and press Ctrl+Enter, as a person would."""
    page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")


def interrupt(page) -> None:
    """Press the toolbar's stop button, as a person would."""
    page.locator(".jp-NotebookPanel-toolbar [data-jp-item-name='interrupt'] button").click()


def cell_output(page, index: int):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea")


def engine_state(data_root, name) -> dict:
    from dockyard.engine import Engine
    return Engine(data_root).containers.get(name).attrs["State"]


@pytest.mark.timeout(150)      # about 25 s when it works; every wait inside is bounded
def test_run_all_leaves_the_quickstart_panel_live_and_stop_says_how_it_ended(
        host_ready, lab, engine_cleanup):
    shots = screenshot_dir()
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", lab["root"] / "quickstart.ipynb")
    with lab_page(lab, "quickstart.ipynb", "quickstart") as page:
        wait_all_ran(page)                 # clean-up cell included: it is the reader's to run
        stack = page.locator(".dy-layer-stack").first
        assert "2 layers" in stack.inner_text() and "hello:1" in stack.inner_text()
        assert stack.locator(".dy-share").count() == 2                  # each layer's share
        view = page.locator(".dy-container").first
        view.locator(".dy-state-running").wait_for()
        assert "quickstart-clock" in view.locator(".dy-name").inner_text()
        up = view.locator(".dy-up").inner_text()
        page.wait_for_function(                                         # still live: it ticks
            "(before) => document.querySelector('.dy-container .dy-up').innerText !== before", arg=up)
        taken = page.locator(".dy-taken").first.inner_text()
        assert re.fullmatch(r"as of \d\d:\d\d:\d\d", taken)
        stack.screenshot(path=str(shots / "quickstart-layers.png"))
        view.screenshot(path=str(shots / "quickstart-container-running.png"))
        page.screenshot(path=str(shots / "quickstart-after-run-all.png"))

        # The cell column links to the cell that built the layer, by the cell's id.
        cells = nbformat.read(lab["root"] / "quickstart.ipynb", as_version=4).cells
        (built_in,) = [i for i, c in enumerate(cells) if "-t hello:1" in c.source]
        link = page.locator(".dy-layer-stack").last.locator("a.dy-cell-link").last
        assert link.get_attribute("href") == f"#cell-id={cells[built_in].id}"
        assert not page.evaluate(CELL_IN_VIEW, built_in)
        link.click()                                                    # Lab scrolls to it
        page.wait_for_function(CELL_IN_VIEW, arg=built_in)

        view.locator("button.dy-stop").click()
        stopping = view.locator(".dy-state-stopping")
        stopping.wait_for()                  # at once, while the stop signal's grace runs
        assert stopping.inner_text() == "stopping…"
        view.screenshot(path=str(shots / "quickstart-container-stopping.png"))
        exited = view.locator(".dy-state-exited")
        exited.wait_for()
        assert exited.inner_text() == "exited (137)"
        assert re.fullmatch(r"at \d\d:\d\d:\d\d", view.locator(".dy-ended").inner_text())
        assert view.locator("button.dy-stop").is_disabled()
        assert engine_state(lab["data_root"], "quickstart-clock")["ExitCode"] == 137
        view.screenshot(path=str(shots / "quickstart-container-stopped.png"))


@pytest.mark.timeout(180)
def test_the_stop_button_ends_a_run_or_a_build_with_one_line(host_ready, lab, engine_cleanup):
    shots = screenshot_dir()
    write_notebook(lab["root"] / "interrupts.ipynb", [
        "%image bootstrap busybox",
        "%container run --rm --name ticker busybox "
        "sh -c 'for i in $(seq 1 60); do echo tick $i; sleep 1; done'",
        "%%dockerfile --no-cache -t slow:1\nFROM busybox\nRUN echo start; sleep 30; echo end\n"])
    with lab_page(lab, "interrupts.ipynb", "interrupts") as page:
        ticker = cell_output(page, 1)
        ticker.get_by_text("tick 2").wait_for()
        page.evaluate(WATCH, ".dy-stopping")
        interrupt(page)
        ticker.get_by_text("Interrupted: container ticker stopped and removed").wait_for()
        text = ticker.inner_text()
        assert "KeyboardInterrupt" not in text and "Traceback" not in text
        assert page.evaluate("() => window.dySeen['.dy-stopping']")   # "stopping ticker…" showed
        ticker.screenshot(path=str(shots / "interrupt-run.png"))
        assert page.evaluate(EXECUTION_COUNTS)[2] is None        # Run All stopped at the error

        build = cell_output(page, 2)
        run_cell(page, 2)
        # The step's first line shows while it sleeps, though no later event flushes it.
        build.locator(".dy-build-output pre", has_text="start").wait_for(timeout=10_000)
        build.screenshot(path=str(shots / "build-live-output.png"))
        interrupt(page)
        line = "Build interrupted at step 2/2; nothing was kept"
        assert build.locator(".dy-build-interrupted").inner_text() == "Build interrupted at step 2/2"
        build.get_by_text(f"Interrupted: {line}").wait_for()
        assert "Traceback" not in build.inner_text()
        build.screenshot(path=str(shots / "build-interrupted.png"))

        run_cell(page, 2)
        build.locator(".dy-build-output pre", has_text="start").wait_for(timeout=10_000)
        page.evaluate(RESTART)
        stale = build.locator(".dy-build-head .dy-if-stale")
        stale.wait_for()                     # shown once the front end marks the view dead
        assert stale.inner_text().startswith("Build stopped: the kernel went away")
        build.screenshot(path=str(shots / "build-kernel-restarted.png"))
    containers = lab["data_root"] / "containers"
    deadline = time.time() + 10
    while list(containers.iterdir()) and time.time() < deadline:
        time.sleep(0.1)
    assert list(containers.iterdir()) == []        # the build cleaned up before the kernel went


@pytest.mark.timeout(120)
def test_widgets_render_in_lab_from_fake_objects(lab):
    """The widgets' DOM hooks and buttons, without an engine: fake objects in the kernel."""
    shutil.copy(pathlib.Path(__file__).with_name("fakes.py"), lab["root"] / "fakes.py")
    write_notebook(lab["root"] / "fakes.ipynb", [
        "import threading, fakes\n"
        "from dockyard.extension.layers import LayerStack\n"
        "from dockyard.extension.container_widget import ContainerView\n"
        "gate = threading.Event()\n"
        "c = fakes.Container(stop_gate=gate)\n"
        "display(LayerStack(fakes.image()))\n"
        "ContainerView(c, refresh_seconds=0.2)",
        "threading.Timer(1.5, gate.set).start()"])
    shots = screenshot_dir()
    with lab_page(lab, "fakes.ipynb", "fakes", run_all=False) as page:
        run_cell(page, 0)
        stack = page.locator(".dy-layer-stack")
        stack.wait_for()
        assert "2 layers" in stack.inner_text() and "demo:1" in stack.inner_text()
        assert stack.locator(".dy-layer").count() == 2
        hover = stack.locator(".dy-layer").first.get_attribute("title")
        assert hover.startswith("sha256:bbb\n")                          # full digest, then time
        view = page.locator(".dy-container")
        view.locator(".dy-state-running").wait_for()
        assert "web" in view.locator(".dy-name").inner_text()
        assert "http://127.0.0.1:8080" in view.locator("a.dy-port").get_attribute("href")
        view.locator(".dy-cpu").wait_for()
        page.screenshot(path=str(shots / "fakes-page.png"))
        view.locator("button.dy-stop").click()
        view.locator(".dy-state-stopping").wait_for()
        run_cell(page, 1)                                      # lets the stop finish
        view.locator(".dy-state-exited").wait_for()
        assert view.locator(".dy-state-exited").inner_text() == "exited (137)"
        assert view.locator("a.dy-port").count() == 0                   # it leads nowhere now
        assert view.locator("button.dy-stop").is_disabled()
        view.screenshot(path=str(shots / "fakes-container-stopped.png"))
