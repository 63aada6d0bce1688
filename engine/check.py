"""`dockyard system check [--repair]`: is this data root consistent, and is nothing left behind?

    report = check(engine, repair=True)
    report.findings        # [Finding(area, text, repaired)]
    report.ok              # nothing left unrepaired

It looks at the image store (image/verify.py: blobs against digests, images, snapshots), at
what interrupted operations left (abandoned intents, temp files and directories, containers
half created or half removed, build containers, dead monitors), and at what the kernel holds
for this root (names, endpoints, netns files, veths, DNAT rules, cgroups, processes) without an
owner. `repair` fixes what is safe: it finishes or undoes interrupted operations, removes
leftovers, releases what nobody owns; it never touches a live operation of another process.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
from dataclasses import dataclass, field

from . import intents, recovery
from .endpoints import holding
from .errors import DockyardError
from .runtime import cgroups


@dataclass
class Finding:
    area: str
    text: str
    repaired: bool = False


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(f.repaired for f in self.findings)


def check(engine, repair: bool = False) -> Report:
    """Check the data root (and repair what is safe when `repair`)."""
    report = Report()

    def add(area, items):
        report.findings += [Finding(area, text, done) for text, done in items]
    add("operations", _interrupted(engine, repair))
    add("leftovers", _leftovers(engine, repair))
    add("containers", _containers(engine, repair, report.checked))
    add("names", _names(engine, repair))
    if (engine.root / "networks").is_dir():
        add("network", engine.networks.audit(repair))
    add("processes", _processes(engine, repair))
    from .image.verify import verify
    found, counts = verify(engine.store, repair)
    add("images", found)
    report.checked.update(counts)
    return report


def _interrupted(engine, repair) -> list[tuple[str, bool]]:
    """Intents whose process is gone: an operation killed half-way."""
    found, writers = [], []
    for intent in intents.abandoned(engine.root):
        what = f"{intent.op or 'an operation'} of {intent.key[:18]} was interrupted"
        if intent.key.startswith(recovery.WRITER_PREFIX):
            writers.append(intent)
            continue
        if repair:
            done = recovery.settle_intent(engine, intent)
            what += ": " + ("; ".join(done) if done else "nothing was left")
        found.append((what, repair))
    if writers:
        fixed = repair and not recovery.writers_alive(engine)
        if fixed:
            recovery.settle_writers(engine, writers)
        found.append((f"{len(writers)} image store write(s) (pull, load, build, commit) were "
                      "interrupted" + (": their temp files removed" if fixed else ""), fixed))
    return found


def _leftovers(engine, repair) -> list[tuple[str, bool]]:
    """Temp files and directories whose writer is gone."""
    found, seen = [], set()
    if not recovery.writers_alive(engine):
        seen = set(recovery.store_leftovers(engine.root))
        for path in sorted(seen):
            found.append((f"{path.relative_to(engine.root)} is a temp file of an interrupted "
                          "write", repair))
        if repair:
            recovery.sweep_store(engine)
    for folder in recovery.PID_TEMP_FOLDERS:
        for path in set(recovery.dead_pid_temps(engine.root / folder)) - seen:
            if repair:
                path.unlink(missing_ok=True)
            found.append((f"{path.relative_to(engine.root)} is a temp file of a process that is "
                          "gone", repair))
    volumes = engine.root / "volumes"
    for path in list(volumes.glob(".new-*")) + list(volumes.glob(".trash-*")):
        if repair:
            shutil.rmtree(path, ignore_errors=True)
        found.append((f"volumes/{path.name} is left from an interrupted volume create or "
                      "remove", repair))
    return found


def _containers(engine, repair, checked) -> list[tuple[str, bool]]:
    """Container directories: half made, half removed, build leftovers, dead monitors,
    stopped containers still holding a network, cgroups of containers that don't run."""
    found = []
    folder = engine.root / "containers"
    live = intents.live_keys(engine.root)
    entries = sorted(os.listdir(folder)) if folder.is_dir() else []
    checked["containers"] = sum(1 for n in entries if len(n) == 64)
    for name in entries:
        key, _, removing = name.partition(".removing-")
        if key in live:
            continue
        bundle = folder / name
        if removing:
            if not os.path.exists(f"/proc/{removing}"):
                found.append(_fixed(f"containers/{name} is a removal that was interrupted",
                                    repair, lambda: recovery.settle(engine, key)))
        elif key.startswith(recovery.BUILD_PREFIX):
            found.append(_fixed(f"containers/{name} is a build step's container whose build "
                                "is gone", repair,
                                lambda: recovery.remove_build_container(engine, key)))
        elif not (bundle / "container.json").exists():
            found.append(_fixed(f"container {key[:12]} was never finished (its create was "
                                "interrupted)", repair, lambda: recovery.settle(engine, key)))
        else:
            found += _container_state(engine, key, repair)
    return found


