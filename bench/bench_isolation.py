"""Isolation, side by side: one probe inside a container of Debian's Docker and of dockyard.

    .venv/bin/python bench/bench_isolation.py [--out FILE]     # root; docker.io (bench/peers.py install)

dockerd runs on its own socket and data root (bench/peers.py's Docker peer) and is stopped
afterwards; dockyard runs through its CLI on a temporary data root. Both run busybox with
`--network none` and default options. The probe prints KEY=VALUE lines: capabilities,
NoNewPrivs, Seccomp, masked and read-only paths, mount flags, mknod + open of a block device,
`unshare -U` / `unshare -m`, dmesg, which namespaces are the host's, the /dev listing. Each
key is compared by what "no looser" means for it; the Markdown table says so per row, and the
script exits 1 if dockyard is looser than Docker anywhere.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402
from common import HostUndo, make_busybox_tarball  # noqa: E402

MASKED = ("/proc/acpi /proc/asound /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list "
          "/proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware /sys/devices/virtual/powercap")
READONLY = "/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger"
MOUNTS = "/ /proc /sys /sys/fs/cgroup /dev /dev/pts /dev/shm /dev/mqueue"
NAMESPACES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")
FLAGS = ("ro", "nosuid", "nodev", "noexec")

PROBE = r"""
for k in CapPrm CapEff CapBnd CapInh CapAmb NoNewPrivs Seccomp Seccomp_filters; do
  echo "$k=$(awk -v k="$k:" '$1 == k {print $2}' /proc/self/status)"; done
for p in MASKED; do
  if [ ! -e $p ]; then v=absent; elif [ -d $p ]; then v="$(ls -A $p 2>/dev/null | wc -l) entries";
  else v="$(head -c 64 $p 2>/dev/null | wc -c) bytes"; fi; echo "masked $p=$v"; done
for p in READONLY MOUNTS; do
  v=$(awk -v p=$p '$5 == p {o=$6} END {print o}' /proc/self/mountinfo); echo "mount $p=${v:-none}"; done
mknod /tmp/blk b 7 0 2>/dev/null && echo "mknod block=allowed" || echo "mknod block=denied"
head -c1 /tmp/blk >/dev/null 2>&1 && echo "open block=allowed" || echo "open block=denied"
unshare -U true 2>/dev/null && echo "unshare -U=allowed" || echo "unshare -U=denied"
unshare -m true 2>/dev/null && echo "unshare -m=allowed" || echo "unshare -m=denied"
dmesg >/dev/null 2>&1 && echo "dmesg=allowed" || echo "dmesg=denied"
for n in NAMESPACES; do
  [ "$(readlink /proc/self/ns/$n)" = "$(echo "$HOSTNS" | tr ' ' '\n' | grep "^$n:")" ] \
    && echo "namespace $n=host" || echo "namespace $n=private"; done
echo "/dev=$(ls /dev | sort | tr '\n' ' ')"
""".replace("MASKED", MASKED).replace("READONLY", READONLY).replace("MOUNTS", MOUNTS) \
   .replace("NAMESPACES", " ".join(NAMESPACES))


def host_namespaces() -> str:
    return " ".join(os.readlink(f"/proc/self/ns/{n}") for n in NAMESPACES)


def parse(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def looser(key: str, ours: str, docker: str) -> bool:
    """Whether dockyard's value grants more than Docker's for this key."""
    if ours == docker:
        return False
    if key.startswith("Cap"):
        return int(ours or "0", 16) & ~int(docker or "0", 16) != 0
    if key in ("NoNewPrivs", "Seccomp", "Seccomp_filters"):
        return int(ours or 0) < int(docker or 0)
    if key.startswith("masked "):
        return not (ours == "absent" or ours.startswith("0 ")) and (docker == "absent" or docker.startswith("0 "))
    if key.startswith("mount "):
        theirs = set(docker.split(",")) & set(FLAGS)
        return docker != "none" and not theirs <= set(ours.split(","))
    if key.startswith("namespace "):
        return ours == "host" and docker == "private"
    if key == "/dev":
        return not set(ours.split()) <= set(docker.split())
    return ours == "allowed" and docker == "denied"


def table(ours: dict, docker: dict) -> tuple[str, int]:
    rows = ["| key | Docker 20.10 (docker.io) | dockyard | dockyard no looser |", "| --- | --- | --- | --- |"]
    bad = 0
    for key in list(docker) + [k for k in ours if k not in docker]:
        worse = looser(key, ours.get(key, ""), docker.get(key, ""))
        bad += worse
        cell = lambda v: (v or "(none)").replace("|", "\\|")  # noqa: E731
        rows.append(f"| {key} | {cell(docker.get(key))} | {cell(ours.get(key))} | "
                    f"{'**NO**' if worse else 'yes'} |")
    return "\n".join(rows), bad


def probe_docker(work: Path) -> str:
    docker = peers.Docker()
    why = docker.missing()
    if why:
        raise SystemExit(f"Docker: {why}; run `bench/peers.py install` first")
    tarball = make_busybox_tarball(work / "busybox.tar", work)
    try:
        (work / "docker").mkdir()
        docker.start(work / "docker", tarball)
        return docker.docker("run", "--rm", "--network", "none", "-e", f"HOSTNS={host_namespaces()}",
                             "busybox", "sh", "-c", PROBE)
    finally:
        docker.stop()


def probe_dockyard(work: Path) -> str:
    cli = [str(Path(sys.executable).with_name("dockyard")), "--data-root", str(work / "dockyard")]
    subprocess.run([*cli, "image", "bootstrap", "busybox"], check=True, capture_output=True)
    return subprocess.run([*cli, "run", "--rm", "--network", "none", "-e", f"HOSTNS={host_namespaces()}",
                           "busybox", "sh", "-c", PROBE], check=True, capture_output=True,
                          text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the Markdown table here")
    args = parser.parse_args()
    undo = HostUndo()
    with tempfile.TemporaryDirectory(prefix="dockyard-isolation-") as tmp:
        work = Path(tmp)
        try:
            docker = parse(probe_docker(work))
        finally:
            undo.undo()
        ours = parse(probe_dockyard(work))
    text, bad = table(ours, docker)
    report = ("### Isolation: one probe in a Docker and a dockyard container (busybox, "
              "--network none, default options)\n\n" + text + "\n")
    print(report)
    if args.out:
        Path(args.out).write_text(report)
    left = undo.leftovers()
    if left:
        print(f"left on the host by dockerd: {left}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
