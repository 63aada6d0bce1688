"""Pure conversions from Docker's options and an image config to a ContainerSpec.

    args = resolve_command(config, command=["echo", "hi"])     # Entrypoint + Cmd, as Docker
    spec = to_spec("3f2a...", bundle, config, lowerdirs=("l/AB",), mem_limit="64m")
"""
import math
import os
import re

from ..errors import InvalidArgument
from .devices import parse_device
from .spec import DEFAULT_CAPS, ContainerSpec, Mount

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MIN_MEMORY = 6 * 1024 * 1024      # Docker refuses less
# Capability numbers from linux/capability.h, in order (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
CAPABILITIES = (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
    "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
    "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
    "CHECKPOINT_RESTORE").split()
ALL_CAPS = (1 << len(CAPABILITIES)) - 1
RLIMITS = {"cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
           "nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12,
           "nice": 13, "rtprio": 14, "rttime": 15}
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def _config(image_config: dict | None) -> dict:
    """The `config` part of an OCI image config, whichever of the two is given."""
    image_config = image_config or {}
    return image_config.get("config", image_config) or {}


def resolve_command(image_config: dict | None, entrypoint=None, command=None) -> list[str]:
    """Docker's rule: Entrypoint + Cmd; an overridden entrypoint drops the image's Cmd.

    entrypoint="" (or []) clears the image's entrypoint; a str command runs through `sh -c`
    only when it comes from the user as a shell string (docker-py splits nothing, neither do we).
    """
    cfg = _config(image_config)
    if isinstance(entrypoint, str):
        entrypoint = [entrypoint] if entrypoint else []
    if isinstance(command, str):
        command = ["/bin/sh", "-c", command]
    if entrypoint is not None:
        args = list(entrypoint) + list(command or [])
    else:
        args = list(cfg.get("Entrypoint") or []) + list(
            command if command is not None else cfg.get("Cmd") or [])
    if not args:
        raise InvalidArgument("no command specified")
    return args


def merge_env(image_env, user_env) -> tuple[str, ...]:
    """Image Env, then the user's (a dict or "K=V" list) replacing same-named entries; PATH set."""
    if isinstance(user_env, dict):
        user_env = [f"{k}={v}" for k, v in user_env.items()]
    merged: dict[str, str] = {}
    for entry in [*(image_env or ()), *(user_env or ())]:
        if not entry or entry.startswith("="):
            raise InvalidArgument(f"invalid environment variable: {entry!r}")
        key, sep, value = entry.partition("=")
        if not sep:       # docker run -e NAME: the value from this process's environment
            if key not in os.environ:
                continue
            value = os.environ[key]
        merged[key] = f"{key}={value}"
    merged.setdefault("PATH", DEFAULT_PATH)
    return tuple(merged.values())


def _cap_bit(name: str) -> int:
    key = name.upper().removeprefix("CAP_")
    if key not in CAPABILITIES:
        raise InvalidArgument(f"unknown capability: {name!r}")
    return 1 << CAPABILITIES.index(key)


def caps(add=(), drop=()) -> int:
    """Docker's default set with --cap-add/--cap-drop applied ("ALL" works for either)."""
    mask = DEFAULT_CAPS
    upper = {c.upper() for c in drop}
    if "ALL" in upper:
        mask = 0
    for name in drop:
        if name.upper() != "ALL":
            mask &= ~_cap_bit(name)
    for name in add:
        mask |= ALL_CAPS if name.upper() == "ALL" else _cap_bit(name)
    return mask


