"""`%dockyard use IMAGE`: cells run in a real ipykernel inside a container of the python image.

One dockyard kernel serves most checks (a kernel and container start cost seconds here).
"""
import os
import re
import signal
import time

import pytest
from jupyter_client.manager import start_new_kernel

from dockyard.engine import Engine

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
       "RU5ErkJggg==")


@pytest.fixture
def kernel(python_image, dockyard_kernel, tmp_path):
    """A dockyard kernel on the python image's data root, working in tmp_path."""
    (tmp_path / "data.csv").write_text("x,y\n1,2\n")
    km, kc = start_new_kernel(kernel_name="dockyard", cwd=str(tmp_path), env={
        **os.environ, "DOCKYARD_DATA_ROOT": str(python_image["root"])})
    yield km, kc, Engine(python_image["root"])
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code, *, timeout=60, **kw):
    """Execute; (reply content, [(msg_type, content)] of the cell's IOPub output)."""
    out = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: out.append(
        (m["msg_type"], m["content"])), **kw)
    return reply["content"], [(t, c) for t, c in out if t not in ("status", "execute_input")]


def text(out, name="stdout"):
    return "".join(c["text"] for t, c in out if t == "stream" and c["name"] == name)


def kernel_containers(engine):
    return [c for c in engine.containers.list(all=True)
            if c.attrs["Config"]["Labels"].get("org.dockyard.kernel")]


def test_cells_run_inside_and_everything_comes_back(kernel, tmp_path):
    km, kc, engine = kernel
    reply, out = run(kc, "%dockyard use python:latest --network none")
    assert reply["status"] == "ok", out
    (banner,) = [c for t, c in out if t == "execute_result"]
    assert banner["data"]["text/plain"].startswith("Cells run in python:latest (container ")
    (container,) = kernel_containers(engine)

    # the notebook's directory is mounted at its own path and is the working directory
    reply, out = run(kc, "import os, sys\nprint(sys.executable, os.getcwd())\n"
                         "open('data.csv').read()")
    assert text(out) == f"/usr/bin/python3 {tmp_path}\n"
    (result,) = [c for t, c in out if t == "execute_result"]
    assert result["data"]["text/plain"] == repr("x,y\n1,2\n")
    assert result["execution_count"] == reply["execution_count"] == 2

    # output streams while the cell runs, one message per flush
    stamps = []
    kc.execute_interactive("import time\nfor i in range(3):\n    print(i, flush=True)\n"
                           "    time.sleep(0.3)", timeout=30, output_hook=lambda m: stamps.append(
                               time.monotonic()) if m["msg_type"] == "stream" else None)
    assert len(stamps) == 3 and stamps[2] - stamps[0] > 0.4

    # rich output: HTML and PNG display data
    reply, out = run(kc, "from IPython.display import HTML, Image, display\n"
                         "import base64\n"
                         "display(HTML('<b>inside</b>'))\n"
                         f"Image(data=base64.b64decode('{PNG}'))")
    kinds = [(t, sorted(c["data"])) for t, c in out]
    assert ("display_data", ["text/html", "text/plain"]) in kinds
    assert ("execute_result", ["image/png", "text/plain"]) in kinds

    # errors carry the inner traceback
    reply, out = run(kc, "def f():\n    return 1/0\nf()")
    assert reply["status"] == "error" and reply["ename"] == "ZeroDivisionError"
    (error,) = [c for t, c in out if t == "error"]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))
    assert "return 1/0" in plain and "ZeroDivisionError" in plain

    # Tab and Shift-Tab
    kc.complete("import os; os.pa", 16)
    matches = kc.get_shell_msg(timeout=10)["content"]["matches"]
    assert "os.path" in matches or "path" in matches
    kc.inspect("sorted", 6)
    assert "iterable" in kc.get_shell_msg(timeout=10)["content"]["data"]["text/plain"]

    # %dockyard use alone says where cells run; host switches back and removes the container
    reply, out = run(kc, "%dockyard use")
    assert "Cells run in python:latest" in out[0][1]["data"]["text/plain"]
    run(kc, "%dockyard use host")
    reply, out = run(kc, "import sys; print(sys.executable)")
    assert text(out).strip() != "/usr/bin/python3"
    assert kernel_containers(engine) == []


