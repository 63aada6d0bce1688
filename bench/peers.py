"""Peers measured in the same run as dockyard: Docker, Podman, Buildah, runc, crun and unshare.

    .venv/bin/python bench/peers.py install      # apt-get the Debian packages that are missing
    .venv/bin/python bench/peers.py              # measure the peers alone, print the tables

Each peer runs in a temporary root of its own: dockerd gets its own --data-root, --exec-root,
pidfile and socket; Podman and Buildah share one storage root and a containers.conf we point
CONTAINERS_CONF at. No registry is reached: a busybox rootfs tarball made from the host's
/bin/busybox is imported as `busybox:latest`. Every peer stops only what it started, and
`HostUndo` removes the host state they leave on purpose (docker0, cgroup parents, iptables
chains netavark installs, ip_forward).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (PREFIX, Figure, HostUndo, make_busybox_rootfs,  # noqa: E402
                    make_busybox_tarball, pids_matching, pss_figure, run_quiet, time_calls,
                    time_command, unmount_under, write_build_context)

PACKAGES = ("docker.io", "podman", "buildah", "crun", "runc", "busybox-static", "skopeo",
            "docker-registry", "time")
DOCKER = "/usr/bin/docker"      # Debian's client, matching its dockerd (PATH may hold a newer one)
# Podman asks for RLIMIT_NOFILE 1048576 and the host's NPROC; without CAP_SYS_RESOURCE the
# runtime may only lower limits, so ask for small ones explicitly.
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


def install(packages=PACKAGES) -> list[str]:
    """apt-get install the Debian packages whose binaries are missing; returns what it installed."""
    binaries = {"docker.io": "/usr/sbin/dockerd", "podman": "/usr/bin/podman",
                "buildah": "/usr/bin/buildah", "crun": "/usr/bin/crun", "runc": "/usr/sbin/runc",
                "busybox-static": "/bin/busybox", "skopeo": "/usr/bin/skopeo",
                "docker-registry": "/usr/bin/docker-registry", "time": "/usr/bin/time"}
    missing = [p for p in packages if not os.path.exists(binaries[p])]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env)
    return missing


class Peer:
    """A tool measured beside dockyard; subclasses implement the benchmarks they can run."""

    name = "peer"
    binaries: tuple[str, ...] = ()

    def missing(self) -> str | None:
        """Why this peer can't run here, or None."""
        absent = [b for b in self.binaries if not shutil.which(b) and not os.path.exists(b)]
        return f"not installed ({', '.join(absent)})" if absent else None

    def start(self, work: Path, tarball: Path) -> None:
        """Start daemons and import busybox; `work` is an empty directory that is ours."""

    def stop(self) -> None:
        """Stop what start() started and remove containers; the caller deletes `work`."""


