"""The create stage: image config + RunOptions -> container record + runtime spec + bundle.

Everything made here is undone if a later step fails: the name, the network endpoint, the
bundle; and after a kill, by the next engine use, from the intent recorded first. Nothing runs
yet; `Containers.start` starts the monitor; `Containers.create_from` makes the Container of
the record.
"""
import os
import shutil
import sys

from . import intents
from .endpoints import join as join_network, refresh_hosts
from .errors import Conflict, DockyardError, InvalidArgument, VolumeNotFound
from .network.dns import wants_embedded
from .options import RunOptions
from .runtime import cgroups, convert
from .runtime.monitor_options import health_config, merge_health
from .runtime.resources import shm_bytes
from .storage import atomic_write_json, now_rfc3339


def create_container(engine, options: RunOptions) -> tuple[dict, list[str]]:
    """The new container's record (its container.json) and what Docker warns about."""
    cgroups.warm_up()           # the start that usually follows joins a cgroup sooner
    # Flags are checked before anything is made: a typo costs no name, veth or volume.
    convert.settings(options)
    convert.parse_links(options.links)
    _check_container_network(options)
    exposed = convert.parse_expose(options.expose)
    image = engine.images.get_or_pull(options.image, options.pull,
                                      platform=options.platform)
    cid = os.urandom(32).hex()
    with intents.held(engine.root, cid, "create") as intent:
        return _create(engine, options, image, cid, intent, exposed)


def _create(engine, options, image, cid, intent, exposed) -> tuple[dict, list[str]]:
    """create_container's steps, each undone when a later one fails."""
    undo = []
    try:
        name = engine.containers.reserve_name(options.name, cid)
        undo.append(lambda: os.unlink(engine.containers.names_dir / name))
        hostname = _hostname(engine, options, cid)
        netns, endpoints, ports = _network(engine, cid, name, hostname, options, image, undo)
        _check_legacy_links(engine, options, endpoints)
        mounts = _mounts(engine, image, options, undo)
        anonymous = [m.source for m in mounts if _is_anonymous(engine, m)]
        if anonymous:
            intent.note(volumes=[engine.volumes.name_of(s) for s in anonymous])
        spec = convert.to_spec(
            image.config, options, id=cid, bundle=str(engine.root / "containers" / cid),
            snapshots_root=str(engine.store.snapshots_root),
            lowerdirs=engine.store.lowerdirs(image), hostname=hostname, netns=netns,
            mounts=mounts, on_exit=_on_exit(engine, cid) if options.auto_remove or endpoints
            else (), gateway=next((e["Gateway"] for e in endpoints.values() if e.get("Gateway")),
                                  None),
            dns_resolver=_embedded_dns(engine, endpoints, options.dns))
        engine.runtime.create(spec)     # leaves nothing behind if it fails
        undo.append(lambda: engine.runtime.remove(spec.bundle))
        _share_resolv_conf(engine, options, engine.root / "containers" / cid)
        record = _record(name, image, options, spec, exposed,
                         mounts=[_mount_record(engine, m) for m in mounts],
                         endpoints=endpoints, ports=ports)
        atomic_write_json(engine.root / "containers" / cid / "container.json", record)
        if endpoints:
            refresh_hosts(engine)
        return record, _warnings(options)
    except BaseException:
        for step in reversed(undo):
            try:
                step()
            except (OSError, DockyardError):    # the first error is the one to report
                pass
        raise


