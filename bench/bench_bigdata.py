"""Issue 14's benchmark: gigabyte layers through build, load, pull and push, side by side with
Docker classic, BuildKit and skopeo in one run.

    .venv/bin/python bench/bench_bigdata.py [--mib 1024] [--files 20000] [--no-peers]

Two datasets of `--mib` MiB of random bytes: one file, and a tree of `--files` files in 100
directories, each COPYed onto busybox. Every tool starts each step from the same state:
- build cold / cached: `dockyard build` on a data root holding only busybox (its hash memo
  empty), then again; `docker build` with DOCKER_BUILDKIT=0 and =1, `--no-cache`, then again.
  The cached rebuild is also timed in-process (Engine.images.build), without Python's start.
- load: the archive `docker save` wrote (dockyard's own `save` when Docker is missing) into a
  fresh dockyard root, into dockerd after `docker rmi`, and by skopeo into an OCI directory.
- push: to a local docker-registry (Debian's), into a repository of its own per tool, so every
  blob is uploaded: dockyard with --compression gzip and zstd (the first push of a layer made
  here includes compressing it), `docker push`, skopeo from the archive with gzip and zstd
  (zstd pushes go to a second registry: skopeo would mount its gzip blob otherwise).
- pull: what skopeo pushed with gzip, into a fresh dockyard root and into dockerd after
  removing every image holding the layer (both unpacked), and by skopeo into an OCI directory
  (the blobs, not unpacked).
Peak RSS: the dockyard CLI's and skopeo's own (GNU time's %M), dockerd's VmHWM reset before each
step (/proc/PID/clear_refs). Disk: what the data root grew by, over the content's size.

Fair turns. Load and pull, the steps the targets compare with skopeo, run ROUNDS times with the
tools taking turns, and each cell is the median. Nothing a step made is deleted until its dataset
is done: on this VM's ext4 (no journal) a new inode skips every inode freed in the last minute,
so 20,000 files created just after 20,000 were deleted cost seconds more than the same files
created later, and whichever tool came after a deletion paid for it. Memory the kernel has just
freed is also cheaper to fill than memory handed back to the host, which taking turns evens out.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import PREFIX, HostUndo, make_busybox_tarball, unmount_under  # noqa: E402
from registry_server import REGISTRY, Registry  # noqa: E402  (the tests' registry launcher)

DOCKER = "/usr/bin/docker"
TIME = "/usr/bin/time"                # GNU time (Debian's `time`), for a child's own peak RSS
TOOLS = ("dockyard", "docker classic", "docker BuildKit", "skopeo")
STEPS = ("build cold", "build cached", "build cached in-process", "save", "load",
         "push gzip", "push zstd", "pull")
ROUNDS = 3                            # turns of load and pull for dockyard and skopeo: medians


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Cell:
    """One step by one tool: seconds and peak RSS in MB, or why there is none."""

    def __init__(self, seconds=None, rss=None, note=""):
        self.seconds, self.rss, self.note = seconds, rss, note

    def __str__(self):
        if self.seconds is None:
            return f"n/a ({self.note})" if self.note else ""
        text = f"{self.seconds:.2f} s" if self.seconds < 10 else f"{self.seconds:.1f} s"
        return text + (f", {self.rss:.0f} MB" if self.rss is not None else "")


def timed(argv, env=None, rss_of=None) -> Cell:
    """Run `argv` to completion: wall time and the peak RSS of it (or of the pid `rss_of`).

    A child's ru_maxrss starts from its parent's RSS at fork, and this script holds a
    gigabyte's worth of bookkeeping, so the command runs under GNU time, a small parent."""
    if rss_of:
        _reset_peak(rss_of)
    report = tempfile.NamedTemporaryFile(prefix="rss-", suffix=".txt", delete=False)
    report.close()
    wrapped = [TIME, "-f", "%M", "-o", report.name, *argv] if os.path.exists(TIME) else argv
    start = time.perf_counter()
    proc = subprocess.Popen(wrapped, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    measured = Path(report.name).read_text().strip().splitlines()
    os.unlink(report.name)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} failed: {err[-300:]}")
    if rss_of:
        rss = _peak(rss_of)
    elif measured and measured[-1].isdigit():
        rss = int(measured[-1]) / 1024
    else:
        rss = usage.ru_maxrss / 1024
    return Cell(seconds, rss)


def _reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")                    # resets VmHWM, the peak resident set