def parse_memory(value, *, minimum: int = MIN_MEMORY) -> int:
    """"64m", "1g", "1.5G", "100000" or an int -> bytes (Docker's RAMInBytes); 0 stays 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)b?\s*", str(value), re.I)
        if not match:
            raise InvalidArgument(f"invalid size: '{value}'")
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < 0:
        raise InvalidArgument(f"invalid size: '{value}'")
    if 0 < size < minimum:
        raise InvalidArgument(f"Minimum memory limit allowed is {minimum // (1 << 20)}MB")
    return size


def parse_cpus(value) -> float:
    """"0.5" -> 0.5; Docker's range check against this host's CPU count."""
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid argument {value!r} for \"--cpus\" flag") from None
    host = os.cpu_count() or 1
    if not math.isfinite(cpus) or cpus <= 0 or cpus > host:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {host}.00, as there are only "
                              f"{host} CPUs available")
    return cpus


def parse_rlimits(ulimits) -> tuple[tuple[str, int, int], ...]:
    """{"nofile": (1024, 2048)} or ["nofile=1024:2048"] -> (("nofile", 1024, 2048),)."""
    items = ulimits.items() if isinstance(ulimits, dict) else (
        u.split("=", 1) if "=" in u else (u, "") for u in ulimits or ())
    out = []
    for name, value in items:
        if name not in RLIMITS:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        if isinstance(value, str):
            soft, _, hard = value.partition(":")
            try:
                value = (int(soft), int(hard or soft))
            except ValueError:
                raise InvalidArgument(f"invalid ulimit argument: {name}={value}") from None
        soft, hard = (value, value) if isinstance(value, int) else value
        if hard != -1 and soft > hard:
            raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: "
                                  f"{soft} > {hard}")
        out.append((name, soft, hard))
    return tuple(out)


def parse_mount(value) -> Mount:
    """A Mount, or docker's "src:dst[:ro]" volume string for a bind mount."""
    if isinstance(value, Mount):
        mount = value
    else:
        parts = str(value).split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise InvalidArgument(f"invalid volume specification: '{value}'")
        mount = Mount("bind", parts[0], parts[1], len(parts) == 3 and parts[2] == "ro")
    if mount.type not in ("bind", "tmpfs"):
        raise InvalidArgument(f"invalid mount type: {mount.type!r}")
    if not mount.target.startswith("/") or os.path.normpath(mount.target) == "/":
        raise InvalidArgument(f"invalid mount target {mount.target!r}: must be an absolute path, not /")
    if mount.type == "bind" and not os.path.isabs(mount.source):
        raise InvalidArgument(f"invalid bind source {mount.source!r}: must be an absolute path")
    if any("\n" in f or "\0" in f for f in (mount.source, mount.target, mount.data)):
        raise InvalidArgument("invalid mount: newline or NUL in a field")
    return mount


def parse_security_opt(security_opt) -> tuple[bool, str]:
    """--security-opt values -> (no_new_privs, seccomp setting for ContainerSpec.seccomp).

    seccomp=unconfined | seccomp=PROFILE.json (read and checked here: a bad profile names its
    field) | no-new-privileges[:true|false]; apparmor= and label= are accepted and have no
    effect (this host has neither). "key:value" works as "key=value", as in Docker.
    """
    no_new_privs, seccomp = False, "default"
    for opt in security_opt:
        key, _, value = opt.replace(":", "=", 1).partition("=")
        if key == "no-new-privileges":
            if value not in ("", "true", "false"):
                raise InvalidArgument(f"invalid --security-opt: {opt!r}")
            no_new_privs = value in ("", "true")
        elif key == "seccomp" and value:
            seccomp = value if value == "unconfined" else _read_profile(value)
        elif key not in ("apparmor", "label") or not value:
            raise InvalidArgument(f"invalid --security-opt: {opt!r}")
    return no_new_privs, seccomp


def _read_profile(path: str) -> str:
    from .seccomp import load_profile
    try:
        with open(path) as f:
            text = f.read()
    except OSError as exc:
        raise InvalidArgument(f"opening seccomp profile ({path}) failed: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"seccomp profile {path}: not UTF-8 text") from None
    load_profile(text)
    return text


def netns_for(network: str | None) -> str:
    """--network: none/bridge (a new, empty namespace for now) | host | a namespace file path."""
    if not network or network in ("none", "bridge", "default"):
        return ""
    if network == "host" or network.startswith("/"):
        return network
    raise InvalidArgument(f"network {network!r} not found")


def to_spec(id: str, bundle: str, image_config: dict | None = None, *, snapshots_root="",
            lowerdirs=(), entrypoint=None, command=None, environment=None, working_dir=None,
            user=None, hostname=None, cap_add=(), cap_drop=(), privileged=False,
            security_opt=(), read_only=False, mem_limit=None, memswap_limit=None, cpus=None,
            pids_limit=None, network=None, mounts=(), tty=False, stdin_open=False,
            init=False, ulimits=None, stop_signal=None, on_exit=(), devices=()) -> ContainerSpec:
    """docker run's options (docker-py names) plus the image config -> a ContainerSpec."""
    cfg = _config(image_config)
    memory = parse_memory(mem_limit) if mem_limit else 0
    swap = 0
    if memswap_limit not in (None, 0, "0", ""):
        swap = -1 if str(memswap_limit) == "-1" else parse_memory(memswap_limit, minimum=0)
        if not memory:
            raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit")
        if swap != -1 and swap < memory:
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit")
    no_new_privs, seccomp = parse_security_opt(security_opt)
    if pids_limit is not None and int(pids_limit) < -1:
        raise InvalidArgument(f"invalid pids limit: {pids_limit}")
    if hostname and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}", hostname):
        raise InvalidArgument(f"invalid hostname format: {hostname}")
    return ContainerSpec(
        id=id, bundle=str(bundle), snapshots_root=str(snapshots_root), lowerdirs=tuple(lowerdirs),
        args=tuple(resolve_command(image_config, entrypoint, command)),
        env=merge_env(cfg.get("Env"), environment), cwd=working_dir or cfg.get("WorkingDir") or "/",
        user=user if user is not None else cfg.get("User") or "", hostname=hostname or id[:12],
        caps=ALL_CAPS if privileged else caps(cap_add, cap_drop),
        no_new_privs=no_new_privs, seccomp=seccomp, devices=tuple(parse_device(d) for d in devices),
        privileged=privileged, readonly_rootfs=read_only, memory=memory, memory_swap=swap,
        cpus=parse_cpus(cpus) if cpus else 0.0,
        pids_limit=max(int(pids_limit or 0), 0), netns=netns_for(network),
        mounts=tuple(parse_mount(m) for m in mounts), tty=tty, stdin=stdin_open, init=init,
        rlimits=parse_rlimits(ulimits if ulimits is not None else {"nofile": (1048576, 1048576)}),
        stop_signal=stop_signal or cfg.get("StopSignal") or "SIGTERM", on_exit=tuple(on_exit))


