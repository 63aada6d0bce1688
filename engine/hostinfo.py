"""What the host gives the engine: overlayfs, namespaces, cgroup version, netlink, root or not."""
import os
import shutil


def _cgroup_version() -> str:
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "2"
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return "1 (hybrid: v2 at /sys/fs/cgroup/unified)" if os.path.isdir(
            "/sys/fs/cgroup/unified") else "1"
    return "none"


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
        "Features": {name: "yes" if ok else "no" for name, ok in feats.items()},
    }
