"""The create stage: image config + RunOptions -> container record + runtime spec + bundle.

Everything made here is undone if a later step fails: the name, the network endpoint, the
bundle; and after a kill, by the next engine use, from the intent recorded first. Nothing runs
yet; `Containers.start` starts the monitor.
"""
import os

from . import intents
from .containers import Container
from .errors import Conflict, DockyardError, ImageNotFound, InvalidArgument
from .options import RunOptions
from .runtime import cgroups, convert, devices, process
from .runtime.spec import ContainerSpec
from .storage import atomic_write_json, now_rfc3339


def create_container(engine, options: RunOptions) -> Container:
    cgroups.warm_up()           # the start that usually follows joins a cgroup sooner
    # Flags are checked before anything is made: a typo costs no name, veth or volume.
    limits = _limits(options)
    host = _host_options(options)
    stop_signal = convert.parse_signal(options.stop_signal) if options.stop_signal else None
    exposed = convert.parse_expose(options.expose)
    if options.log_driver not in ("json-file", "none"):
        raise InvalidArgument(f'logging driver "{options.log_driver}" is not supported here '
                              "(json-file or none)")
    image = resolve_image(engine, options.image, options.pull, platform=options.platform)
    cid = os.urandom(32).hex()
    with intents.held(engine.root, cid, "create") as intent:
        return _create(engine, options, image, cid, intent, limits=limits, host=host,
                       stop_signal=stop_signal, exposed=exposed)


def _create(engine, options, image, cid, intent, *, limits, host, stop_signal,
            exposed) -> Container:
    """create_container's steps, each undone when a later one fails."""
    undo = []
    try:
        name = engine.containers.reserve_name(options.name, cid)
        undo.append(lambda: os.unlink(engine.containers.names_dir / name))
        bundle = engine.root / "containers" / cid
        image_config = image.config.get("config") or {}
        args = convert.resolve_command(image_config, options.entrypoint, options.command)
        hostname = _hostname(engine, options, cid)
        env = convert.merge_env([f"HOSTNAME={hostname}", *(image_config.get("Env") or [])],
                                options.environment)
        netns, endpoints, ports = _network(engine, cid, name, hostname, options, image, undo)
        host["extra_hosts"] = _host_gateway(host["extra_hosts"], endpoints)
        mounts = _mounts(engine, image, options, undo)
        anonymous = [m.source for m in mounts if _is_anonymous(engine, m)]
        if anonymous:
            intent.note(volumes=[engine.volumes.name_of(s) for s in anonymous])
        spec = ContainerSpec(
            id=cid, bundle=str(bundle),
            snapshots_root=str(engine.store.snapshots_root),
            lowerdirs=tuple(engine.store.lowerdirs(image)),
            args=tuple(args), env=tuple(env),
            cwd=options.working_dir or image_config.get("WorkingDir") or "/",
            user=options.user if options.user is not None else image_config.get("User") or "",
            hostname=hostname, privileged=options.privileged, readonly_rootfs=options.read_only,
            netns=netns, mounts=tuple(mounts + _shm(options.shm_size)), tty=options.tty,
            stdin=options.stdin_open, init=options.init, **limits, **host,
            stop_signal=stop_signal or image_config.get("StopSignal") or "SIGTERM",
            on_exit=_on_exit(engine, cid) if options.auto_remove or endpoints else (),
        )
        process.create(spec)        # leaves nothing behind if it fails
        undo.append(lambda: process.remove(bundle))
        record = {
            "Id": cid, "Name": "/" + name, "Created": now_rfc3339(),
            "Image": image.id, "ImageRef": options.image,
            "Path": args[0], "Args": list(args[1:]),
            "Config": {
                "Hostname": hostname, "User": spec.user, "Env": list(env), "Cmd": list(
                    options.command) if options.command is not None else image_config.get("Cmd"),
                "Entrypoint": list(options.entrypoint) if options.entrypoint is not None
                else image_config.get("Entrypoint"),
                "WorkingDir": spec.cwd, "Labels": {**(image_config.get("Labels") or {}),
                                                   **options.labels},
                "Tty": options.tty, "OpenStdin": options.stdin_open, "Image": options.image,
                "ExposedPorts": {**(image_config.get("ExposedPorts") or {}), **exposed},
                "Volumes": image_config.get("Volumes"),
                "StopSignal": stop_signal or image_config.get("StopSignal"),
                "StopTimeout": options.stop_timeout,
            },
            "HostConfig": {
                "AutoRemove": options.auto_remove, "NetworkMode": options.network or "default",
                "Memory": spec.memory or 0, "MemorySwap": spec.memory_swap or 0,
                "NanoCpus": int((spec.cpus or 0) * 1e9), "PidsLimit": spec.pids_limit,
                "CapAdd": list(options.cap_add), "CapDrop": list(options.cap_drop),
                "Privileged": options.privileged, "ReadonlyRootfs": options.read_only,
                "SecurityOpt": list(options.security_opt), "Init": options.init,
                "Binds": list(options.volumes), "Tmpfs": list(options.tmpfs),
                "PortBindings": list(options.ports), "PublishAllPorts": options.publish_all,
                "VolumesFrom": list(options.volumes_from),
                "ExtraHosts": [f"{n}:{a}" for n, a in spec.extra_hosts] or None,
                "Dns": list(spec.dns), "DnsSearch": list(spec.dns_search),
                "DnsOptions": list(spec.dns_options), "ShmSize": _shm_bytes(options.shm_size),
                "LogConfig": {"Type": options.log_driver, "Config": {}},
                "Sysctls": dict(spec.sysctls), "GroupAdd": list(spec.group_add) or None,
                "OomKillDisable": spec.oom_kill_disable, "CpuShares": spec.cpu_shares,
                "CpusetCpus": spec.cpuset_cpus, "MemoryReservation": spec.memory_reservation,
                "Devices": [{"PathOnHost": host, "PathInContainer": d.path,
                             "CgroupPermissions": d.access}
                            for host, d in zip((o.split(":")[0] for o in options.devices),
                                               spec.devices)],
            },
            "Mounts": [_mount_record(engine, m) for m in mounts],
            "Endpoints": endpoints, "Ports": ports,
        }
        atomic_write_json(bundle / "container.json", record)
        if endpoints:
            from .endpoints import refresh_hosts
            refresh_hosts(engine)
        container = Container(engine, record)
        container.warnings = _warnings(options)
        container.emit("create")
        return container
    except BaseException:
        for step in reversed(undo):
            try:
                step()
            except (OSError, DockyardError):    # the first error is the one to report
                pass
        raise


