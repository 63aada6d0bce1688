"""What the host gives the engine: overlayfs, namespaces, cgroup version, netlink, root or not;
and the engine's version."""
import os
import shutil
from importlib.metadata import version

from .image.model import host_architecture


def _cgroup_version() -> str:
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "2"
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return "1 (hybrid: v2 at /sys/fs/cgroup/unified)" if os.path.isdir(
            "/sys/fs/cgroup/unified") else "1"
    return "none"


def _seccomp() -> bool:
    """The kernel filters syscalls with BPF (what every container but --privileged gets)."""
    try:
        with open("/proc/sys/kernel/seccomp/actions_avail") as f:
            return "errno" in f.read().split()
    except OSError:
        return False


def _devices_cgroup() -> str:
    """How containers are kept off host devices: "" when this host can't."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers") or os.path.exists(
            "/sys/fs/cgroup/unified/cgroup.controllers"):
        return "cgroup v2 eBPF"
    return "cgroup v1" if os.path.isdir("/sys/fs/cgroup/devices") else ""


def features() -> dict:
    """Feature name -> available, probed without side effects."""
    with open("/proc/filesystems") as f:
        filesystems = f.read()
    namespaces = sorted(os.listdir("/proc/self/ns"))
    return {
        "overlayfs": "overlay" in filesystems,
        "namespaces": all(ns in namespaces for ns in ("mnt", "pid", "uts", "ipc", "net", "cgroup")),
        "cgroups": _cgroup_version() != "none",
        "netlink": os.path.exists("/proc/net/netlink"),
        "nftables": shutil.which("nft") is not None,
        "root": os.geteuid() == 0,
        "busybox-static": shutil.which("busybox") is not None,
        "seccomp": _seccomp(),
        "devices-cgroup": bool(_devices_cgroup()),
    }


def host_info(engine) -> dict:
    """`dockyard info`: the numbers and features, as `docker info` shows them."""
    containers = engine.containers.list(all=True)
    running = sum(c.status == "running" for c in containers)
    feats = features()
    return {
        "Containers": len(containers), "Running": running, "Stopped": len(containers) - running,
        "Images": len(engine.images.list()),
        "Storage Driver": "overlay2" if feats["overlayfs"] else "unsupported",
        "Cgroup Version": _cgroup_version(),
        "Kernel Version": os.uname().release, "Architecture": os.uname().machine,
        "CPUs": os.cpu_count(), "Docker Root Dir": str(engine.root),
        # as docker info's SecurityOptions: the default for every container but --privileged
        "Security Options": [*(["name=seccomp,profile=builtin"] if feats["seccomp"] else []),
                             *([f"name=devices,{_devices_cgroup()}"] if feats["devices-cgroup"] else []),
                             "name=cgroupns"],
        "Features": {name: "yes" if ok else "no" for name, ok in feats.items()},
        "Registry Mirrors": engine.registry_config()["mirrors"],
        "Insecure Registries": engine.registry_config()["insecure"],
    }


def engine_version(engine) -> dict:
    """`docker version`'s Server part (the shape of GET /version) for the in-process engine."""
    return {"Platform": {"Name": "dockyard (in-process, no daemon)"},
            "Version": version("dockyard"), "KernelVersion": os.uname().release, "Os": "linux",
            "Arch": host_architecture(), "DataRoot": str(engine.root)}