class Docker(Peer):
    """dockerd in a temporary root; builds with DOCKER_BUILDKIT=0 (classic) and =1."""

    name = "docker"
    binaries = ("/usr/sbin/dockerd", DOCKER)
    # A test-net bridge address keeps docker0 clear of 172.17/16, which dockyard's bridge may
    # use; a benchmark of user networks alone passes ("--bridge", "none") instead.
    bridge_args = ("--bip", "198.19.251.1/24")

    def start(self, work, tarball):
        self.work, self.sock = work, work / "docker.sock"
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}", DOCKER_CLI_HINTS="false")
        # No iptables and no forwarding: the host's firewall belongs to others.
        argv = ["/usr/sbin/dockerd", "--data-root", str(work / "data"), "--exec-root",
                str(work / "exec"), "--pidfile", str(work / "dockerd.pid"), "-H",
                f"unix://{self.sock}", "--iptables=false", "--ip6tables=false",
                "--ip-forward=false", "--ip-masq=false", *self.bridge_args,
                "--cgroup-parent", f"/{PREFIX}-docker", "--storage-driver", "overlay2"]
        self.log = open(work / "dockerd.log", "wb")
        self.daemon = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        deadline = time.monotonic() + 60
        while subprocess.run([DOCKER, "version"], env=self.env, capture_output=True).returncode:
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start; see {work / 'dockerd.log'}")
            time.sleep(0.2)
        self.docker("import", str(tarball), "busybox:latest")

    def docker(self, *args, env=None) -> str:
        return run_quiet([DOCKER, *args], env=env or self.env)

    def stop(self):
        daemon = getattr(self, "daemon", None)
        if daemon is None:
            return
        if daemon.poll() is None:
            # Best effort: a daemon that stopped answering must still be stopped below.
            ids = subprocess.run([DOCKER, "ps", "-aq"], env=self.env, capture_output=True,
                                 text=True, timeout=60).stdout.split()
            if ids:
                subprocess.run([DOCKER, "rm", "-f", *ids], env=self.env, capture_output=True,
                               timeout=120)
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        self.log.close()
        unmount_under(self.work)

    def run_none(self, rounds):
        argv = [DOCKER, "run", "--rm", "--network", "none", "busybox", "true"]
        return Figure.timed(time_command(argv, rounds, env=self.env))

    def run_bridge(self, rounds):
        argv = [DOCKER, "run", "--rm", "busybox", "true"]
        return Figure.timed(time_command(argv, rounds, env=self.env))

    def sleepers(self, count):
        t = time.perf_counter()
        for _ in range(count):
            self.docker("run", "-d", "--network", "none", "busybox", "sleep", "1000")
        total = time.perf_counter() - t
        pss = pss_figure(pids_matching("containerd-shim-runc-v2", str(self.work)))
        self.docker("rm", "-f", *self.docker("ps", "-aq").split())
        return Figure(total, "s"), pss

    def build(self, context, cold, rounds):
        figures = {}
        for label, buildkit in (("docker classic", "0"), ("docker BuildKit", "1")):
            env = dict(self.env, DOCKER_BUILDKIT=buildkit)
            argv = [DOCKER, "build", "-q", "-t", f"bench-{buildkit}",
                    *(["--no-cache"] if cold else []), str(context)]
            figures[label] = Figure.timed(time_command(argv, rounds, env=env))
        return figures


class Podman(Peer):
    """podman with cgroupfs and runc, storage and state in a temporary root."""

    name = "podman"
    binaries = ("podman", "runc")

    def start(self, work, tarball):
        self.work = work
        conf = work / "containers.conf"
        conf.write_text(containers_conf(work))
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.base = ["--root", str(work / "root"), "--runroot", str(work / "run"),
                     "--storage-driver", "overlay"]
        self.podman("import", "-q", str(tarball), "busybox:latest")

    def podman(self, *args) -> str:
        return run_quiet(["podman", *self.base, *args], env=self.env)

    def _run(self, *args):
        return ["podman", *self.base, "run", *ULIMITS, "--cgroup-parent", f"/{PREFIX}-podman", *args]

    def stop(self):
        if getattr(self, "base", None):
            subprocess.run(["podman", *self.base, "rm", "-af", "-t", "0"], env=self.env,
                           capture_output=True)
            # Unmounts the storage driver's own mounts (overlay's home bind) before we delete.
            subprocess.run(["podman", *self.base, "system", "reset", "-f"], env=self.env,
                           capture_output=True)
            unmount_under(self.work)

    def run_none(self, rounds):
        argv = self._run("--rm", "--network", "none", "busybox", "true")
        return Figure.timed(time_command(argv, rounds, env=self.env))

    def run_bridge(self, rounds):
        argv = self._run("--rm", "busybox", "true")
        return Figure.timed(time_command(argv, rounds, env=self.env))

    def sleepers(self, count):
        argv = self._run("-d", "--network", "none", "busybox", "sleep", "1000")
        t = time.perf_counter()
        for _ in range(count):
            run_quiet(argv, env=self.env)
        total = time.perf_counter() - t
        pss = pss_figure(pids_matching("conmon", str(self.work)))
        self.podman("rm", "-af", "-t", "0")
        return Figure(total, "s"), pss


