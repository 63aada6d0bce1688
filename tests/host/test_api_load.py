"""Load: 50 concurrent clients list and inspect while containers start and stop; no request
fails, and the daemon's file descriptors and memory don't grow with the requests served.
bench/bench_api.py has the heavier variant and the numbers."""
import json
import os
import threading
import time

from api_daemon import Daemon

CLIENTS = 50
REQUESTS = 10_000
WARM_UP = 1_000


def daemon_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def daemon_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class UnixHTTP:
    """A keep-alive HTTP/1.1 client on a unix socket (as docker-py's connection pool is)."""

    def __init__(self, path):
        import http.client
        import socket

        class Connection(http.client.HTTPConnection):
            def connect(conn):
                conn.sock = socket.socket(socket.AF_UNIX)
                conn.sock.settimeout(60)
                conn.sock.connect(str(path))
        self.conn = Connection("localhost")

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data,
                          headers={"Content-Type": "application/json"} if data else {})
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self):
        self.conn.close()


def churn(sock, stop: threading.Event, errors: list, counts: dict) -> None:
    """Create, start, stop and remove containers until told to stop."""
    client = UnixHTTP(sock)
    try:
        while not stop.is_set():
            status, body = client.request("POST", "/v1.47/containers/create",
                                          {"Image": "busybox", "Cmd": ["sleep", "100"],
                                           "HostConfig": {"NetworkMode": "none"}})
            if status != 201:
                errors.append(("create", status, body))
                return
            cid = json.loads(body)["Id"]
            for method, path, want in (("POST", f"/v1.47/containers/{cid}/start", 204),
                                       ("POST", f"/v1.47/containers/{cid}/stop?t=0", 204),
                                       ("DELETE", f"/v1.47/containers/{cid}", 204)):
                status, body = client.request(method, path)
                if status != want:
                    errors.append((path, status, body))
                    return
            counts["cycles"] += 1
    finally:
        client.close()


def test_fifty_clients_while_containers_start_and_stop(tmp_path):
    with Daemon(tmp_path) as daemon:
        stable = [daemon.ok("run", "-d", "--network", "none", "busybox", "sleep", "1000").strip()
                  for _ in range(3)]
        pid = daemon.process.pid
        lock = threading.Lock()
        served = {"n": 0}
        errors, counts = [], {"cycles": 0}
        baseline = {}
        warm = threading.Event()

        def take() -> bool:
            with lock:
                if served["n"] >= REQUESTS:
                    return False
                served["n"] += 1
                if served["n"] == WARM_UP:
                    warm.set()
                return True

        def client_loop(index: int):
            client = UnixHTTP(daemon.sock)
            paths = ["/v1.47/containers/json?all=1", f"/v1.47/containers/{stable[index % 3]}/json",
                     "/v1.47/images/json", "/_ping"]
            try:
                n = 0
                while take():
                    path = paths[n % len(paths)]
                    n += 1
                    try:
                        status, body = client.request("GET", path)
                    except OSError as exc:
                        errors.append((path, "exception", repr(exc)))
                        return
                    if status != 200:
                        errors.append((path, status, body[:200]))
            finally:
                client.close()

        stop = threading.Event()
        churner = threading.Thread(target=churn, args=(daemon.sock, stop, errors, counts))
        churner.start()
        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CLIENTS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        warm.wait(120)
        baseline.update(fds=daemon_fds(pid), rss=daemon_rss_kib(pid))
        for t in threads:
            t.join(300)
        elapsed = time.monotonic() - started
        stop.set()
        churner.join(60)
        time.sleep(0.3)                  # the last watcher threads finish
        assert not errors, errors[:5]
        assert served["n"] == REQUESTS and counts["cycles"] > 0
        # Same descriptors as after the warm-up (the idle keep-alive connections are closed);
        # memory within what allocator noise and caches explain.
        assert daemon_fds(pid) <= baseline["fds"], (baseline, daemon_fds(pid))
        grown = daemon_rss_kib(pid) - baseline["rss"]
        assert grown < 8 * 1024, f"RSS grew {grown} KiB over {REQUESTS - WARM_UP} requests"
        print(f"{REQUESTS} requests by {CLIENTS} clients in {elapsed:.1f} s "
              f"({REQUESTS / elapsed:.0f}/s), {counts['cycles']} container cycles, "
              f"RSS {baseline['rss']} -> {daemon_rss_kib(pid)} KiB")
        for cid in stable:
            daemon.ok("rm", "-f", cid)
