"""Pure conversions from Docker's options and an image config to a ContainerSpec.

    args = resolve_command(config, command=["echo", "hi"])     # Entrypoint + Cmd, as Docker
    spec = to_spec(config, RunOptions("app", memory="64m"), id="3f2a...", bundle=bundle)
"""
import ipaddress
import os
import re
import signal

from ..errors import InvalidArgument
from . import cgroups, monitor_options
from .devices import parse_device
from .resources import (parse_cpu_shares, parse_cpus, parse_cpuset, parse_memory,
                        parse_memory_swap, parse_rlimits, shm_bytes)
from .seccomp import load_profile
from .spec import CAPABILITIES, DEFAULT_CAPS, ContainerSpec, Mount

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ALL_CAPS = (1 << len(CAPABILITIES)) - 1
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")     # RFC 1123, as Docker checks it


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


def to_spec(image_config: dict | None, options, *, id: str, bundle: str, snapshots_root="",
            lowerdirs=(), hostname: str | None = None, netns: str | None = None, mounts=(),
            gateway: str | None = None, on_exit=(), owner: int = 0,
            run_env: bool = True, dns_resolver: bool = False) -> ContainerSpec:
    """The one way a ContainerSpec is made (run, create, the builder's RUN): RunOptions over
    the image config by Docker's rules, placed where the engine says.

        spec = to_spec(image.config, RunOptions("busybox", command=("true",)),
                       id=cid, bundle=f"{root}/containers/{cid}", lowerdirs=("l/AB",))

    The engine gives the id, bundle and layers, and what it made for the container: the
    network namespace (None: from options.network, none, host or a namespace file), the
    mounts (runtime Mounts or "src:dst[:ro]"), the hostname (None: --hostname, else the
    short id) and the gateway that `--add-host NAME:host-gateway` names. `run_env`: docker
    run's HOSTNAME variable before the image's, and the image's HEALTHCHECK under the user's
    (a build step has neither). `dns_resolver`: the container gets the embedded DNS server at
    127.0.0.11 (it is on a user network).
    """
    flags = settings(options)
    cfg = _config(image_config)
    hostname = hostname or options.hostname or id[:12]
    health = monitor_options.merge_health(cfg.get("Healthcheck"), flags.pop("health"))
    return ContainerSpec(
        id=id, bundle=str(bundle), snapshots_root=str(snapshots_root), lowerdirs=tuple(lowerdirs),
        args=tuple(resolve_command(cfg, options.entrypoint, options.command)),
        env=merge_env([*([f"HOSTNAME={hostname}"] if run_env else ()), *(cfg.get("Env") or ())],
                      options.environment),
        cwd=options.working_dir or cfg.get("WorkingDir") or "/",
        user=options.user if options.user is not None else cfg.get("User") or "",
        hostname=hostname, privileged=options.privileged, readonly_rootfs=options.read_only,
        netns=netns_for(options.network) if netns is None else netns,
        mounts=tuple(parse_mount(m) for m in mounts) + _shm(options.shm_size), tty=options.tty,
        stdin=options.stdin_open, init=options.init, on_exit=tuple(on_exit), owner=owner,
        dns_resolver=dns_resolver,
        stop_signal=flags.pop("stop_signal") or cfg.get("StopSignal") or "SIGTERM",
        extra_hosts=_host_gateway(flags.pop("extra_hosts"), gateway),
        healthcheck=monitor_options.healthcheck(health) if run_env else None,
        console_size=options.console_size, **flags)


def settings(options) -> dict:
    """The spec's fields that come from the flags alone, every one checked with Docker's
    words: limits, capabilities, --security-opt, devices, rlimits (none given: the engine's
    own), /etc/hosts and resolv.conf, sysctls, groups, the stop signal, what the monitor does
    (restart policy, log rotation; "health": the user's health check, in Docker's keys, for
    to_spec to put over the image's). Create calls it before it makes anything, so a typo
    costs no name, veth or volume."""
    if options.hostname and not _HOSTNAME.fullmatch(options.hostname):
        raise InvalidArgument(f"invalid hostname format: {options.hostname}")
    restart, restart_max = monitor_options.restart_policy(options.restart_policy)
    if options.auto_remove and restart != "no":
        raise InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    log_driver, log_max_size, log_max_file = monitor_options.log_config(options.log_driver,
                                                                         options.log_opts)
    memory = parse_memory(options.memory) if options.memory else 0
    reservation = parse_memory(options.memory_reservation, minimum=0) \
        if options.memory_reservation else 0
    if memory and reservation > memory:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation "
                              "limit, see usage")
    no_new_privs, seccomp = parse_security_opt(options.security_opt)
    return dict(
        caps=caps(("ALL",) if options.privileged else options.cap_add, options.cap_drop),
        devices=tuple(parse_device(d) for d in options.devices), memory=memory,
        memory_swap=parse_memory_swap(options.memory_swap, memory),
        cpus=parse_cpus(options.cpus) if options.cpus else 0.0,
        # Docker: 0 or any negative value means unlimited
        pids_limit=max(options.pids_limit or 0, 0), rlimits=parse_rlimits(options.ulimits),
        cpu_shares=parse_cpu_shares(options.cpu_shares),
        cpuset_cpus=parse_cpuset(options.cpuset_cpus), memory_reservation=reservation,
        oom_kill_disable=bool(options.oom_kill_disable) and not cgroups.is_v2(),
        no_new_privs=no_new_privs, seccomp=seccomp,
        extra_hosts=parse_extra_hosts(options.extra_hosts), dns=parse_dns(options.dns),
        dns_search=tuple(options.dns_search), dns_options=tuple(options.dns_opt),
        sysctls=parse_sysctls(options.sysctls, options.network),
        group_add=tuple(str(g) for g in options.group_add),
        stop_signal=parse_signal(options.stop_signal) if options.stop_signal else None,
        restart=restart, restart_max=restart_max, log_driver=log_driver,
        log_max_size=log_max_size, log_max_file=log_max_file,
        health=monitor_options.health_config(options.healthcheck))


def _shm(value) -> tuple[Mount, ...]:
    """--shm-size: a /dev/shm of that size over the runtime's default 64 MiB one."""
    if value in (None, ""):
        return ()
    return (Mount("tmpfs", "shm", "/dev/shm", data=f"mode=1777,size={shm_bytes(value)}"),)


def _host_gateway(extra_hosts, gateway: str | None) -> tuple:
    """--add-host NAME:host-gateway: the address the host has on the container's network."""
    if not any(address == "host-gateway" for _, address in extra_hosts):
        return extra_hosts
    if not gateway:
        raise InvalidArgument("--add-host host-gateway needs a bridge network to name the "
                              "host's address on")
    return tuple((n, gateway if a == "host-gateway" else a) for n, a in extra_hosts)


def parse_signal(value) -> str:
    """--stop-signal: "TERM", "SIGUSR1", "9" -> the signal's name ("SIGTERM"); Docker's error
    for anything else, at create time rather than when the container is stopped."""
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


def parse_links(items) -> tuple[tuple[str, str], ...]:
    """--link "db:database" (or "db", its own alias) -> (target, alias) pairs."""
    out = []
    for item in items:
        target, _, alias = item.partition(":")
        target, alias = target.lstrip("/"), alias or target.lstrip("/")
        if not target or not alias or "/" in alias:
            raise InvalidArgument(f'invalid argument "{item}" for "--link" flag: '
                                  "expected CONTAINER[:ALIAS]")
        out.append((target, alias))
    return tuple(out)


def parse_dns(servers) -> tuple[str, ...]:
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
