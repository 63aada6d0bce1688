"""Engine API bench: `docker run --rm busybox true` through `dockyard daemon` and through
Debian's dockerd, with the same docker CLI; then the API under load (50 keep-alive clients
listing and inspecting while containers start and stop: requests/s, fds and RSS before/after).

    .venv/bin/python bench/bench_api.py [--rounds 20] [--requests 20000] [--no-docker]

Needs root and the docker CLI on PATH; dockerd comes from `bench/peers.py install` (docker.io).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402
from common import (PREFIX, Figure, HostUndo, make_busybox_tarball, markdown_table,  # noqa: E402
                    time_command, unmount_under)

CLI = shutil.which("docker")


class DockyardDaemon:
    """`dockyard daemon` on a private socket over a fresh data root with busybox."""

    def __init__(self, work: Path):
        from dockyard.engine import Engine
        self.root, self.sock = work / "root", work / "api.sock"
        self.engine = Engine(self.root)
        self.engine.images.bootstrap("busybox")
        self.log = open(work / "daemon.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(self.root), "daemon",
             "-H", f"unix://{self.sock}"], stdout=self.log, stderr=subprocess.STDOUT)
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}",
                        DOCKER_CONFIG=str(work / "cfg"), DOCKER_CLI_HINTS="false")
        deadline = time.monotonic() + 30
        while subprocess.run([CLI, "version"], env=self.env, capture_output=True).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockyard daemon did not start; see {work / 'daemon.log'}")
            time.sleep(0.1)

    def close(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        self.log.close()
        for container in self.engine.containers.list(all=True):
            container.remove(force=True)
        self.engine.networks.teardown()


def run_figures(env, rounds: int) -> dict:
    argv = [CLI, "run", "--rm"]
    return {"bridge": Figure.timed(time_command([*argv, "busybox", "true"], rounds, env=env)),
            "none": Figure.timed(time_command([*argv, "--network", "none", "busybox", "true"],
                                              rounds, env=env))}


def measure_docker(work: Path, rounds: int) -> dict:
    """dockerd (peers.Docker's private root and socket), driven by the same CLI."""
    docker = peers.Docker()
    why = docker.missing()
    if why:
        return {k: Figure.missing(f"dockerd {why}") for k in ("bridge", "none")}
    undo = HostUndo()
    try:
        docker.start(work, make_busybox_tarball(work / "busybox.tar", work))
        return run_figures(dict(docker.env, DOCKER_CONFIG=str(work / "cfg")), rounds)
    finally:
        docker.stop()
        undo.undo()
        unmount_under(work)


# -- load --------------------------------------------------------------------------------------
def _connection(path):
    import http.client

    class Connection(http.client.HTTPConnection):
        def connect(conn):
            conn.sock = socket.socket(socket.AF_UNIX)
            conn.sock.connect(str(path))
    return Connection("localhost", timeout=120)


def _get(conn, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data,
                 headers={"Content-Type": "application/json"} if data else {})
    response = conn.getresponse()
    return response.status, response.read()


def _status(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return len(os.listdir(f"/proc/{pid}/fd")), rss


def load(daemon: DockyardDaemon, requests: int, clients: int = 50) -> str:
    stable = [subprocess.run([CLI, "run", "-d", "--network", "none", "busybox", "sleep", "1000"],
                             env=daemon.env, capture_output=True, text=True).stdout.strip()
              for _ in range(3)]
    paths = ["/v1.47/containers/json?all=1", *(f"/v1.47/containers/{c}/json" for c in stable),
             "/v1.47/images/json"]
    counter = iter(range(requests))
    lock, failures, cycles, stop = threading.Lock(), [], [0], threading.Event()
    marks = {}

    def client(i):
        conn = _connection(daemon.sock)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            if n == requests // 10:
                marks["warm"] = _status(daemon.process.pid)
            status, _ = _get(conn, "GET", paths[(i + n) % len(paths)])
            if status != 200:
                failures.append(status)
        conn.close()

    def churn():
        conn = _connection(daemon.sock)
        while not stop.is_set():
            _, body = _get(conn, "POST", "/v1.47/containers/create",
                           {"Image": "busybox", "Cmd": ["sleep", "100"],
                            "HostConfig": {"NetworkMode": "none"}})
            cid = json.loads(body)["Id"]
            _get(conn, "POST", f"/v1.47/containers/{cid}/start")
            _get(conn, "POST", f"/v1.47/containers/{cid}/stop?t=0")
            _get(conn, "DELETE", f"/v1.47/containers/{cid}")
            cycles[0] += 1
        conn.close()
    churner = threading.Thread(target=churn)
    churner.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    stop.set()
    churner.join()
    time.sleep(0.5)
    fds, rss = _status(daemon.process.pid)
    warm_fds, warm_rss = marks.get("warm", (0, 0))
    for cid in stable:
        subprocess.run([CLI, "rm", "-f", cid], env=daemon.env, capture_output=True)
    return (f"{requests} requests by {clients} keep-alive clients in {elapsed:.1f} s "
            f"({requests / elapsed:.0f} requests/s), {len(failures)} failed, while "
            f"{cycles[0]} containers were created, started, stopped and removed.\n"
            f"Daemon after {requests // 10} requests: {warm_fds} fds, RSS {warm_rss} KiB "
            f"(with the {clients} client connections open); at the end: {fds} fds, "
            f"RSS {rss} KiB (connections closed).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--no-docker", action="store_true", help="skip dockerd")
    args = parser.parse_args(argv)
    if CLI is None:
        print("(no docker CLI on PATH: nothing to measure)")
        return 0
    top = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-api-"))
    try:
        (top / "dockyard").mkdir()
        daemon = DockyardDaemon(top / "dockyard")
        try:
            ours = run_figures(daemon.env, args.rounds)
            load_text = load(daemon, args.requests)
        finally:
            daemon.close()
        (top / "docker").mkdir()
        theirs = {k: Figure.missing("--no-docker") for k in ("bridge", "none")} \
            if args.no_docker else measure_docker(top / "docker", args.rounds)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    version = subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout.strip()
    for key, title in (("bridge", "`docker run --rm busybox true`"),
                       ("none", "`docker run --rm --network none busybox true`")):
        print(markdown_table(f"{title} through the Engine API ({version}; median)",
                             {"dockyard daemon": ours[key], "dockerd": theirs[key]},
                             baseline="dockyard daemon"))
    print("Target (issue 15): dockyard daemon at least 3x faster than dockerd "
          "(199 ms measured before).\n")
    print("### Engine API under load\n")
    print(load_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