def _peak(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sxb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else 0


def make_dataset(dest: Path, kind: str, mib: int, files: int) -> tuple[Path, int]:
    """A build context COPYing `mib` MiB of random bytes as one file or a tree; its bytes."""
    dest.mkdir(parents=True)
    total = mib << 20
    if kind == "file":
        with open(dest / "big.bin", "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        (dest / "Dockerfile").write_text("FROM busybox\nCOPY big.bin /data/big.bin\n")
        return dest, total
    size = total // files
    for i in range(files):
        folder = dest / "data" / f"d{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(os.urandom(size))
    (dest / "Dockerfile").write_text("FROM busybox\nCOPY data /data\n")
    return dest, size * files


class Bench:
    """The steps of one dataset for every tool; cells[step][tool]."""

    def __init__(self, top: Path, registry: Registry, zstd: Registry, docker,
                 label: str):
        self.top, self.registry, self.docker, self.label = top, registry, docker, label
        # zstd pushes go to a registry of their own: skopeo remembers (in its blob-info
        # cache) where it pushed a layer as gzip and would mount that instead of compressing.
        self.zstd = zstd
        self.cells: dict[str, dict[str, Cell]] = {step: {} for step in STEPS}
        self.disk: dict[str, str] = {}
        self.cli = [sys.executable, "-m", "dockyard.engine.cli"]

    def run(self, step: str, tool: str, fn) -> None:
        log(f"{self.label}: {step} by {tool} ...")
        try:
            self.cells[step][tool] = fn()
        except Exception as exc:        # noqa: BLE001 - a cell saying why, then go on
            self.cells[step][tool] = Cell(note=f"failed: {exc}"[:200])

    def turns(self, step: str, tools: dict) -> None:
        """`tools[name](round)` for ROUNDS rounds, the tools taking turns; the median cell."""
        cells: dict[str, list[Cell]] = {name: [] for name in tools}
        for i in range(ROUNDS):
            for name, fn in tools.items():
                self.run(step, name, lambda: fn(i))
                cells[name].append(self.cells[step][name])
        for name, found in cells.items():
            timed_ = sorted((c for c in found if c.seconds is not None), key=lambda c: c.seconds)
            if len(timed_) == len(found):
                median = timed_[len(timed_) // 2]
                self.cells[step][name] = Cell(median.seconds, median.rss,
                                              f"median of {ROUNDS}")

    def dockyard(self, root: Path, *args) -> list:
        return [*self.cli, "--data-root", str(root), *args]

    def fresh_root(self, name: str) -> Path:
        from dockyard.engine import Engine
        root = self.top / name
        Engine(root).images.bootstrap("busybox")
        return root

    def all_steps(self, context: Path, content: int) -> None:
        ref = lambda repo: f"{self.registry.address}/{repo}:1"     # noqa: E731
        zref = lambda repo: f"{self.zstd.address}/{repo}:1"        # noqa: E731
        built = self.fresh_root("built")
        base = du(built)
        self.run("build cold", "dockyard",
                 lambda: timed(self.dockyard(built, "build", "-q", "-t", "big:1", str(context))))
        self.disk["dockyard build"] = _ratio(du(built) - base, content)
        self.run("build cached", "dockyard",
                 lambda: timed(self.dockyard(built, "build", "-q", "-t", "big:1", str(context))))
        self.run("build cached in-process", "dockyard", lambda: _in_process(built, context))
        if self.docker:
            self.docker_builds(context)
        archive = self.top / "archive.tar"
        self.run("save", "dockyard",
                 lambda: timed(self.dockyard(built, "save", "-o", str(archive), "big:1")))
        if self.docker:
            archive = self.top / "docker-archive.tar"
            self.run("save", "docker classic", lambda: timed(
                [DOCKER, "save", "-o", str(archive), "big-classic"], self.docker.env,
                self.docker.daemon.pid))
        loads = [self.fresh_root(f"loaded{i}") for i in range(ROUNDS)]
        base = du(loads[0])
        self.turns("load", {
            "dockyard": lambda i: timed(self.dockyard(loads[i], "load", "-q", "-i",
                                                      str(archive))),
            "skopeo": lambda i: self.skopeo(f"docker-archive:{archive}",
                                            f"oci:{self.top / f'oci-load{i}'}:big")})
        self.disk["dockyard load"] = _ratio(du(loads[0]) - base, content)
        self.disk["skopeo load (OCI dir)"] = _ratio(du(self.top / "oci-load0"), content)
        if self.docker:
            self.docker.docker("rmi", "big-classic", "big-buildkit")
            self.run("load", "docker classic", lambda: timed(
                [DOCKER, "load", "-q", "-i", str(archive)], self.docker.env,
                self.docker.daemon.pid))
        self.run("push gzip", "skopeo", lambda: self.skopeo(
            f"docker-archive:{archive}", f"docker://{ref('skopeo-gzip')}"))
        self.run("push zstd", "skopeo", lambda: self.skopeo(
            "--dest-compress-format", "zstd", f"docker-archive:{archive}",
            f"docker://{zref('skopeo-zstd')}"))
        for kind in ("gzip", "zstd"):
            target = (ref if kind == "gzip" else zref)(f"dockyard-{kind}")
            subprocess.run(self.dockyard(built, "tag", "big:1", target), check=True)
            self.run(f"push {kind}", "dockyard", lambda: timed(
                self.dockyard(built, "push", "-q", "--compression", kind, target)))
        if self.docker:
            self.docker.docker("tag", "big-classic", ref("docker"))
            self.run("push gzip", "docker classic", lambda: timed(
                [DOCKER, "push", ref("docker")], self.docker.env, self.docker.daemon.pid))
        pulls = [self.fresh_root(f"pulled{i}") for i in range(ROUNDS)]
        base = du(pulls[0])
        source = ref("skopeo-gzip")
        self.turns("pull", {
            "dockyard": lambda i: timed(self.dockyard(pulls[i], "pull", "-q", source)),
            "skopeo": lambda i: self.skopeo(f"docker://{source}",
                                            f"oci:{self.top / f'oci-pull{i}'}:big")})
        self.disk["dockyard pull"] = _ratio(du(pulls[0]) - base, content)
        if self.docker:
            self.docker.docker("rmi", "-f", "big-classic", ref("docker"))
            self.run("pull", "docker classic", lambda: timed(
                [DOCKER, "pull", "-q", source], self.docker.env, self.docker.daemon.pid))
            self.docker.docker("rmi", "-f", source)

    def docker_builds(self, context: Path) -> None:
        for label, flag, tag in (("docker classic", "0", "big-classic"),
                                 ("docker BuildKit", "1", "big-buildkit")):
            env = dict(self.docker.env, DOCKER_BUILDKIT=flag)
            argv = [DOCKER, "build", "-q", "-t", tag, str(context)]
            self.run("build cold", label, lambda: timed(
                argv[:2] + ["--no-cache"] + argv[2:], env, self.docker.daemon.pid))
            self.run("build cached", label, lambda: timed(argv, env, self.docker.daemon.pid))

    def skopeo(self, *args) -> Cell:
        return timed(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                      *args])

    def table(self) -> str:
        lines = [f"### {self.label}", "", "| step | " + " | ".join(TOOLS) + " |",
                 "| --- |" + " ---: |" * len(TOOLS)]
        for step in STEPS:
            row = self.cells[step]
            if row:
                lines.append(f"| {step} | " + " | ".join(str(row.get(t, "")) for t in TOOLS)
                             + " |")
        lines += ["", "Disk use over content: " + ", ".join(f"{k} {v}" for k, v in
                                                          self.disk.items()), ""]
        return "\n".join(lines)


def _in_process(root: Path, context: Path) -> Cell:
    from dockyard.engine import Engine
    engine = Engine(root)
    dockerfile = (context / "Dockerfile").read_text()
    engine.images.build(dockerfile, context=context, tag="big:1")      # warm the imports
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        engine.images.build(dockerfile, context=context, tag="big:1")
        samples.append(time.perf_counter() - start)
    return Cell(sorted(samples)[2], note="median of 5")


def _ratio(used: int, content: int) -> str:
    return f"{used / content:.2f}x" if content else "?"


def start_docker(top: Path):
    """peers.Docker in its own root (with busybox imported), or None when it can't run."""
    import peers
    if not (os.path.exists(DOCKER) and os.path.exists("/usr/sbin/dockerd")):
        log("docker: not installed (bench/peers.py install)")
        return None
    docker = peers.Docker()
    work = top / "docker"
    work.mkdir()
    try:
        docker.start(work, make_busybox_tarball(top / "busybox.tar", top))
    except Exception as exc:            # noqa: BLE001 - the table says why
        log(f"docker: failed to start: {exc}")
        docker.stop()
        return None
    return docker


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--no-peers", action="store_true", help="dockyard and skopeo only")
    parser.add_argument("--only", choices=("file", "tree"))
    args = parser.parse_args(argv)
    if not os.path.exists(REGISTRY):
        print("needs docker-registry (apt-get install docker-registry)")
        return 1
    top = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-bigdata-"))
    undo = HostUndo()
    registry = zstd = docker = None
    try:
        registry = Registry(top / "registry")
        zstd = Registry(top / "registry-zstd")
        docker = None if args.no_peers else start_docker(top)
        for kind in ("file", "tree") if not args.only else (args.only,):
            label = (f"{args.mib} MiB in one file" if kind == "file"
                     else f"{args.mib} MiB in {args.files:,} files")
            work = top / kind
            work.mkdir()
            context, content = make_dataset(work / "context", kind, args.mib, args.files)
            bench = Bench(work, registry, zstd, docker, label)
            bench.all_steps(context, content)
            print(bench.table(), flush=True)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        if docker is not None:
            docker.stop()
        for reg in (registry, zstd):
            if reg is not None:
                reg.stop()
        undo.undo()
        unmount_under(top)
        shutil.rmtree(top, ignore_errors=True)
    print("Targets (issue 14): cold COPY build at least as fast as BuildKit, cached rebuild "
          "under 100 ms, load and pull no slower than skopeo, peak RSS under 100 MB, disk use "
          "at most 2x the content.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
