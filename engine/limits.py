"""docker update: new resource limits for a container, live when it runs and for later starts,
and its restart policy (the monitor's, from its next exit on).

    container.update(mem_limit="128m", cpu_shares=512)      # docker-py's names
    container.update(memory="128m", cpus=0.5, pids_limit=100)
    container.update(restart_policy={"Name": "always"})

The limits are checked with Docker's messages against what the container has now, written to
its cgroup (when running), to its spec (what the next start applies) and to its record.
"""
from .errors import Conflict, InvalidArgument
from .runtime import resources
from .runtime.monitor_options import restart_policy

# docker-py's keyword -> ours
_ALIASES = {"mem_limit": "memory", "memswap_limit": "memory_swap",
            "mem_reservation": "memory_reservation", "nano_cpus": "cpus"}
_KNOWN = {"memory", "memory_swap", "memory_reservation", "cpus", "cpu_shares", "cpuset_cpus",
          "pids_limit", "restart_policy"}


def _given(limits: dict) -> dict:
    out = {}
    for key, value in limits.items():
        if key == "nano_cpus" and value:
            value = value / 1e9
        key = _ALIASES.get(key, key)
        if key not in _KNOWN:
            raise InvalidArgument(f"unknown update option: {key}")
        if value is not None:
            out[key] = value
    if not out:
        raise InvalidArgument("You must provide one or more flags when using this command.")
    return out


def _update_restart(container, value) -> None:
    """docker update --restart: the record, and the policy the monitor reads at the next exit."""
    name, count = restart_policy(value)
    host = container.record["HostConfig"]
    if host.get("AutoRemove") and name != "no":
        raise InvalidArgument("Restart policy cannot be updated because AutoRemove is enabled "
                              "for the container")
    container.engine.runtime.set_restart_policy(container.bundle, name, count)
    host["RestartPolicy"] = {"Name": name, "MaximumRetryCount": count}
    container.engine.containers.save(container)


def update(container, **limits) -> list[str]:
    """Apply `limits` (and restart_policy) to `container`; returns Docker's warnings (none so
    far)."""
    given = _given(limits)
    if "restart_policy" in given:
        _update_restart(container, given.pop("restart_policy"))
        if not given:
            container.emit("update")
            return []
    host = container.record["HostConfig"]
    memory = resources.parse_memory(given["memory"]) if "memory" in given else host.get("Memory", 0)
    swap = host.get("MemorySwap", 0)
    if "memory_swap" in given:
        swap = -1 if str(given["memory_swap"]) == "-1" else \
            resources.parse_memory(given["memory_swap"], minimum=0)
    elif "memory" in given and swap > 0 and memory > swap:
        raise InvalidArgument("Memory limit should be smaller than already set memoryswap "
                              "limit, update the memoryswap at the same time")
    if swap > 0 and not memory:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap "
                              "limit, see usage")
    if swap > 0 and swap < memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, "
                              "see usage")
    reservation = resources.parse_memory(given["memory_reservation"], minimum=0) \
        if "memory_reservation" in given else host.get("MemoryReservation", 0)
    if memory and reservation > memory:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation "
                              "limit, see usage")
    new = dict(
        memory=memory, memory_swap=swap, memory_reservation=reservation,
        cpus=resources.parse_cpus(given["cpus"]) if "cpus" in given
        else host.get("NanoCpus", 0) / 1e9,
        cpu_shares=resources.parse_cpu_shares(given["cpu_shares"]) if "cpu_shares" in given
        else host.get("CpuShares", 0),
        cpuset_cpus=resources.parse_cpuset(given["cpuset_cpus"]) if "cpuset_cpus" in given
        else host.get("CpusetCpus", ""),
        pids=max(int(given["pids_limit"]), 0) if "pids_limit" in given
        else host.get("PidsLimit", 0) or 0,
        oom_kill_disable=host.get("OomKillDisable", False))
    if container.status not in ("created", "running", "paused", "exited"):
        raise Conflict(f"Cannot update container {container.id}: it is {container.status}")
    accesses = [d.get("CgroupPermissions", "rwm") for d in host.get("Devices") or ()]
    container.engine.runtime.update_limits(container.bundle, new, accesses)
    host.update(Memory=memory, MemorySwap=swap, MemoryReservation=reservation,
                NanoCpus=int(new["cpus"] * 1e9), CpuShares=new["cpu_shares"],
                CpusetCpus=new["cpuset_cpus"], PidsLimit=new["pids"])
    container.engine.containers.save(container)
    container.emit("update")
    return []
