"""`%dockyard use`: time to the first result inside, and the cost of forwarding each cell.

    .venv/bin/python bench/bench_use.py [--rounds N] [--cells N] [--no-docker]

On a temporary data root holding the bootstrapped `python` image (its root filesystem from the
bootstrap cache, $DOCKYARD_BOOTSTRAP_CACHE or ~/.cache/dockyard-bench/bootstrap):

- first result: a dockyard kernel runs `%dockyard use python:latest --network none` and then
  the cell `1`; the time from sending the first to the result of the second.
- per cell: the trivial cell `1`, sent by a Jupyter client, inside (forwarded) and on the host,
  and sent straight to the kernel inside the same container (forwarding's own cost).

The peer, in the same run: Debian's dockerd (bench/peers.py) with the same root filesystem
imported; `docker run --network none` of python3 -m ipykernel_launcher on unix sockets in a
bind-mounted directory (the transport dockyard uses), timed from `docker run` to the first
cell's result, and its cells sent straight to that kernel. Both sides use no network, so the
figures compare starting a kernel, not making a bridge.
"""
import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Figure, make_busybox_tarball, markdown_table  # noqa: E402

EPOCH = 1717200000          # a fixed date: the cached root filesystem stays valid


def cache_dir() -> str:
    from dockyard.engine.image.debian import CACHE_ENV
    return os.environ.get(CACHE_ENV) or os.path.expanduser("~/.cache/dockyard-bench/bootstrap")


def cell(kc, code: str, timeout: float = 120) -> float:
    """Run `code`; the seconds until its reply (its output has arrived by then)."""
    t = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return time.perf_counter() - t


def wait_ready(kc, timeout: float = 60) -> None:
    """kernel_info until it is answered and IOPub speaks (no heartbeat: a loaded machine may
    take longer than the heartbeat's second to start a kernel)."""
    import queue
    deadline, heard = time.monotonic() + timeout, False
    while time.monotonic() < deadline:
        msg_id, replied, end = kc.kernel_info(), False, time.monotonic() + 1
        while time.monotonic() < end and not (replied and heard):
            try:
                replied |= kc.get_shell_msg(timeout=0.05)["parent_header"].get("msg_id") == msg_id
            except queue.Empty:
                pass
            try:
                kc.get_iopub_msg(timeout=0.05)
                heard = True
            except queue.Empty:
                pass
        if replied and heard:       # as dockyard's own wait (kernel/inside/channels.py)
            return                  # execute_interactive skips others' IOPub messages
    raise TimeoutError("the Docker-started kernel did not answer")


def measure_dockyard(root: Path, rounds: int, cells: int) -> dict:
    from jupyter_client.manager import start_new_kernel
    env = {**os.environ, "DOCKYARD_DATA_ROOT": str(root)}
    km, kc = start_new_kernel(kernel_name="dockyard", env=env, cwd=str(root.parent))
    try:
        for _ in range(cells):
            cell(kc, "1")
        first, inside, host, direct = [], [], [], []
        for _ in range(rounds):         # host, inside and direct side by side: the same load
            host += [cell(kc, "1") for _ in range(cells)]
            t = time.perf_counter()
            cell(kc, "%dockyard use python:latest --network none")
            cell(kc, "1")
            first.append(time.perf_counter() - t)
            inner = inner_client(root)
            for _ in range(cells):
                inside.append(cell(kc, "1"))
                direct.append(cell(inner, "1"))
            inner.stop_channels()
            cell(kc, "%dockyard use host")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {"first": first, "inside": inside, "host": host, "direct": direct}


def inner_client(root: Path):
    """A Jupyter client of the kernel inside the `%dockyard use` container, for cells sent to
    it without the dockyard kernel in between (its session directory holds the connection)."""
    from jupyter_client import BlockingKernelClient

    from dockyard.engine import Engine
    (container,) = [c for c in Engine(root).containers.list()
                    if c.attrs["Config"]["Labels"].get("org.dockyard.kernel") == "use"]
    session = container.attrs["Config"]["Labels"]["org.dockyard.kernel.session"]
    kc = BlockingKernelClient()
    kc.load_connection_file(os.path.join(session, "connection.json"))
    kc.start_channels()
    return kc