class Buildah(Podman):
    """buildah bud --layers (its step cache), on Podman's kind of temporary root."""

    name = "buildah"
    binaries = ("buildah", "podman", "runc")    # podman imports the busybox tarball

    run_none = run_bridge = sleepers = None

    def build(self, context, cold, rounds):
        argv = ["buildah", *self.base, "bud", "-q", "--runtime", "runc", "--layers",
                "--cgroup-parent", f"/{PREFIX}-buildah", "-t", "bench",
                *(["--no-cache"] if cold else []), str(context)]
        return {"buildah": Figure.timed(time_command(argv, rounds, env=self.env))}


def containers_conf(work: Path) -> str:
    """Podman's and Buildah's settings: cgroupfs (no systemd here), runc, all state under `work`."""
    return f"""\
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{work}/events.log"
runtime = "runc"
tmp_dir = "{work}/tmp"
volume_path = "{work}/volumes"

[network]
network_config_dir = "{work}/networks"
"""


class OCIRuntime(Peer):
    """`runc run` / `crun run` of a bundle: the low-level runtime alone, no image store."""

    def __init__(self, name):
        self.name, self.binaries = name, (name,)

    def start(self, work, tarball):
        self.work, self.state = work, work / "state"
        self.bundle = work / "bundle"
        make_busybox_rootfs(self.bundle / "rootfs")
        run_quiet([self.name, "spec"], cwd=self.bundle)
        self.count = 0

    def run_none(self, rounds):
        import json
        spec = json.loads((self.bundle / "config.json").read_text())
        spec["process"].update(terminal=False, args=["true"])
        spec["linux"]["cgroupsPath"] = f"/{PREFIX}-{self.name}"
        (self.bundle / "config.json").write_text(json.dumps(spec))

        def once():
            self.count += 1
            run_quiet([self.name, "--root", str(self.state), "run", "-b", str(self.bundle),
                       f"{PREFIX}-{self.count}"])
        return Figure.timed(time_calls(once, rounds))


class Crun(OCIRuntime):
    """crun refuses hybrid cgroups while the v2 hierarchy owns a controller (hugetlb here):
    mount hugetlb as a v1 hierarchy for the duration, if the kernel lets us, and undo it."""

    def __init__(self):
        super().__init__("crun")
        self.hugetlb = None

    def start(self, work, tarball):
        super().start(work, tarball)
        unified = Path("/sys/fs/cgroup/unified/cgroup.controllers")
        if unified.exists() and unified.read_text().split():
            self.hugetlb = work / "hugetlb"
            self.hugetlb.mkdir()
            proc = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", f"{PREFIX}-hugetlb",
                                   str(self.hugetlb)], capture_output=True, text=True)
            if proc.returncode:
                self.hugetlb = None
                self.refused = ("refused: cgroups in hybrid mode while cgroup2 owns "
                                f"{unified.read_text().strip()}; mount hugetlb v1 failed: "
                                f"{proc.stderr.strip()}")

    def run_none(self, rounds):
        if getattr(self, "refused", None):
            return Figure.missing(self.refused)
        return super().run_none(rounds)

    def stop(self):
        if self.hugetlb:
            # A v1 hierarchy with cgroups left in it outlives its unmount, and keeps hugetlb
            # away from the v2 hierarchy: empty it first.
            for d in sorted(self.hugetlb.rglob("*"), key=lambda p: -len(p.parts)):
                if d.is_dir():
                    d.rmdir()
            subprocess.run(["umount", str(self.hugetlb)], check=True)
            self.hugetlb = None


