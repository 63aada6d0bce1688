"""A container's cgroup, planned here and carried out by the shim: v2 first, v1 where not.

    pairs = plan("3f2a...", memory=64 << 20, cpus=0.5, pids=100)   # spec pairs for the shim
    stats(dict_of_the_spec)                                        # usage read back, v1 or v2

The shim only mkdirs (cg_mkdir), writes (cg_set "FILE\\nVALUE"; cg_try: a missing file is fine),
attaches a device program (cg_devices "DIR\\nHEX"), joins (cg_join), reads the OOM count
(cg_oom), mounts the container's /sys/fs/cgroup (cgmount) and rmdirs (cg_rmdir); which files,
and v1 or v2, is decided here.

Device rules (devices.py) go to a cgroup v2 hierarchy as an eBPF program when there is one
(the unified hierarchy itself, or a hybrid host's /sys/fs/cgroup/unified), else to the v1
devices controller; with neither, a container that asks for rules is refused.
"""
import os

from ..errors import Unsupported
from . import devices as _devices

ROOT = "/sys/fs/cgroup"
# blkio: stats' BLOCK I/O; freezer: every container can be paused later. cpuset joins only when
# --cpuset-cpus asks (a v1 cpuset must be given its cpus and mems before anything can join it).
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "blkio", "freezer")


def warm_up() -> None:
    """Start making the next cgroup join fast, in a background thread; call before a start.

    Every cgroup.procs write takes a global rwsem whose first writer after a quiet spell waits
    for an RCU grace period (~10 ms here, the recipe's pitfall 16); later writers within the
    period don't. Moving this process into the cgroup it is already in changes nothing but pays
    that wait now, while the engine prepares the container, instead of inside its start.
    Measured: a start after 100 ms of quiet, 35 -> 19 ms.
    """
    import threading
    threading.Thread(target=_rejoin_own_cgroup, name="dockyard-cgroup-warm-up", daemon=True).start()


def _rejoin_own_cgroup() -> None:
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controllers in ("pids", "") and os.path.isdir(f"{ROOT}/{controllers}{path}"):
                    with open(f"{ROOT}/{controllers}{path}/cgroup.procs", "w") as procs:
                        procs.write(str(os.getpid()))
                    return
    except OSError:         # not allowed here (a delegated subtree, no root): just slower
        pass


def is_v2(root: str = ROOT) -> bool:
    """A unified hierarchy mounted at the cgroup root (not just a hybrid's `unified`)."""
    return os.path.exists(f"{root}/cgroup.controllers")


def plan(cid: str, *, memory=0, memory_swap=0, cpus=0.0, pids=0, cpu_shares=0, cpuset_cpus="",
         memory_reservation=0, oom_kill_disable=False, devices=None, root: str = ROOT,
         v2: bool | None = None) -> list[tuple[str, str]]:
    """Spec pairs that create, limit, join and remove `dockyard/<cid>` at the hierarchy roots.

    devices: device rules to enforce (devices.rules_for), None for every device.
    """
    limits = dict(memory=memory, memory_swap=memory_swap, cpus=cpus, pids=pids,
                  cpu_shares=cpu_shares, cpuset_cpus=cpuset_cpus,
                  memory_reservation=memory_reservation, oom_kill_disable=oom_kill_disable)
    if v2 if v2 is not None else is_v2(root):
        pairs = _plan_v2(cid, root, **limits)
        leaf = f"{root}/dockyard/{cid}"
        if devices is not None:
            pairs.insert(1, ("cg_devices", f"{leaf}\n{_devices.program(devices).hex()}"))
        return pairs + [("cgmount", "cgroup2\n\n")]
    pairs = _plan_v1(cid, root, **limits)
    if devices is not None:
        pairs = _v1_devices(cid, devices, root) + pairs
    return pairs


