"""Shared benchmark helpers: timing, medians, PSS, a busybox rootfs, the build fixture, tables.

    samples = time_calls(lambda: engine.containers.run("busybox", ["true"], remove=True), 20)
    fig = Figure.timed(samples)                      # median in ms, "median of 20 (min-max)"
    print(markdown_table("run --rm true", "ms", {"dockyard": fig, "docker": other}))

Nothing here starts a daemon; `peers.py` does that. Figures are plain values so the tables of
dockyard's side and of the peers are drawn by the same code. `HostUndo` notes host state before
the peers run and removes what they leave on purpose (docker0, cgroup parents, netavark's
iptables chains, ip_forward).
"""
import os
import shutil
import statistics
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

BUSYBOX = "/bin/busybox"
PREFIX = "dyb-bench"            # cgroup parents, mounts and temp dirs of ours carry this prefix

# The 6-instruction build of issue 3 (FROM, RUN, COPY, ENV, WORKDIR, CMD), built by every tool.
BUILD_DOCKERFILE = """\
FROM busybox
RUN echo hello > /greeting && mkdir -p /app
COPY app.txt /app/app.txt
ENV GREETING=hello
WORKDIR /app
CMD ["cat", "/greeting"]
"""


@dataclass(frozen=True)
class Figure:
    """One measured number (`value` in `unit`), or None with `note` saying why there is none."""

    value: float | None
    unit: str = "ms"
    note: str = ""

    @classmethod
    def timed(cls, seconds: list[float], unit: str = "ms") -> "Figure":
        """The median of `seconds` in `unit` (ms or s), noting the count and the spread."""
        scale = 1000 if unit == "ms" else 1
        values = [s * scale for s in seconds]
        med = statistics.median(values)
        note = f"median of {len(values)} ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
        return cls(med, unit, note)

    @classmethod
    def missing(cls, why: str, unit: str = "ms") -> "Figure":
        return cls(None, unit, why)


def time_calls(fn, rounds: int, warmup: int = 1) -> list[float]:
    """Seconds of each of `rounds` calls of `fn()`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def run_quiet(argv, env=None, cwd=None, timeout=120, input=None) -> str:
    """Run a command, return its stdout; RuntimeError with the tail of stderr if it fails."""
    proc = subprocess.run(argv, env=env, cwd=cwd, timeout=timeout, input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} ... exited {proc.returncode}: "
                           + " | ".join(tail))
    return proc.stdout


def time_command(argv, rounds: int, env=None, warmup: int = 1, cwd=None) -> list[float]:
    """Seconds of each of `rounds` runs of `argv` (which must succeed), after `warmup` runs."""
    return time_calls(lambda: run_quiet(argv, env=env, cwd=cwd), rounds, warmup)


def pss_kb(pid: int) -> int:
    """Proportional set size of one process in kB, from /proc/PID/smaps_rollup."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss line for pid {pid}")


