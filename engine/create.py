"""The create stage: image config + RunOptions -> container record + runtime spec + bundle.

Everything made here is undone if a later step fails: the name, the network endpoint, the
bundle. Nothing runs yet; `Containers.start` starts the monitor.
"""
import os

from .containers import Container
from .errors import Conflict, DockyardError, ImageNotFound, InvalidArgument
from .options import RunOptions
from .runtime import cgroups, convert, devices, monitor_options, process
from .runtime.spec import ContainerSpec
from .storage import atomic_write_json, now_rfc3339


def create_container(engine, options: RunOptions) -> Container:
    cgroups.warm_up()           # the start that usually follows joins a cgroup sooner
    # Flags are checked before anything is made: a typo costs no name, veth or volume.
    limits = dict(
        caps=convert.caps(("ALL",) if options.privileged else options.cap_add, options.cap_drop),
        devices=tuple(devices.parse_device(d) for d in options.devices),
        memory=convert.parse_memory(options.memory) if options.memory else 0,
        memory_swap=_memory_swap(options.memory_swap),
        cpus=convert.parse_cpus(options.cpus) if options.cpus else 0.0,
        pids_limit=options.pids_limit or 0, rlimits=convert.parse_rlimits(options.ulimits))
    limits["no_new_privs"], limits["seccomp"] = convert.parse_security_opt(options.security_opt)
    watch = _monitor_options(options)
    image = resolve_image(engine, options.image, options.pull)
    cid = os.urandom(32).hex()
    undo = []
    try:
        name = engine.containers.reserve_name(options.name, cid)
        undo.append(lambda: os.unlink(engine.containers.names_dir / name))
        bundle = engine.root / "containers" / cid
        image_config = image.config.get("config") or {}
        args = convert.resolve_command(image_config, options.entrypoint, options.command)
        hostname = options.hostname or (os.uname().nodename if options.network == "host" else cid[:12])
        env = convert.merge_env([f"HOSTNAME={hostname}", *(image_config.get("Env") or [])],
                                options.environment)
        health = monitor_options.merge_health(image_config.get("Healthcheck"), watch.pop("health"))
        netns, endpoints, ports = _network(engine, cid, name, hostname, options, image, undo)
        mounts = _mounts(engine, image, options, undo)
        spec = ContainerSpec(
            id=cid, bundle=str(bundle),
            snapshots_root=str(engine.store.snapshots_root),
            lowerdirs=tuple(engine.store.lowerdirs(image)),
            args=tuple(args), env=tuple(env),
            cwd=options.working_dir or image_config.get("WorkingDir") or "/",
            user=options.user if options.user is not None else image_config.get("User") or "",
            hostname=hostname, privileged=options.privileged, readonly_rootfs=options.read_only,
            netns=netns, mounts=tuple(mounts), tty=options.tty, stdin=options.stdin_open,
            init=options.init, **limits,
            stop_signal=options.stop_signal or image_config.get("StopSignal") or "SIGTERM",
            on_exit=_on_exit(engine, cid) if options.auto_remove else (),
            healthcheck=monitor_options.healthcheck(health), console_size=options.console_size,
            **watch,
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
                "ExposedPorts": image_config.get("ExposedPorts") or {},
                "Volumes": image_config.get("Volumes"),
                "StopSignal": options.stop_signal or image_config.get("StopSignal"),
                "StopTimeout": options.stop_timeout,
                **({"Healthcheck": health} if health else {}),
            },
            "HostConfig": {
                "AutoRemove": options.auto_remove, "NetworkMode": options.network or "default",
                "RestartPolicy": {"Name": spec.restart, "MaximumRetryCount": spec.restart_max},
                "LogConfig": {"Type": spec.log_driver, "Config": dict(options.log_opts)},
                "ConsoleSize": list(options.console_size or (0, 0)),
                "Memory": spec.memory or 0, "MemorySwap": spec.memory_swap or 0,
                "NanoCpus": int((spec.cpus or 0) * 1e9), "PidsLimit": spec.pids_limit,
                "CapAdd": list(options.cap_add), "CapDrop": list(options.cap_drop),
                "Privileged": options.privileged, "ReadonlyRootfs": options.read_only,
                "SecurityOpt": list(options.security_opt), "Init": options.init,
                "Binds": list(options.volumes), "Tmpfs": list(options.tmpfs),
                "PortBindings": list(options.ports), "PublishAllPorts": options.publish_all,
                "VolumesFrom": list(options.volumes_from),
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
        return Container(engine, record)
    except BaseException:
        for step in reversed(undo):
            try:
                step()
            except (OSError, DockyardError):    # the first error is the one to report
                pass
        raise


def resolve_image(engine, ref: str, pull: str = "missing", on_event=None):
    """The image to run: local, or pulled as `docker run --pull` says (missing|always|never)."""
    if pull == "always":
        return engine.images.pull(ref, on_event=on_event)
    try:
        return engine.images.get(ref)
    except ImageNotFound as missing:
        if pull == "never" or _looks_like_an_id(ref):
            raise
        try:
            return engine.images.pull(ref, on_event=on_event)
        except DockyardError as exc:
            raise ImageNotFound(f"{missing}, and pulling it failed: {exc}") from None


def _looks_like_an_id(ref: str) -> bool:
    hexpart = ref.removeprefix("sha256:")
    return ref.startswith("sha256:") or (len(hexpart) >= 12 and all(
        c in "0123456789abcdef" for c in hexpart))


def _monitor_options(options: RunOptions) -> dict:
    """The spec's restart, log and (user's) health fields, checked as Docker checks them."""
    restart, restart_max = monitor_options.restart_policy(options.restart_policy)
    if options.auto_remove and restart != "no":
        raise InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    log_driver, log_max_size, log_max_file = monitor_options.log_config(options.log_driver,
                                                                         options.log_opts)
    return dict(restart=restart, restart_max=restart_max, log_driver=log_driver,
                log_max_size=log_max_size, log_max_file=log_max_file,
                health=monitor_options.health_config(options.healthcheck))


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


def _memory_swap(value) -> int:
    """--memory-swap: total of memory and swap; -1 unlimited; unset: Docker's default."""
    if value in (None, ""):
        return 0
    return -1 if str(value) == "-1" else convert.parse_memory(value, minimum=0)


def _on_exit(engine, cid) -> tuple[str, ...]:
    """`run -d --rm`: the monitor execs this after the exit to remove the container."""
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
