"""Notebook bench: how long the stop button takes to end a cell, in a real dockyard kernel.

    .venv/bin/python bench/bench_notebook.py [--rounds N]     # root, busybox-static

The target (issue 11): an interrupted `%container run` or `%%dockerfile` cell answers with its
one line within a second. Timed from the kernel manager's interrupt to the execute reply, for
a foreground container whose PID 1 ignores SIGTERM (a shell loop: the worst case, it waits
out the grace period) and for a build in the middle of a long RUN.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager

TICKER = ("%container run --rm --name ticker --network none busybox "
          "sh -c 'for i in $(seq 1 60); do echo tick $i; sleep 1; done'")
BUILD = "%%dockerfile --no-cache -t slow:1\nFROM busybox\nRUN echo start; sleep 30; echo end\n"


def wait_for_text(kc, text: str, seconds: float = 30) -> None:
    deadline, seen = time.monotonic() + seconds, ""
    while text not in seen:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {text!r} in the cell's output")
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except Exception:           # queue.Empty
            continue
        if msg["msg_type"] in ("stream", "comm_msg"):      # not execute_input: the code itself
            seen += msg["content"].get("text", "") + str(msg["content"].get("data", ""))


def interrupt_seconds(km, kc, code: str, started: str) -> float:
    msg_id = kc.execute(code)
    wait_for_text(kc, started)
    t = time.perf_counter()
    km.interrupt_kernel()
    while (reply := kc.get_shell_msg(timeout=30))["parent_header"].get("msg_id") != msg_id:
        pass
    seconds = time.perf_counter() - t
    assert reply["content"].get("ename") == "Interrupted", reply["content"]
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-nb-") as tmp:
        prefix = os.path.join(tmp, "kernels")
        subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "kernel", "install",
                        "--prefix", prefix], check=True, capture_output=True)
        root = os.path.join(tmp, "root")
        subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", root,
                        "image", "bootstrap", "busybox"], check=True, capture_output=True)
        env = {**os.environ, "DOCKYARD_DATA_ROOT": root,
               "JUPYTER_PATH": os.path.join(prefix, "share", "jupyter")}
        os.environ["JUPYTER_PATH"] = env["JUPYTER_PATH"]
        km = KernelManager(kernel_name="dockyard", transport="ipc", ip=os.path.join(tmp, "ipc"))
        km.start_kernel(env=env)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            runs = [interrupt_seconds(km, kc, TICKER, "tick 1") for _ in range(rounds)]
            builds = [interrupt_seconds(km, kc, BUILD, ">start") for _ in range(rounds)]
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    print("## Notebook: the stop button (interrupt to the cell's one line)\n")
    print("| cell | median | max | target |\n| --- | --- | --- | --- |")
    for name, values in (("`%container run` (PID 1 ignores SIGTERM)", runs),
                         ("`%%dockerfile` mid-RUN", builds)):
        print(f"| {name} | {statistics.median(values):.2f} s | {max(values):.2f} s | <= 1 s |")


if __name__ == "__main__":
    main()