def resolve_image(engine, ref: str, pull: str = "missing", on_event=None, platform=None):
    """The image to run: local, or pulled as `docker run --pull` says (missing|always|never);
    with `platform` ("linux/arm64") a local image for another platform is pulled again."""
    if pull == "always":
        return engine.images.pull(ref, platform=platform, on_event=on_event)
    try:
        image = engine.images.get(ref)
    except ImageNotFound as missing:
        if pull == "never" or _looks_like_an_id(ref):
            raise
        try:
            return engine.images.pull(ref, platform=platform, on_event=on_event)
        except DockyardError as exc:
            raise ImageNotFound(f"{missing}, and pulling it failed: {exc}") from None
    if platform and _platform_of(image) != _normal_platform(platform):
        if pull == "never" or _looks_like_an_id(ref):
            raise ImageNotFound(
                f"image with reference {ref} was found but does not match the specified "
                f"platform: wanted {_normal_platform(platform)}, actual: {_platform_of(image)}")
        return engine.images.pull(ref, platform=platform, on_event=on_event)
    return image


def _platform_of(image) -> str:
    config = image.config
    return "/".join(p for p in (config.get("os") or "linux", config.get("architecture") or "",
                                config.get("variant") or "") if p)


def _normal_platform(platform: str) -> str:
    """"amd64" -> "linux/amd64"; "linux/arm64/v8" stays."""
    return platform if "/" in platform else f"linux/{platform}"


def _looks_like_an_id(ref: str) -> bool:
    hexpart = ref.removeprefix("sha256:")
    return ref.startswith("sha256:") or (len(hexpart) >= 12 and all(
        c in "0123456789abcdef" for c in hexpart))


def _hostname(engine, options, cid) -> str:
    """--hostname; the host's with --network host; the other's with --network container:X
    (they share one network, so one name, as Docker does); else the short id."""
    mode = options.network or ""
    if mode.startswith("container:"):
        if options.hostname:
            raise InvalidArgument("conflicting options: hostname and the network mode")
        return engine.containers.get(mode.split(":", 1)[1]).record["Config"]["Hostname"]
    return options.hostname or (os.uname().nodename if mode == "host" else cid[:12])


def _is_anonymous(engine, mount) -> bool:
    from .errors import VolumeNotFound
    name = engine.volumes.name_of(mount.source) if mount.type == "bind" else None
    try:
        return bool(name) and engine.volumes.get(name).anonymous
    except VolumeNotFound:
        return False


def _network(engine, cid, name, hostname, options, image, undo):
    """(netns for the spec, endpoint records, published ports)."""
    mode = options.network or engine.default_network()
    if mode == "none":
        return "", {}, {}
    if mode == "host":
        return "host", {}, {}
    if mode.startswith("container:"):
        other = engine.containers.get(mode.split(":", 1)[1])
        if other.status != "running":
            raise Conflict(f"cannot join network of a non running container: {other.name}")
        return f"/proc/{other.state.pid}/ns/net", {}, {}
    undo.append(lambda: engine.networks.release(cid))
    from .endpoints import join
    return join(engine, cid, name, hostname, options, image)


