"""Interrupting a cell (the notebook's stop button) or restarting the kernel mid-cell: the cell
ends with one line, the widgets reach a final state, and nothing is left behind."""
import os
import time

import pytest

from dockyard.engine import Engine

TICKER = ("%container run --rm --name ticker --network none busybox "
          "sh -c 'for i in $(seq 1 60); do echo tick $i; sleep 1; done'")
SLOW_BUILD = "%%dockerfile -t slow:1\nFROM busybox\nRUN echo start; sleep 30; echo end\n"


def step_printed(k, line: str) -> bool:
    """Whether a build step's output area shows `line` (its <pre> starts with it)."""
    return any(f">{line}" in s.get("value", "") for s in k.widget_states().values())


class Kernel:
    """A dockyard kernel on a private data root, and what it sent on IOPub so far."""

    def __init__(self, km, kc):
        self.km, self.kc = km, kc
        self.messages: list[dict] = []

    def drain(self, seconds: float = 0.2) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.messages.append(self.kc.get_iopub_msg(timeout=0.05))
            except Exception:           # queue.Empty: nothing yet
                pass
        return self.messages

    def wait_for(self, predicate, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            assert time.monotonic() < deadline, "timed out; IOPub: " + repr(self.messages[-5:])
            self.drain(0.1)

    def reply_to(self, msg_id: str) -> dict:
        """The shell reply to `msg_id` (skipping a late kernel_info reply from start-up)."""
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def stream(self) -> str:
        return "".join(m["content"].get("text", "") for m in self.messages
                       if m["msg_type"] == "stream")

    def widget_states(self) -> dict[str, dict]:
        """model id -> the widget's state, merged from comm_open and comm_msg updates."""
        states: dict[str, dict] = {}
        for m in self.messages:
            data = m["content"].get("data") or {}
            if m["msg_type"] in ("comm_open", "comm_msg") and "state" in data:
                states.setdefault(m["content"]["comm_id"], {}).update(data["state"])
        return states

    def builds(self) -> list[dict]:
        return [s for s in self.widget_states().values() if "steps_total" in s]

    def displays(self) -> list[dict]:
        return [m["content"] for m in self.messages
                if m["msg_type"] in ("display_data", "update_display_data")]


@pytest.fixture
def kernel(host_ready, dockyard_kernel, tmp_path):
    from jupyter_client.manager import KernelManager

    root = tmp_path / "root"
    Engine(root).images.bootstrap("busybox")
    km = KernelManager(kernel_name="dockyard", transport="ipc", ip=str(tmp_path / "ipc"))
    km.start_kernel(env={**os.environ, "DOCKYARD_DATA_ROOT": str(root)})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        yield Kernel(km, kc), root
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        engine = Engine(root)
        for c in engine.containers.list(all=True):
            c.remove(force=True)


def leftovers(root) -> list[str]:
    """Containers, build bundles included, still on the data root."""
    folder = root / "containers"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_interrupting_a_foreground_run_says_one_line_and_removes_the_container(kernel):
    k, root = kernel
    msg_id = k.kc.execute(TICKER)
    k.wait_for(lambda: "tick 2" in k.stream())
    interrupted = time.monotonic()
    k.km.interrupt_kernel()
    reply = k.reply_to(msg_id)
    seconds = time.monotonic() - interrupted
    content = reply["content"]
    assert (content["status"], content["ename"]) == ("error", "Interrupted")
    assert content["evalue"] == "container ticker stopped and removed"
    k.drain()
    (error,) = [m["content"] for m in k.messages if m["msg_type"] == "error"]
    assert len(error["traceback"]) == 1 and "KeyboardInterrupt" not in error["traceback"][0]
    notes = [d["data"].get("text/plain") for d in k.displays()]
    assert notes == ["stopping ticker…", ""]         # shown while stopping, then gone
    assert leftovers(root) == []
    print(f"\ninterrupt to reply: {seconds:.2f} s")
    k.kc.execute_interactive("x = 1 + 1", timeout=30)   # the kernel is fine afterwards


def test_interrupting_a_build_ends_the_widget_and_keeps_nothing(kernel):
    k, root = kernel
    msg_id = k.kc.execute(SLOW_BUILD)
    k.wait_for(lambda: step_printed(k, "start"))
    k.km.interrupt_kernel()
    reply = k.reply_to(msg_id)
    line = "Build interrupted at step 2/2; nothing was kept"
    assert (reply["content"]["ename"], reply["content"]["evalue"]) == ("Interrupted", line)
    k.drain()
    (build,) = k.builds()
    assert (build["status"], build["error"]) == ("interrupted", line)
    final = k.displays()[-1]                          # the static copy was updated too
    assert final["data"]["text/plain"] == line and "dy-build-interrupted" in final["data"]["text/html"]
    assert leftovers(root) == []
    with pytest.raises(LookupError):
        Engine(root).images.get("slow:1")


def test_restarting_the_kernel_mid_build_ends_the_widget_and_cleans_up(kernel):
    k, root = kernel
    k.kc.execute(SLOW_BUILD)
    k.wait_for(lambda: step_printed(k, "start"))
    assert any(name.startswith("build-") for name in leftovers(root))   # the RUN is running
    k.km.restart_kernel(now=False)          # asks the kernel to shut down, as Lab's restart does
    k.drain(1.0)
    (build,) = k.builds()
    assert build["status"] == "interrupted"
    assert build["error"] == ("Build interrupted at step 2/2 because the kernel restarted; "
                              "nothing was kept")
    deadline = time.monotonic() + 10
    while leftovers(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(root) == []               # the build cleaned up before the kernel went
