"""Call engine code off the kernel's asyncio loop.

ipykernel runs an asyncio loop in the thread that executes cells; pyroute2's synchronous IPRoute
calls `run_until_complete`, which fails there with "This event loop is already running". Engine
calls that may touch netlink (create, start, remove, network verbs) go through `call`, which runs
them in a short-lived thread when this thread has a running loop, and directly otherwise.
"""
import asyncio
import threading


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def call(fn, *args, **kwargs):
    """fn(*args, **kwargs), in a helper thread if this thread runs an asyncio loop."""
    if not _loop_running():
        return fn(*args, **kwargs)
    box: dict = {}

    def work():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:      # re-raised in the caller's thread, unchanged
            box["error"] = exc

    thread = threading.Thread(target=work, name="dockyard-engine-call", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
