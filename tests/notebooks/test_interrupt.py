"""Interrupting a cell (the notebook's stop button) stops its foreground container."""
import time

from dockyard.engine import Engine


def test_interrupting_a_foreground_run_stops_the_container(host_ready, dockyard_kernel, tmp_path):
    import os
    from jupyter_client.manager import start_new_kernel

    root = tmp_path / "root"
    Engine(root).images.bootstrap("busybox")
    km, kc = start_new_kernel(kernel_name="dockyard",
                              env={**os.environ, "DOCKYARD_DATA_ROOT": str(root)})
    try:
        msg_id = kc.execute("%container run --name sleepy --network none busybox "
                            "sh -c 'echo started; exec sleep 300'")
        engine = Engine(root)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:      # wait until the container runs
            try:
                if engine.containers.get("sleepy").status == "running":
                    break
            except LookupError:
                pass
            time.sleep(0.1)
        assert engine.containers.get("sleepy").status == "running"
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        state = engine.containers.get("sleepy").attrs["State"]
        assert state["Status"] == "exited" and state["ExitCode"] in (137, 143)
        # the kernel is still healthy
        kc.execute_interactive("x = 1 + 1", timeout=30)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        engine = Engine(root)
        for c in engine.containers.list(all=True):
            c.remove(force=True)