def _record(name, image, options, spec, exposed, *, mounts, endpoints, ports) -> dict:
    """container.json: Docker's Config and HostConfig of the container, from its spec."""
    image_config = image.config.get("config") or {}
    health = merge_health(image_config.get("Healthcheck"), health_config(options.healthcheck))
    return {
        "Id": spec.id, "Name": "/" + name, "Created": now_rfc3339(),
        "Image": image.id, "ImageRef": options.image,
        "Path": spec.args[0], "Args": list(spec.args[1:]),
        "Config": {
            "Hostname": spec.hostname, "User": spec.user, "Env": list(spec.env),
            "Cmd": list(options.command) if options.command is not None
            else image_config.get("Cmd"),
            "Entrypoint": list(options.entrypoint) if options.entrypoint is not None
            else image_config.get("Entrypoint"),
            "WorkingDir": spec.cwd, "Labels": {**(image_config.get("Labels") or {}),
                                               **options.labels},
            "Tty": options.tty, "OpenStdin": options.stdin_open, "Image": options.image,
            "ExposedPorts": {**(image_config.get("ExposedPorts") or {}), **exposed},
            "Volumes": image_config.get("Volumes"),
            "StopSignal": spec.stop_signal if options.stop_signal
            or image_config.get("StopSignal") else None,
            "StopTimeout": options.stop_timeout,
            # Docker's merge of the --health-* flags over the image's HEALTHCHECK
            **({"Healthcheck": health} if health else {}),
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
            "DnsOptions": list(spec.dns_options),
            "Links": [f"/{t}:/{name}/{a}" for t, a in convert.parse_links(options.links)]
            or None, "ShmSize": shm_bytes(options.shm_size),
            "RestartPolicy": {"Name": spec.restart, "MaximumRetryCount": spec.restart_max},
            "LogConfig": {"Type": spec.log_driver, "Config": dict(options.log_opts)},
            "ConsoleSize": list(options.console_size or (0, 0)),
            "Sysctls": dict(spec.sysctls), "GroupAdd": list(spec.group_add) or None,
            "OomKillDisable": spec.oom_kill_disable, "CpuShares": spec.cpu_shares,
            "CpusetCpus": spec.cpuset_cpus, "MemoryReservation": spec.memory_reservation,
            "Devices": [{"PathOnHost": host, "PathInContainer": d.path,
                         "CgroupPermissions": d.access}
                        for host, d in zip((o.split(":")[0] for o in options.devices),
                                           spec.devices)],
        },
        "Mounts": mounts, "Endpoints": endpoints, "Ports": ports,
    }


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
    return join_network(engine, cid, name, hostname, options, image)


def _embedded_dns(engine, endpoints, dns_servers) -> bool:
    """Whether the container gets the embedded DNS server: on a user-defined network, as in
    Docker (the default bridge resolves no names), unless --dns names its own loopback."""
    return (any(not engine.networks.is_default(n) for n in endpoints)
            and wants_embedded(dns_servers))


def _check_container_network(options) -> None:
    """--network container:X takes X's resolv.conf and names: Docker refuses flags that would
    change them, in its words."""
    if not (options.network or "").startswith("container:"):
        return
    if options.dns or options.dns_search or options.dns_opt:
        raise InvalidArgument("conflicting options: dns and the network mode")
    if options.extra_hosts:
        raise InvalidArgument("conflicting options: custom host-to-IP mapping and the network mode")
    if options.links:
        raise InvalidArgument("conflicting options: container type network can't be used "
                              "with links. This would result in undefined behavior")


def _share_resolv_conf(engine, options, bundle) -> None:
    """--network container:X: X's resolv.conf, as Docker shares it, so names resolve at X's
    127.0.0.11 (its server answers in the namespace they share)."""
    if (options.network or "").startswith("container:"):
        other = engine.containers.get(options.network.split(":", 1)[1])
        shutil.copyfile(other.bundle / "resolv.conf", bundle / "resolv.conf")


def _check_legacy_links(engine, options, endpoints) -> None:
    """--link on the default bridge needs its target to exist (Docker's legacy links); on a
    user network the alias answers whatever the name does, whenever it does."""
    if options.links and not any(not engine.networks.is_default(n) for n in endpoints):
        for target, _ in convert.parse_links(options.links):
            engine.containers.get(target)


def _warnings(options) -> list[str]:
    """What Docker's create answers with Warnings: accepted, but maybe not what was meant."""
    found = []
    if options.oom_kill_disable and cgroups.is_v2():
        found.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
    elif options.oom_kill_disable and not options.memory:
        found.append("Disabling the OOM killer on containers without setting a '-m/--memory' "
                     "limit may be dangerous.")
    return found


def _on_exit(engine, cid) -> tuple[str, ...]:
    """What the monitor execs after the exit: give the network back, or remove the container
    (`run -d --rm`); reap.py. Skipped while an engine waits for the exit itself."""
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