def pids_matching(comm: str, needle: str) -> list[int]:
    """Pids whose name is `comm` and whose command line contains `needle` (our temp root)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != comm[:15]:
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle.encode() in f.read():
                    found.append(int(entry))
        except OSError:         # gone while we looked
            continue
    return found


def pss_figure(pids: list[int]) -> Figure:
    """Mean PSS per process over `pids`, in MB (10^6 bytes, as the issues state targets)."""
    if not pids:
        return Figure.missing("no process found", "MB")
    sizes = [pss_kb(p) * 1024 / 1e6 for p in pids]
    return Figure(statistics.mean(sizes), "MB", f"mean over {len(sizes)} processes")


def make_busybox_rootfs(dest: Path) -> Path:
    """A minimal rootfs at `dest`: the host's static busybox, its applet links, /etc basics."""
    if not Path(BUSYBOX).is_file():
        raise RuntimeError(f"{BUSYBOX} is missing: apt-get install busybox-static")
    for sub in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "usr/bin", "sbin"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, dest / "bin/busybox")
    applets = run_quiet([BUSYBOX, "--list"]).split()
    for name in applets:
        link = dest / "bin" / name
        if name != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (dest / "tmp").chmod(0o1777)
    (dest / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (dest / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return dest


def make_busybox_tarball(dest: Path, workdir: Path) -> Path:
    """A rootfs tarball (for `docker import` / `podman import`) made from the host's busybox."""
    rootfs = make_busybox_rootfs(workdir / "rootfs")
    with tarfile.open(dest, "w") as tar:
        for path in sorted(rootfs.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(rootfs)), recursive=False)
    return dest


def write_build_context(dest: Path) -> Path:
    """The 6-instruction build's context: a Dockerfile and the app.txt it copies."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "Dockerfile").write_text(BUILD_DOCKERFILE)
    (dest / "app.txt").write_text("hello from the build context\n")
    return dest


def _cell(fig: Figure) -> str:
    if fig.value is None:
        return "n/a"
    digits = 2 if fig.value < 10 else 1 if fig.value < 100 else 0
    return f"{fig.value:.{digits}f} {fig.unit}"


def _ratio(fig: Figure, base: Figure | None) -> str:
    if fig.value is None or base is None or not base.value:
        return ""
    return f"{fig.value / base.value:.1f}x"


def markdown_table(title: str, figures: dict[str, Figure], baseline: str | None = None) -> str:
    """A Markdown section: one row per tool, with the ratio tool/baseline (baseline: first row)."""
    base_name = baseline or next(iter(figures), None)
    base = figures.get(base_name)
    lines = [f"### {title}", "", f"| tool | figure | ratio to {base_name} | notes |",
             "| --- | ---: | ---: | --- |"]
    for name, fig in figures.items():
        ratio = "1.0x" if name == base_name and fig.value else _ratio(fig, base)
        lines.append(f"| {name} | {_cell(fig)} | {ratio} | {fig.note} |")
    return "\n".join(lines) + "\n"


class HostUndo:
    """Notes host state before the peers run and removes what they added that is ours to remove."""

    TABLES = ("filter", "nat")
    CHAIN_PREFIXES = ("NETAVARK", "DOCKER", "CNI-")
    LINKS = ("docker0", "podman0", "cni-podman0")

    def __init__(self):
        self.rules = {t: self._rules(t) for t in self.TABLES}
        self.links = {name for name in self.LINKS if os.path.exists(f"/sys/class/net/{name}")}
        self.ip_forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()

    @staticmethod
    def _rules(table: str) -> list[str]:
        if not shutil.which("iptables"):
            return []
        return subprocess.run(["iptables", "-t", table, "-S"], capture_output=True,
                              text=True).stdout.splitlines()

    def undo(self) -> None:
        for table in self.TABLES:
            added = [r for r in self._rules(table) if r not in self.rules[table]]
            for rule in added:   # rules first (they jump to the chains), then the chains
                if rule.startswith("-A ") and any(p in rule for p in self.CHAIN_PREFIXES):
                    _quiet(["iptables", "-t", table, "-D", *_split(rule[3:])])
            chains = [r.split()[1] for r in added if r.startswith("-N ")]
            ours = [c for c in chains if c.startswith(self.CHAIN_PREFIXES)]
            for chain in ours:
                _quiet(["iptables", "-t", table, "-F", chain])
            for chain in ours:
                _quiet(["iptables", "-t", table, "-X", chain])
        for name in self.LINKS:
            if name not in self.links and os.path.exists(f"/sys/class/net/{name}"):
                _quiet(["ip", "link", "del", name])
        Path("/proc/sys/net/ipv4/ip_forward").write_text(self.ip_forward)
        remove_cgroups(PREFIX)

    def leftovers(self) -> list[str]:
        """What the peers added and undo() could not remove (empty when the host is clean)."""
        left = [f"iptables -t {t}: {r}" for t in self.TABLES for r in self._rules(t)
                if r not in self.rules[t] and any(p in r for p in self.CHAIN_PREFIXES)]
        left += [f"link {n}" for n in self.LINKS
                 if n not in self.links and os.path.exists(f"/sys/class/net/{n}")]
        left += [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{PREFIX}*")]
        return left


def _split(rule: str) -> list[str]:
    import shlex
    return shlex.split(rule)


def _quiet(argv) -> None:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def remove_cgroups(prefix: str, root: str = "/sys/fs/cgroup") -> None:
    """rmdir, deepest first, every cgroup under a top-level directory named `prefix`*."""
    for controller in Path(root).iterdir():
        if not controller.is_dir() or controller.is_symlink():
            continue
        for top in controller.glob(f"{prefix}*"):
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
            for d in [*dirs, top]:
                try:
                    d.rmdir()
                except OSError:
                    pass


def unmount_under(path: Path) -> None:
    """Lazily unmount whatever a peer left mounted below `path`, deepest first."""
    with open("/proc/self/mounts") as f:
        targets = [line.split()[1] for line in f]
    prefix = str(path) + "/"
    for target in sorted((t for t in targets if t.startswith(prefix)), key=len, reverse=True):
        _quiet(["umount", "-l", target])