def measure_docker(work: Path, rootfs_tar: str, rounds: int, cells: int) -> dict:
    import peers
    from jupyter_client import BlockingKernelClient
    docker = peers.Docker()
    why = docker.missing()
    if why:
        return {"missing": why}
    docker.start(work, make_busybox_tarball(work / "busybox.tar", work))
    try:
        docker.docker("import", "--change", 'CMD ["python3"]', rootfs_tar, "python:latest")
        first, inside = [], []
        for _ in range(rounds):
            session = Path(tempfile.mkdtemp(prefix="dyb-"))
            info = {"transport": "ipc", "ip": str(session / "k"), "shell_port": 1,
                    "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
                    "key": secrets.token_hex(16), "signature_scheme": "hmac-sha256"}
            (session / "connection.json").write_text(json.dumps(info))
            kc = BlockingKernelClient()
            kc.load_connection_info(info)
            t = time.perf_counter()
            name = docker.docker("run", "-d", "--rm", "--network", "none",
                                 "-v", f"{session}:{session}",
                                 "python:latest", "python3", "-m", "ipykernel_launcher", "-f",
                                 str(session / "connection.json")).strip()
            kc.start_channels()
            wait_ready(kc)
            cell(kc, "1")
            first.append(time.perf_counter() - t)
            inside += [cell(kc, "1") for _ in range(cells)]
            kc.stop_channels()
            docker.docker("rm", "-f", name)
            shutil.rmtree(session, ignore_errors=True)
        return {"first": first, "inside": inside}
    finally:
        docker.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="uses (and docker runs) timed")
    parser.add_argument("--cells", type=int, default=50, help="trivial cells timed per round")
    parser.add_argument("--no-docker", action="store_true")
    args = parser.parse_args(argv)
    from dockyard.engine import Engine
    from dockyard.engine.image import debian
    top = Path(tempfile.mkdtemp(prefix="dockyard-bench-use-"))
    try:
        root = top / "root"
        engine = Engine(root)
        engine.images.bootstrap("python", cache_dir=cache_dir(), epoch=EPOCH)
        ours = measure_dockyard(root, args.rounds, args.cells)
        tar = os.path.join(cache_dir(), debian.plan("python", epoch=EPOCH).key + ".tar")
        theirs = ({"missing": "--no-docker"} if args.no_docker else
                  measure_docker(top / "docker", tar, args.rounds, args.cells))
        for c in engine.containers.list(all=True):
            c.remove(force=True)
        engine.networks.teardown()
    finally:
        subprocess.run(["rm", "-rf", str(top)])
    docker_first = (Figure.missing(theirs["missing"], "s") if "missing" in theirs
                    else Figure.timed(theirs["first"], "s"))
    docker_cell = (Figure.missing(theirs["missing"]) if "missing" in theirs
                   else Figure.timed(theirs["inside"]))
    inside, host = Figure.timed(ours["inside"]), Figure.timed(ours["host"])
    direct = Figure.timed(ours["direct"])
    print(markdown_table("`%dockyard use python:latest --network none`, then the cell `1`: "
                         "time to its result "
                         "(target: within 1.5 s, ahead of the Docker-launched kernel)",
                         {"dockyard": Figure.timed(ours["first"], "s"),
                          "docker run + ipykernel": docker_first}))
    print(markdown_table("the trivial cell `1` (target: forwarding adds under 5 ms)",
                         {"dockyard, inside (forwarded)": inside, "dockyard, on the host": host,
                          "the same inner kernel, direct": direct,
                          "docker run's kernel, direct": docker_cell}))
    print(f"Forwarding overhead per cell: {inside.value - host.value:.2f} ms inside minus "
          f"host, {inside.value - direct.value:.2f} ms forwarded minus direct to the same "
          "kernel (medians).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