class Unshare(Peer):
    """`unshare` of five namespaces (mount, UTS, IPC, net, PID) running `true`: the floor."""

    name = "unshare"
    binaries = ("unshare",)

    def run_none(self, rounds):
        argv = ["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "true"]
        return Figure.timed(time_command(argv, rounds))


def all_peers() -> list[Peer]:
    return [Docker(), Podman(), Buildah(), OCIRuntime("runc"), Crun(), Unshare()]


BENCHMARKS = ("run_none", "run_bridge", "sleepers", "build_cold", "build_cached")


def measure(peer: Peer, work: Path, tarball: Path, context: Path, rounds: dict) -> dict:
    """{benchmark: {label: Figure}} for one peer; a failure becomes a Figure saying why."""
    results: dict[str, dict[str, Figure]] = {}
    why = peer.missing()
    if why:
        return _missing_rows(peer, why)
    try:
        peer.start(work, tarball)
    except Exception as exc:        # noqa: BLE001 - a peer that fails to start is a table row
        peer.stop()
        return _missing_rows(peer, f"failed to start: {exc}"[:300])
    try:
        for bench in BENCHMARKS:
            if not _supports(peer, bench):
                continue
            try:
                results[bench] = _one(peer, bench, context, rounds)
            except Exception as exc:    # noqa: BLE001 - report it in the table, go on
                results[bench] = {peer.name: Figure.missing(f"failed: {exc}"[:300])}
    finally:
        peer.stop()
    return results


def _missing_rows(peer: Peer, why: str) -> dict:
    """A row saying `why` in every table the peer would have appeared in."""
    rows = {b: {peer.name: Figure.missing(why)} for b in BENCHMARKS if _supports(peer, b)}
    if "sleepers" in rows:
        rows["sleepers"][f"{peer.name} PSS"] = Figure.missing(why, "MB")
    return rows


def _supports(peer: Peer, bench: str) -> bool:
    method = "build" if bench.startswith("build") else bench
    return callable(getattr(peer, method, None))


def _one(peer, bench, context, rounds) -> dict:
    if bench == "sleepers":
        total, pss = peer.sleepers(rounds["sleepers"])
        return {peer.name: total, f"{peer.name} PSS": pss}
    if bench.startswith("build"):
        return peer.build(context, bench == "build_cold", rounds[bench])
    return {peer.name: getattr(peer, bench)(rounds[bench])}


def measure_all(rounds: dict, peers=None, log=print) -> dict:
    """{benchmark: {label: Figure}} over every peer, each in its own temporary root."""
    undo = HostUndo()
    top = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-peers-"))
    results: dict[str, dict[str, Figure]] = {}
    try:
        tarball = make_busybox_tarball(top / "busybox.tar", top)
        context = write_build_context(top / "context")
        for peer in peers or all_peers():
            log(f"peers: {peer.name} ...")
            t = time.perf_counter()
            work = top / peer.name
            work.mkdir()
            for bench, figures in measure(peer, work, tarball, context, rounds).items():
                results.setdefault(bench, {}).update(figures)
            log(f"peers: {peer.name} done in {time.perf_counter() - t:.1f} s")
    finally:
        undo.undo()
        unmount_under(top)
        shutil.rmtree(top, ignore_errors=True)
        for item in undo.leftovers():
            log(f"peers: WARNING left on the host: {item}")
    return results


DEFAULT_ROUNDS = {"run_none": 20, "run_bridge": 20, "sleepers": 50, "build_cold": 5,
                  "build_cached": 10}


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=("measure", "install"), default="measure")
    parser.add_argument("--only", action="append", help="peer names to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 5 sleepers")
    args = parser.parse_args(argv)
    if args.command == "install":
        print("installed:", " ".join(install()) or "nothing (all present)")
        return 0
    rounds = {k: (5 if k == "sleepers" else 3) for k in DEFAULT_ROUNDS} if args.quick \
        else DEFAULT_ROUNDS
    peers = [p for p in all_peers() if not args.only or p.name in args.only]
    from common import markdown_table
    for bench, figures in measure_all(rounds, peers).items():
        print(markdown_table(bench, figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
