"""Docker's stats JSON (docker stats, docker-py's container.stats) from a container's cgroup.

    reader = StatsReader(container)
    first, second = reader.sample(), reader.sample()   # second's precpu_stats is first's cpu

The CLI's CPU % is the container's share of the host's CPU time between two samples, so each
sample carries the previous one's numbers as `precpu_stats`, as dockerd's do.
"""
import os

from ..storage import now_rfc3339

ZERO_TIME = "0001-01-01T00:00:00Z"
NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets",
              "tx_errors", "tx_dropped")


def system_cpu_ns() -> int:
    """All CPUs' time since boot (the first line of /proc/stat), in nanoseconds."""
    with open("/proc/stat") as f:
        jiffies = sum(int(v) for v in f.readline().split()[1:8])
    return jiffies * 10**9 // os.sysconf("SC_CLK_TCK")


def network_counters(pid: int) -> dict:
    """{interface: Docker's counters} of the network namespace `pid` is in (lo left out)."""
    found = {}
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return found
    for line in lines:
        name, _, values = line.partition(":")
        name = name.strip()
        if name == "lo":
            continue
        v = [int(x) for x in values.split()]
        found[name] = dict(zip(NET_FIELDS, (v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11])))
    return found


class StatsReader:
    """Successive samples of one container."""

    def __init__(self, container):
        self.container = container
        self.previous = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                       "usage_in_usermode": 0},
                         "throttling_data": {"periods": 0, "throttled_periods": 0,
                                             "throttled_time": 0}}
        self.previous_read = ZERO_TIME

    def sample(self) -> dict:
        container = self.container
        state = container.state
        running = state.status == "running"
        numbers = container.stats() if running else {}
        cpu = {"cpu_usage": {"total_usage": numbers.get("cpu_usage_ns") or 0,
                             "usage_in_kernelmode": 0, "usage_in_usermode": 0},
               "system_cpu_usage": system_cpu_ns(), "online_cpus": os.cpu_count() or 1,
               "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
        read = now_rfc3339() if running else ZERO_TIME
        result = {
            "read": read, "preread": self.previous_read, "id": container.id,
            "name": "/" + container.name, "num_procs": 0, "storage_stats": {},
            "pids_stats": {"current": numbers.get("pids") or 0} if running else {},
            "blkio_stats": {"io_service_bytes_recursive": [
                                {"major": 0, "minor": 0, "op": op, "value": numbers.get(key) or 0}
                                for op, key in (("read", "block_read"), ("write", "block_write"))
                            ] if running else None, "io_serviced_recursive": None,
                            "io_queue_recursive": None, "io_service_time_recursive": None,
                            "io_wait_time_recursive": None, "io_merged_recursive": None,
                            "io_time_recursive": None, "sectors_recursive": None},
            "cpu_stats": cpu if running else {"cpu_usage": {"total_usage": 0},
                                              "throttling_data": cpu["throttling_data"]},
            "precpu_stats": self.previous,
            "memory_stats": {"usage": numbers.get("memory_usage") or 0, "stats": {},
                             "limit": numbers.get("memory_limit") or 0} if running else {},
        }
        if running and container.record.get("Endpoints"):
            result["networks"] = network_counters(state.pid)
        self.previous, self.previous_read = result["cpu_stats"], read
        return result