def parse_signal(value) -> str:
    """--stop-signal: "TERM", "SIGUSR1", "9" -> the signal's name ("SIGTERM"); Docker's error
    for anything else, at create time rather than when the container is stopped."""
    import signal
    name = str(value).strip().upper()
    try:
        if name.isdigit():
            return signal.Signals(int(name)).name
        return signal.Signals[name if name.startswith("SIG") else "SIG" + name].name
    except (KeyError, ValueError):
        raise InvalidArgument(f"Invalid signal: {value}") from None


def parse_extra_hosts(items) -> tuple[tuple[str, str], ...]:
    """--add-host "db:10.0.0.5" (or "db=10.0.0.5", IPv6 after the first colon) -> pairs;
    the address may be the word host-gateway, resolved once the network is known."""
    import ipaddress
    out = []
    for item in items:
        sep = "=" if "=" in item else ":"
        name, found, address = item.partition(sep)
        if not found or not name or not address:
            raise InvalidArgument(f'invalid argument "{item}" for "--add-host" flag: '
                                  f'bad format for add-host: "{item}"')
        address = address.strip("[]")
        if address != "host-gateway":
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise InvalidArgument(f'invalid argument "{item}" for "--add-host" flag: '
                                      f'invalid IP address in add-host: "{address}"') from None
        out.append((name, address))
    return tuple(out)


def parse_dns(servers) -> tuple[str, ...]:
    import ipaddress
    for server in servers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise InvalidArgument(f'invalid argument "{server}" for "--dns" flag: '
                                  f"{server} is not an ip address") from None
    return tuple(servers)


# Docker allows only sysctls that are namespaced: they change the container, never the host.
_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
            "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}


def parse_sysctls(sysctls: dict, network: str | None) -> tuple[tuple[str, str], ...]:
    """{"net.ipv4.ip_forward": "1"} -> pairs, refusing what isn't namespaced as Docker does."""
    out = []
    for key, value in (sysctls or {}).items():
        item = f"{key}={value}"
        if not (key in _SYSCTLS or key.startswith(("net.", "fs.mqueue."))) or \
                "/" in key or ".." in key or "\n" in item:
            raise InvalidArgument(f'invalid argument "{item}" for "--sysctl" flag: '
                                  f"sysctl '{item}' is not allowed")
        if key.startswith("net.") and network == "host":
            raise InvalidArgument(f'sysctl "{key}" not allowed in host network namespace')
        out.append((key, str(value)))
    return tuple(out)


def parse_cpuset(value: str | None) -> str:
    """--cpuset-cpus "0-2,4": checked against the CPUs this process may use."""
    if not value:
        return ""
    wanted = set()
    try:
        for part in str(value).split(","):
            low, _, high = part.partition("-")
            wanted.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise InvalidArgument(f"Invalid value {value} for cpuset cpus") from None
    available = os.sched_getaffinity(0)
    if not wanted or not wanted <= available:
        have = ",".join(str(c) for c in sorted(available))
        raise InvalidArgument(f"Requested CPUs are not available - requested {value}, "
                              f"available: {have}")
    return str(value)


def parse_cpu_shares(value) -> int:
    """--cpu-shares: 0 is the default weight; the kernel's range is 2..262144."""
    if not value:
        return 0
    if int(value) < 0:
        raise InvalidArgument(f"invalid CPU shares: {value}")
    return min(max(int(value), 2), 262144)


def parse_expose(items) -> dict:
    """--expose "80", "53/udp", "8000-8002" -> ExposedPorts {"80/tcp": {}, ...}."""
    out = {}
    for item in items:
        ports, _, proto = str(item).partition("/")
        low, _, high = ports.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise InvalidArgument(f"Invalid range format for --expose: {item}") from None
        if not 0 < first <= last <= 65535 or proto not in ("", "tcp", "udp", "sctp"):
            raise InvalidArgument(f"Invalid range format for --expose: {item}")
        out.update({f"{p}/{proto or 'tcp'}": {} for p in range(first, last + 1)})
    return out
