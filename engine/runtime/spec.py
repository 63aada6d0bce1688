"""What a container is made of, as plain values: the one input of the runtime.

    spec = ContainerSpec(id="3f2a...", bundle="/var/lib/dockyard/containers/3f2a...",
                         snapshots_root="/var/lib/dockyard/snapshots", lowerdirs=("l/ABCD",),
                         args=("sh", "-c", "echo hi"))
"""
from dataclasses import dataclass

from .devices import Device

# Capability numbers from linux/capability.h, in order (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
CAPABILITIES = (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
    "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
    "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
    "CHECKPOINT_RESTORE").split()
DEFAULT_CAPS = 0xA80425FB   # Docker's 14 default capabilities


@dataclass(frozen=True)
class Mount:
    """A bind mount (`source` a host path) or a tmpfs (`data` e.g. "size=64m,mode=1777")."""

    type: str            # "bind" | "tmpfs"
    source: str
    target: str
    readonly: bool = False
    data: str = ""


@dataclass(frozen=True)
class Healthcheck:
    """HEALTHCHECK as the monitor runs it: test is ("CMD", arg...) or ("CMD-SHELL", command);
    durations in nanoseconds, 0 (and retries 0) for Docker's defaults (30 s, 30 s, 0, 5 s, 3)."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the shim needs to start one container; lowerdirs are topmost first."""

    id: str
    bundle: str
    snapshots_root: str = ""
    lowerdirs: tuple[str, ...] = ()       # short names relative to snapshots_root, e.g. "l/ABCD"
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: str = ""                        # "uid[:gid]" or "name[:group]"; "" = image default/root
    hostname: str = ""                    # "" = the first 12 characters of the id
    caps: int = DEFAULT_CAPS
    no_new_privs: bool = False
    privileged: bool = False
    readonly_rootfs: bool = False
    memory: int = 0                       # bytes; 0 = no limit
    memory_swap: int = 0                  # memory + swap in bytes; 0 = Docker's 2x memory; -1 = unlimited
    cpus: float = 0.0
    pids_limit: int = 0
    netns: str = ""                       # "" new | "host" | a path to join with setns
    mounts: tuple[Mount, ...] = ()
    tty: bool = False
    stdin: bool = False
    init: bool = False
    rlimits: tuple[tuple[str, int, int], ...] = ()   # ("nofile", soft, hard); -1 = unlimited
    stop_signal: str = "SIGTERM"
    on_exit: tuple[str, ...] = ()         # argv the monitor execs after the exit, unless an
                                          # engine holds <bundle>/attach.lock (reap.py)
    owner: int = 0                        # a pid: the container is killed when it ends (a build's RUN)
    seccomp: str = "default"              # "default" | "unconfined" | a profile's JSON text
    devices: tuple[Device, ...] = ()      # --device nodes, allowed beside Docker's defaults
    restart: str = "no"                   # no | always | unless-stopped | on-failure (the monitor's)
    restart_max: int = 0                  # on-failure:N; 0 = no limit
    log_driver: str = "json-file"         # json-file | none
    log_max_size: int = 0                 # bytes before container.log is rotated; 0 = never
    log_max_file: int = 1                 # container.log and its rotated files, at most
    healthcheck: Healthcheck | None = None
    console_size: tuple[int, int] | None = None   # (rows, columns) of the pty (-t) at start
    extra_hosts: tuple[tuple[str, str], ...] = ()   # (name, address) lines added to /etc/hosts
    dns: tuple[str, ...] = ()             # resolv.conf: nameservers, search domains, options
    dns_search: tuple[str, ...] = ()      #   replacing the host's where given
    dns_options: tuple[str, ...] = ()
    dns_resolver: bool = False            # the embedded DNS server at 127.0.0.11 (user networks)
    sysctls: tuple[tuple[str, str], ...] = ()   # written in the container's namespaces
    group_add: tuple[str, ...] = ()       # supplementary groups (names resolved in the container)
    cpu_shares: int = 0                   # 0 = the kernel's default weight
    cpuset_cpus: str = ""
    memory_reservation: int = 0           # soft limit in bytes
    oom_kill_disable: bool = False