def test_input_interrupt_and_comms(kernel):
    km, kc, engine = kernel
    reply, out = run(kc, "%dockyard use python:latest --network none")
    assert reply["status"] == "ok", out

    # input(): the inner kernel's request goes to the front end and the answer back
    msg_id = kc.execute("name = input('who? ')\nprint('hello', name)", allow_stdin=True)
    request = kc.get_stdin_msg(timeout=30)
    assert request["content"]["prompt"] == "who? "
    kc.input("container")
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        out.append((msg["msg_type"], msg["content"]))
    assert "hello container\n" in text(out)

    # interrupt: SIGINT inside, the kernel (and its state) survives
    run(kc, "state = 41")
    msg_id = kc.execute("import time\ntime.sleep(60)")
    time.sleep(1.5)
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=20)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=20)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    reply, out = run(kc, "state + 1")
    assert [c["data"]["text/plain"] for t, c in out if t == "execute_result"] == ["42"]

    # comms both ways (what ipywidgets rides on): opened inside, a message in, an echo out
    reply, out = run(kc, "from ipykernel.comm import Comm\n"
                         "c = Comm(target_name='dockyard-test', data={'hello': 1})\n"
                         "c.on_msg(lambda m: c.send({'echo': m['content']['data']}))")
    (opened,) = [c for t, c in out if t == "comm_open"]
    assert opened["target_name"] == "dockyard-test" and opened["data"] == {"hello": 1}
    sent = kc.session.send(kc.shell_channel.socket, "comm_msg", {
        "comm_id": opened["comm_id"], "data": {"ping": 2}})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=20)
        if msg["msg_type"] == "comm_msg":
            break
    assert msg["content"]["data"] == {"echo": {"ping": 2}}
    assert msg["parent_header"]["msg_id"] == sent["header"]["msg_id"]


def test_shutdown_restart_and_a_killed_kernel_leave_no_container(python_image, dockyard_kernel,
                                                                 tmp_path):
    engine = Engine(python_image["root"])
    env = {**os.environ, "DOCKYARD_DATA_ROOT": str(python_image["root"])}
    km, kc = start_new_kernel(kernel_name="dockyard", cwd=str(tmp_path), env=env)
    try:
        run(kc, "%dockyard use python:latest --network none")
        (first,) = kernel_containers(engine)
        km.restart_kernel()
        wait_until(lambda: first.id not in [c.id for c in kernel_containers(engine)])
        kc.wait_for_ready(timeout=60)
        run(kc, "%dockyard use python:latest --network none")
        assert len(kernel_containers(engine)) == 1
        os.kill(km.provisioner.process.pid, signal.SIGKILL)     # no shutdown, no cleanup
        wait_until(lambda: kernel_containers(engine) == [])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_container_dying_mid_cell_is_one_line_then_cells_run_on_the_host(kernel):
    km, kc, engine = kernel
    run(kc, "%dockyard use python:latest --network none")
    (container,) = kernel_containers(engine)
    msg_id = kc.execute("import time\ntime.sleep(60)")
    time.sleep(1.5)
    container.kill()
    reply = kc.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KernelDied"
    assert "cells run on the host again" in reply["content"]["evalue"]
    assert len(reply["content"]["traceback"]) == 1
    reply, out = run(kc, "import sys; print(sys.executable)")
    assert text(out).strip() != "/usr/bin/python3"


def test_images_without_python_or_ipykernel(kernel):
    km, kc, engine = kernel
    reply, out = run(kc, "%dockyard use busybox")
    assert reply["status"] == "error"
    assert reply["evalue"] == "image busybox has no python3 on its PATH: it can't hold a Python kernel"
    assert len(reply["traceback"]) == 1
    # an image with Python but no ipykernel gets a derived image with it (host pip, one layer)
    reply, out = run(kc, "%%dockerfile -q -t noipykernel:1\nFROM python:latest\n"
                         "RUN rm -rf /usr/lib/python3/dist-packages/ipykernel", timeout=120)
    assert reply["status"] == "ok", out
    reply, out = run(kc, "%dockyard use noipykernel:1 --network none", timeout=300)
    assert reply["status"] == "ok", out
    assert "Cells run in noipykernel:1" in [c for t, c in out if t == "execute_result"][0][
        "data"]["text/plain"]
    reply, out = run(kc, "import ipykernel; print(ipykernel.__file__)")
    assert text(out).startswith("/opt/dockyard/ipykernel/ipykernel/")
    derived = [i for i in engine.images.list() if any(
        "/dockyard-ipykernel:" in t for t in i.tags)]
    assert len(derived) == 1
    assert len(engine.images.history(derived[0].id)) == len(
        engine.images.history("noipykernel:1")) + 1


def wait_until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