def _container_state(engine, cid, repair) -> list[tuple[str, bool]]:
    bundle = str(engine.root / "containers" / cid)
    try:
        status = engine.runtime.state(bundle).status
    except (OSError, DockyardError):      # removed meanwhile
        return []
    if status == "dead":
        return [_fixed(f"container {cid[:12]}: its monitor died while it ran", repair,
                       lambda: recovery.settle(engine, cid))]
    if status in ("running", "restarting"):
        return []
    if not holding(engine, cid) and os.path.lexists(engine.root / "netns" / cid):
        return [_fixed(f"stopped container {cid[:12]} still holds its network", repair,
                       lambda: recovery.settle(engine, cid))]
    dirs = glob.glob(f"{cgroups.ROOT}/dockyard/{cid}") + glob.glob(
        f"{cgroups.ROOT}/*/dockyard/{cid}")
    if dirs:
        return [_fixed(f"stopped container {cid[:12]} left cgroup {dirs[0]}", repair,
                       lambda: recovery.kill_leftovers(cid))]
    return []


def _names(engine, repair) -> list[tuple[str, bool]]:
    """Names whose container doesn't exist."""
    found = []
    folder = engine.root / "names"
    live = intents.live_keys(engine.root)
    for name in sorted(os.listdir(folder)) if folder.is_dir() else ():
        try:
            cid = os.readlink(folder / name)
        except OSError:
            continue
        if not recovery.exists(engine, cid, live):
            found.append(_fixed(f"name {name} is held by {cid[:12]}, which doesn't exist",
                                repair, lambda: recovery.settle(engine, cid)))
        elif cid not in live and _record_name(engine, cid) not in (None, name):
            found.append(_fixed(f"name {name} of {cid[:12]} is left from an interrupted "
                                "rename", repair, lambda: os.unlink(folder / name)))
    return found


def _record_name(engine, cid) -> str | None:
    try:
        return engine.containers.get(cid).name
    except DockyardError:
        return None


def _processes(engine, repair) -> list[tuple[str, bool]]:
    """Monitors (and what they run) of container directories that are gone; embedded DNS
    servers of containers that don't run, and running containers that lost theirs."""
    found, servers = [], {}
    folder = str(engine.root / "containers") + "/"
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not (len(argv) >= 3 and b"dockyard-shim" in argv[0]
                and argv[2].decode(errors="replace").startswith(folder)):
            continue
        if argv[1] == b"run" and not os.path.isdir(argv[2]):
            found.append(_fixed(f"monitor {pid} runs a container whose directory is gone",
                                repair, lambda p=int(pid): _kill_tree(p)))
        elif argv[1] == b"dns":
            servers[argv[2].decode(errors="replace")] = int(pid)
    return found + _dns_servers(engine, servers, repair)


def _dns_servers(engine, servers: dict[str, int], repair) -> list[tuple[str, bool]]:
    """{bundle: pid} of the embedded DNS servers (runtime/shim_dns.c) against the containers:
    one runs exactly while its container's PID 1 does (the monitor starts it before and
    kills it after)."""
    from .network.dns import RECORDS
    found = []
    for bundle, pid in servers.items():
        try:
            status = engine.runtime.state(bundle).status
        except (OSError, DockyardError):        # its directory is gone
            status = "removed"
        if status in ("exited", "dead", "removed"):
            found.append(_fixed(f"DNS server {pid} of container {os.path.basename(bundle)[:12]}, "
                                f"which is {status}", repair,
                                lambda p=pid: os.kill(p, signal.SIGKILL)))
    for records in glob.glob(str(engine.root / "containers" / "*" / RECORDS)):
        bundle = os.path.dirname(records)
        try:
            state = engine.runtime.state(bundle)
        except (OSError, DockyardError):
            continue
        if state.status == "running" and bundle not in servers and os.path.exists(f"/proc/{state.pid}"):
            found.append((f"container {os.path.basename(bundle)[:12]} runs without its DNS "
                          "server (127.0.0.11 answers no more): restart it", False))
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL a monitor's children (the container's PID 1 takes its namespace along), then it."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                os.kill(int(child), signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def _fixed(text, repair, action) -> tuple[str, bool]:
    """(text, repaired?), running `action` when repairing; its failure leaves it unrepaired."""
    if not repair:
        return text, False
    try:
        action()
    except (OSError, DockyardError) as exc:
        return f"{text}; repair failed: {exc}", False
    return text + ": repaired", True