def _v1_devices(cid, rules, root):
    """Devices on a v1 host: eBPF on the hybrid's cgroup2 (v2 first), else devices.allow/deny."""
    unified = f"{root}/unified"
    if os.path.exists(f"{unified}/cgroup.controllers"):
        leaf = f"{unified}/dockyard/{cid}"
        return [("cg_mkdir", leaf), ("cg_devices", f"{leaf}\n{_devices.program(rules).hex()}"),
                ("cg_join", f"{leaf}/cgroup.procs"), *_cgmount(unified, "unified"),
                ("cg_rmdir", leaf)]
    base = os.path.realpath(f"{root}/devices")
    if os.path.isdir(base):
        leaf = f"{base}/dockyard/{cid}"
        return [("cg_mkdir", leaf), *(("cg_set", f"{leaf}/{name}\n{value}")
                                      for name, value in _devices.v1_writes(rules)),
                ("cg_join", f"{leaf}/cgroup.procs"), *_cgmount(base, os.path.basename(base)),
                ("cg_rmdir", leaf)]
    raise Unsupported("no devices cgroup on this host (neither cgroup v2 nor the v1 devices "
                      "controller) to keep the container off host devices; use --privileged")


def _cgmount(path: str, name: str) -> list[tuple[str, str]]:
    """The container's mount of the hierarchy at `path` (as /sys/fs/cgroup/NAME), if mounted."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if left.split()[4] != path:
                    continue
                fstype, _, options = right.split()[:3]
                # v1 needs the same controllers (and name=) to reach the same hierarchy
                keep = [o for o in options.split(",") if fstype == "cgroup" and o not in ("rw", "ro")]
                return [("cgmount", f"{fstype}\n{','.join(keep)}\n{name}")]
    except OSError:
        pass
    return []


def _plan_v1(cid, root, *, memory, memory_swap, cpus, pids, cpu_shares, cpuset_cpus,
             memory_reservation, oom_kill_disable):
    dirs = {}
    controllers = V1_CONTROLLERS + (("cpuset",) if cpuset_cpus else ())
    for ctrl in controllers:   # co-mounted controllers (cpu,cpuacct) share one directory
        base = os.path.realpath(f"{root}/{ctrl}")
        if os.path.isdir(base):
            dirs.setdefault(base, f"{base}/dockyard/{cid}")
    leaf = {ctrl: dirs.get(os.path.realpath(f"{root}/{ctrl}")) for ctrl in controllers}
    pairs = [("cg_mkdir", d) for d in dirs.values()]
    mem = leaf["memory"]
    if memory and mem:
        pairs.append(("cg_set", f"{mem}/memory.limit_in_bytes\n{memory}"))   # before memsw
        if memory_swap != -1 and os.path.exists(f"{root}/memory/memory.memsw.limit_in_bytes"):
            pairs.append(("cg_set", f"{mem}/memory.memsw.limit_in_bytes\n{memory_swap or 2 * memory}"))
    if memory_reservation and mem:
        pairs.append(("cg_set", f"{mem}/memory.soft_limit_in_bytes\n{memory_reservation}"))
    if oom_kill_disable and mem:
        pairs.append(("cg_set", f"{mem}/memory.oom_control\n1"))
    if pids and leaf["pids"]:
        pairs.append(("cg_set", f"{leaf['pids']}/pids.max\n{pids}"))
    if cpus and leaf["cpu"]:
        pairs += [("cg_set", f"{leaf['cpu']}/cpu.cfs_period_us\n100000"),
                  ("cg_set", f"{leaf['cpu']}/cpu.cfs_quota_us\n{int(cpus * 100000)}")]
    if cpu_shares and leaf["cpu"]:
        pairs.append(("cg_set", f"{leaf['cpu']}/cpu.shares\n{cpu_shares}"))
    if cpuset_cpus and leaf["cpuset"]:
        base = os.path.dirname(os.path.dirname(leaf["cpuset"]))
        mems = (_read(f"{base}/cpuset.mems") or "0").strip()
        # v1 cpusets start empty: the parent gets the whole set, the leaf the asked cpus
        pairs += [("cg_set", f"{base}/dockyard/cpuset.cpus\n{(_read(f'{base}/cpuset.cpus') or '').strip()}"),
                  ("cg_set", f"{base}/dockyard/cpuset.mems\n{mems}"),
                  ("cg_set", f"{leaf['cpuset']}/cpuset.mems\n{mems}"),
                  ("cg_set", f"{leaf['cpuset']}/cpuset.cpus\n{cpuset_cpus}")]
    pairs += [("cg_join", f"{d}/cgroup.procs") for d in dirs.values()]
    if mem:
        pairs.append(("cg_oom", f"{mem}/memory.oom_control"))
    for base in dirs:
        pairs += _cgmount(base, os.path.basename(base))
    return pairs + [("cg_rmdir", d) for d in dirs.values()]


def _plan_v2(cid, root, *, memory, memory_swap, cpus, pids, cpu_shares, cpuset_cpus,
             memory_reservation, oom_kill_disable):
    parent, leaf = f"{root}/dockyard", f"{root}/dockyard/{cid}"
    with open(f"{root}/cgroup.controllers") as f:
        have = set(f.read().split())
    wanted = [c for c, v in (("memory", memory or memory_reservation), ("pids", pids),
                             ("cpu", cpus or cpu_shares), ("cpuset", cpuset_cpus))
              if v and c in have]
    pairs = [("cg_mkdir", leaf)]
    if wanted:   # controllers must be enabled top-down; `dockyard` itself holds no process
        enable = " ".join(f"+{c}" for c in wanted)
        pairs += [("cg_set", f"{root}/cgroup.subtree_control\n{enable}"),
                  ("cg_set", f"{parent}/cgroup.subtree_control\n{enable}")]
    if "memory" in wanted and memory:
        pairs.append(("cg_set", f"{leaf}/memory.max\n{memory}"))
        if memory_swap != -1:   # absent without swap support: optional
            pairs.append(("cg_try", f"{leaf}/memory.swap.max\n{(memory_swap or 2 * memory) - memory}"))
    if "memory" in wanted and memory_reservation:
        pairs.append(("cg_set", f"{leaf}/memory.low\n{memory_reservation}"))
    if "pids" in wanted:
        pairs.append(("cg_set", f"{leaf}/pids.max\n{pids}"))
    if "cpu" in wanted and cpus:
        pairs.append(("cg_set", f"{leaf}/cpu.max\n{int(cpus * 100000)} 100000"))
    if "cpu" in wanted and cpu_shares:   # runc's conversion of shares (2..262144) to a weight
        pairs.append(("cg_set", f"{leaf}/cpu.weight\n{1 + (cpu_shares - 2) * 9999 // 262142}"))
    if "cpuset" in wanted:
        pairs.append(("cg_set", f"{leaf}/cpuset.cpus\n{cpuset_cpus}"))
    return pairs + [("cg_join", f"{leaf}/cgroup.procs"), ("cg_oom", f"{leaf}/memory.events"),
                    ("cg_rmdir", leaf)]


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text.split()[0]) if text else None
    except ValueError:       # "max"
        return None


def _keyed(text: str | None) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in (text or "").splitlines() if line)}


def _blkio_v1(text: str | None) -> tuple[int, int]:
    """(read, written) bytes from blkio.throttle.io_service_bytes: "8:0 Read 4096" lines."""
    totals = {"Read": 0, "Write": 0}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in totals:
            totals[parts[1]] += int(parts[2])
    return totals["Read"], totals["Write"]


def _io_v2(text: str | None) -> tuple[int, int]:
    """(read, written) bytes from io.stat: "8:0 rbytes=4096 wbytes=0 rios=1 ..." lines."""
    read = written = 0
    for line in (text or "").splitlines():
        fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
        read += int(fields.get("rbytes", 0))
        written += int(fields.get("wbytes", 0))
    return read, written


def stats(dirs: list[str]) -> dict:
    """cpu_usage_ns, memory_usage, memory_limit, memory_cache (inactive file pages, which
    `docker stats` leaves out of the usage), pids, block_read and block_write (bytes; None
    where the cgroup doesn't count them) from the container's cgroup dirs."""
    out = {"cpu_usage_ns": None, "memory_usage": None, "memory_limit": None, "memory_cache": None,
           "pids": None, "block_read": None, "block_write": None}
    for d in dirs:
        if os.path.exists(f"{d}/memory.usage_in_bytes"):
            out["memory_usage"] = _int(_read(f"{d}/memory.usage_in_bytes"))
            out["memory_limit"] = _int(_read(f"{d}/memory.limit_in_bytes"))
            out["memory_cache"] = _keyed(_read(f"{d}/memory.stat")).get("total_inactive_file")
        if os.path.exists(f"{d}/memory.current"):
            out["memory_usage"] = _int(_read(f"{d}/memory.current"))
            out["memory_limit"] = _int(_read(f"{d}/memory.max"))
            out["memory_cache"] = _keyed(_read(f"{d}/memory.stat")).get("inactive_file")
        if os.path.exists(f"{d}/blkio.throttle.io_service_bytes_recursive"):
            out["block_read"], out["block_write"] = _blkio_v1(
                _read(f"{d}/blkio.throttle.io_service_bytes_recursive"))
        if os.path.exists(f"{d}/io.stat"):
            out["block_read"], out["block_write"] = _io_v2(_read(f"{d}/io.stat"))
        if os.path.exists(f"{d}/cpuacct.usage"):
            out["cpu_usage_ns"] = _int(_read(f"{d}/cpuacct.usage"))
        if os.path.exists(f"{d}/cpu.stat") and "usage_usec" in (_read(f"{d}/cpu.stat") or ""):
            out["cpu_usage_ns"] = _keyed(_read(f"{d}/cpu.stat"))["usage_usec"] * 1000
        if os.path.exists(f"{d}/pids.current"):
            out["pids"] = _int(_read(f"{d}/pids.current"))
    return out


def procs(dirs: list[str]) -> list[int]:
    """The pids in the container's cgroup (the first directory that lists any)."""
    for d in dirs:
        pids = [int(p) for p in (_read(f"{d}/cgroup.procs") or "").split()]
        if pids:
            return sorted(pids)
    return []


def _freezer(dirs: list[str]) -> tuple[str, str, str] | None:
    """(file to write, frozen value, thawed value) of the container's freezer: the v1 freezer
    controller where there is one (a hybrid host's unified leaf has cgroup.freeze too)."""
    for d in dirs:
        if os.path.exists(f"{d}/freezer.state"):
            return f"{d}/freezer.state", "FROZEN", "THAWED"
    for d in dirs:
        if os.path.exists(f"{d}/cgroup.freeze"):
            return f"{d}/cgroup.freeze", "1", "0"
    return None


def is_frozen(dirs: list[str]) -> bool:
    """Whether the container's processes are frozen (paused), by either freezer."""
    found = _freezer(dirs)
    if not found:
        return False
    path, frozen, _ = found
    if path.endswith("cgroup.freeze"):
        return "frozen 1" in (_read(path.replace("cgroup.freeze", "cgroup.events")) or "")
    return (_read(path) or "").strip() in ("FROZEN", "FREEZING")


def freeze(dirs: list[str], frozen: bool, timeout: float = 5.0) -> None:
    """Freeze (pause) or thaw every process of the container; returns once the kernel says so.

    OSError when the container's cgroup has no freezer (made before dockyard joined one).
    """
    import errno
    import time
    found = _freezer(dirs)
    if not found:
        raise OSError(errno.ENOTSUP, "the container's cgroup has no freezer")
    path, on, off = found
    with open(path, "w") as f:
        f.write(on if frozen else off)
    deadline = time.monotonic() + timeout
    while is_frozen(dirs) != frozen and time.monotonic() < deadline:
        time.sleep(0.001)     # v1 passes through FREEZING while tasks stop


def apply(pairs: list[tuple[str, str]]) -> None:
    """Write the cg_set/cg_try pairs of a plan to live cgroups (docker update).

    v1 refuses memory above memsw (and memsw below memory) at every step, so a write refused
    with EINVAL is tried again after the others: one order of the two always works.
    """
    import errno
    pending = [(k, v) for k, v in pairs if k in ("cg_set", "cg_try")]
    for attempt in range(2):
        failed = []
        for key, value in pending:
            path, _, data = value.partition("\n")
            try:
                with open(path, "w") as f:
                    f.write(data)
            except OSError as exc:
                if key == "cg_try" and exc.errno == errno.ENOENT:
                    continue
                if attempt or exc.errno != errno.EINVAL:
                    raise OSError(exc.errno, f"cgroup write {os.path.basename(path)}={data}: "
                                  f"{exc.strerror}") from None
                failed.append((key, value))
        pending = failed
        if not pending:
            return