def _limits(options) -> dict:
    """The cgroup and rlimit fields of the spec, checked with Docker's messages."""
    memory = convert.parse_memory(options.memory) if options.memory else 0
    reservation = convert.parse_memory(options.memory_reservation, minimum=0) \
        if options.memory_reservation else 0
    if memory and reservation > memory:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation "
                              "limit, see usage")
    limits = dict(
        caps=convert.caps(("ALL",) if options.privileged else options.cap_add, options.cap_drop),
        devices=tuple(devices.parse_device(d) for d in options.devices), memory=memory,
        memory_swap=_memory_swap(options.memory_swap, memory),
        cpus=convert.parse_cpus(options.cpus) if options.cpus else 0.0,
        # Docker: 0 or any negative value means unlimited
        pids_limit=max(options.pids_limit or 0, 0), rlimits=convert.parse_rlimits(options.ulimits),
        cpu_shares=convert.parse_cpu_shares(options.cpu_shares),
        cpuset_cpus=convert.parse_cpuset(options.cpuset_cpus), memory_reservation=reservation,
        oom_kill_disable=bool(options.oom_kill_disable) and not cgroups.is_v2())
    limits["no_new_privs"], limits["seccomp"] = convert.parse_security_opt(options.security_opt)
    return limits


def _warnings(options) -> list[str]:
    """What Docker's create answers with Warnings: accepted, but maybe not what was meant."""
    found = []
    if options.oom_kill_disable and cgroups.is_v2():
        found.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
    elif options.oom_kill_disable and not options.memory:
        found.append("Disabling the OOM killer on containers without setting a '-m/--memory' "
                     "limit may be dangerous.")
    return found


def _host_options(options) -> dict:
    """/etc/hosts, resolv.conf, sysctls and groups of the spec, checked before anything is made."""
    return dict(extra_hosts=convert.parse_extra_hosts(options.extra_hosts),
                dns=convert.parse_dns(options.dns), dns_search=tuple(options.dns_search),
                dns_options=tuple(options.dns_opt),
                sysctls=convert.parse_sysctls(options.sysctls, options.network),
                group_add=tuple(str(g) for g in options.group_add))


def _host_gateway(extra_hosts, endpoints) -> tuple:
    """--add-host NAME:host-gateway: the address the host has on the container's network."""
    if not any(address == "host-gateway" for _, address in extra_hosts):
        return extra_hosts
    gateway = next((e.get("Gateway") for e in endpoints.values() if e.get("Gateway")), None)
    if not gateway:
        raise InvalidArgument("--add-host host-gateway needs a bridge network to name the "
                              "host's address on")
    return tuple((n, gateway if a == "host-gateway" else a) for n, a in extra_hosts)


def _shm_bytes(value) -> int:
    return convert.parse_memory(value, minimum=1) if value not in (None, "") else 64 << 20


def _shm(value) -> list:
    """--shm-size: a /dev/shm of that size over the runtime's default 64 MiB one."""
    if value in (None, ""):
        return []
    from .runtime.spec import Mount
    return [Mount("tmpfs", "shm", "/dev/shm", data=f"mode=1777,size={_shm_bytes(value)}")]


def _memory_swap(value, memory: int) -> int:
    """--memory-swap: total of memory and swap; -1 unlimited; unset: Docker's default."""
    if value in (None, "", 0, "0"):
        return 0
    swap = -1 if str(value) == "-1" else convert.parse_memory(value, minimum=0)
    if not memory:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap "
                              "limit, see usage")
    if swap != -1 and swap < memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, "
                              "see usage")
    return swap


def _on_exit(engine, cid) -> tuple[str, ...]:
    """What the monitor execs after the exit: give the network back, or remove the container
    (`run -d --rm`); reap.py. Skipped while an engine waits for the exit itself."""
    import sys
    return (sys.executable, "-m", "dockyard.engine.reap", str(engine.root), cid)


def _mounts(engine, image, options, undo) -> list:
    """-v, --mount, --tmpfs, --volumes-from and the image's VOLUMEs as runtime mounts."""
    if not (options.volumes or options.mounts or options.tmpfs or options.volumes_from
            or (image.config.get("config") or {}).get("Volumes")):
        return []       # the common case costs no import of the volume store
    mounts, _, unmake = engine.volumes.resolve_for(image, options)
    undo.append(unmake)
    return list(mounts)


def _mount_record(engine, mount) -> dict:
    name = engine.volumes.name_of(mount.source) if mount.type == "bind" else None
    return {"Type": "volume" if name else mount.type, "Name": name, "Source": mount.source,
            "Destination": mount.target, "RW": not mount.readonly}
