"""Shared benchmark helpers: timing, medians, PSS, a busybox rootfs, the build fixture, tables.

    samples = time_calls(lambda: engine.containers.run("busybox", ["true"], remove=True), 20)
    fig = Figure.timed(samples)                      # median in ms, "median of 20 (min-max)"
    print(markdown_table("run --rm true", "ms", {"dockyard": fig, "docker": other}))

Nothing here starts a daemon; `peers.py` does that. Figures are plain values so the tables of
dockyard's side and of the peers are drawn by the same code.
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
