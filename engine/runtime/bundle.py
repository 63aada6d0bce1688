"""A container's directory (bundle): made by create(), read back by everything else.

    <bundle>/spec         key\\0value\\0 pairs for the shim (repeated keys are lists)
    <bundle>/init/        the init layer: mount points proc, sys, dev, etc/{hostname,hosts,resolv.conf}
    <bundle>/upper, work  the container's writable overlay layer; merged/ is the mount point
    <bundle>/hostname, hosts, resolv.conf   bound over /etc/... (the engine may edit them in place)
    <bundle>/dns-records  what the embedded DNS server answers (user networks; network/dns.py)
    <bundle>/state.json, health.json, container.log[.N]   written by the monitor
    <bundle>/manually-stopped   made by stop and kill: the monitor restarts it no more
    <bundle>/restart-policy     "NAME N" from `update --restart`, over the spec's policy
"""
import os
import shutil

from ..errors import Conflict, InvalidArgument
from ..network import dns
from . import cgroups, devices, seccomp
from .resources import RLIMITS
from .spec import ContainerSpec

HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n")


def resolv_conf(host: str = "/etc/resolv.conf", *, dns=(), search=(), options=()) -> str:
    """The host's resolv.conf without loopback servers, which a container can't reach; --dns,
    --dns-search and --dns-option replace the host's lines of their kind, as Docker's do."""
    try:
        with open(host) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    lines = [line for line in lines if not (line.split()[:1] == ["nameserver"] and len(line.split()) > 1
                                            and line.split()[1].startswith(("127.", "::1")))]
    for keyword, given in (("nameserver", dns), ("search", search), ("options", options)):
        if given:
            lines = [line for line in lines if line.split()[:1] != [keyword]]
            lines += [f"nameserver {d}" for d in given] if keyword == "nameserver" else \
                [f"{keyword} {' '.join(given)}"]
    if not any(line.startswith("nameserver") for line in lines):
        lines += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    return "\n".join(lines) + "\n"


def container_resolv_conf(spec: ContainerSpec) -> str:
    """The container's resolv.conf: the embedded DNS server's, or the host's (resolv_conf)."""
    if spec.dns_resolver:
        return dns.resolv_conf(search=spec.dns_search, options=spec.dns_options)
    return resolv_conf(dns=spec.dns, search=spec.dns_search, options=spec.dns_options)


def hosts_for(spec: ContainerSpec) -> str:
    """/etc/hosts: the host's with --network host, else the loopback lines; then --add-host."""
    text = HOSTS   # the network module adds the container's address when it attaches one
    if spec.netns == "host":
        try:
            with open("/etc/hosts") as f:
                text = f.read()
        except OSError:
            pass
    return text + extra_hosts_text(spec.extra_hosts)


def extra_hosts_text(extra_hosts) -> str:
    """--add-host lines: [("db", "10.0.0.5")] -> "10.0.0.5\tdb\n"."""
    return "".join(f"{address}\t{name}\n" for name, address in extra_hosts)


def spec_pairs(spec: ContainerSpec, *, cgroup_root: str = cgroups.ROOT,
               cgroup_v2: bool | None = None) -> list[tuple[str, str]]:
    """The shim's view of `spec`, in the order the shim applies it."""
    pairs = [("id", spec.id), ("bundle", spec.bundle), ("root", spec.snapshots_root or "/"),
             *(("lower", d) for d in spec.lowerdirs), *(("args", a) for a in spec.args),
             *(("env", e) for e in spec.env), ("cwd", spec.cwd), ("user", spec.user),
             ("hostname", spec.hostname or spec.id[:12]), ("caps", f"{spec.caps:x}"),
             ("nnp", _b(spec.no_new_privs)), ("privileged", _b(spec.privileged)),
             ("readonly", _b(spec.readonly_rootfs)), ("netns", spec.netns),
             ("tty", _b(spec.tty)), ("stdin", _b(spec.stdin)), ("init", _b(spec.init)),
             ("stop_signal", spec.stop_signal)]
    for m in spec.mounts:
        pairs.append(("mount", "\n".join((m.type, m.source, m.target, _b(m.readonly), m.data))))
    for name, soft, hard in spec.rlimits:
        pairs.append(("rlimit", f"{RLIMITS[name]} {soft} {hard}"))
    pairs += [("sysctl", f"{key}={value}") for key, value in spec.sysctls]
    pairs += [("group_add", g) for g in spec.group_add]
    pairs += [("on_exit", a) for a in spec.on_exit]
    if spec.owner:
        pairs.append(("owner", str(spec.owner)))
    if spec.dns_resolver:
        pairs.append(("dns_resolver", "1"))
    pairs += monitor_pairs(spec)
    if not spec.privileged:     # --privileged: no seccomp, every device (as Docker)
        cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(spec.bundle))), "seccomp")
        pairs.append(("seccomp", seccomp.program_hex(spec.seccomp, spec.caps, cache)))
    for d in spec.devices:
        pairs.append(("device", "\n".join((d.path, d.type, str(d.major), str(d.minor),
                                            f"{d.mode:o}", str(d.uid), str(d.gid)))))
    pairs += cgroup_plan(spec, root=cgroup_root, v2=cgroup_v2)
    for key, value in pairs:
        if "\0" in value:
            raise InvalidArgument(f"NUL byte in {key}: {value!r}")
    return pairs


def monitor_pairs(spec: ContainerSpec) -> list[tuple[str, str]]:
    """What the monitor does besides running the container: restart policy, log, health."""
    pairs = [("log_driver", spec.log_driver)]
    if spec.restart != "no":
        pairs += [("restart", spec.restart), ("restart_max", str(spec.restart_max))]
    if spec.log_max_size:
        pairs += [("log_max_size", str(spec.log_max_size)), ("log_max_file", str(spec.log_max_file))]
    check = spec.healthcheck
    if check and check.test and check.test[0] != "NONE":
        pairs += [("health_test", t) for t in check.test]
        pairs += [(f"health_{key}", str(getattr(check, key))) for key in
                  ("interval", "timeout", "start_period", "start_interval", "retries")
                  if getattr(check, key)]
    if spec.console_size:
        pairs.append(("winsize", "%d %d" % spec.console_size))     # the pty's, before exec
    return pairs


def cgroup_plan(spec: ContainerSpec, **where) -> list[tuple[str, str]]:
    """The cgroup part of the shim's pairs for `spec`'s limits."""
    return cgroups.plan(spec.id, memory=spec.memory, memory_swap=spec.memory_swap,
                        cpus=spec.cpus, pids=spec.pids_limit, cpu_shares=spec.cpu_shares,
                        cpuset_cpus=spec.cpuset_cpus, memory_reservation=spec.memory_reservation,
                        oom_kill_disable=spec.oom_kill_disable,
                        devices=devices.rules_for(spec.devices, privileged=spec.privileged),
                        **where)


def device_rules(pairs, accesses=()) -> tuple | None:
    """The device rules a bundle's spec was made with (None: privileged, every device);
    `accesses` are the --device permissions ("rwm"), in order, which the spec doesn't keep."""
    if values(pairs, "privileged") == ["1"]:
        return None
    found, accesses = [], list(accesses)
    for n, entry in enumerate(values(pairs, "device")):
        path, kind, major, minor = entry.split("\n")[:4]
        access = accesses[n] if n < len(accesses) else "rwm"
        found.append(devices.Device(path, kind, int(major), int(minor), access))
    return devices.rules_for(found)


def _b(value: bool) -> str:
    return "1" if value else "0"


def write(spec: ContainerSpec, **cgroup) -> None:
    """Make the bundle directory; nothing is left behind if any step fails."""
    if not spec.args:
        raise InvalidArgument("no command specified")
    pairs = spec_pairs(spec, **cgroup)
    d = spec.bundle
    try:
        os.makedirs(d)
    except FileExistsError:
        raise Conflict(f"container directory {d} already exists") from None
    try:
        for sub in ("upper", "work", "merged", "init/proc", "init/sys", "init/dev", "init/etc"):
            os.makedirs(f"{d}/{sub}")
        files = {"hostname": (spec.hostname or spec.id[:12]) + "\n", "hosts": hosts_for(spec),
                 "resolv.conf": container_resolv_conf(spec)}
        for name, text in files.items():
            with open(f"{d}/{name}", "w") as f:
                f.write(text)
            open(f"{d}/init/etc/{name}", "w").close()   # mount point, outside the writable layer
        if spec.dns_resolver:   # the engine fills it once the container is on its networks
            open(f"{d}/{dns.RECORDS}", "w").close()
        _write_pairs(d, pairs)
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise


def encode_pairs(pairs) -> bytes:
    """key\0value\0 ..., as the shim reads them."""
    return b"".join(k.encode() + b"\0" + os.fsencode(v) + b"\0" for k, v in pairs)


def pairs_memfd(pairs) -> int:
    """A memfd holding `pairs` (for the shim's exec), at offset 0; the caller closes it."""
    for key, value in pairs:
        if "\0" in value:
            raise InvalidArgument(f"NUL byte in {key}: {value!r}")
    fd = os.memfd_create("dockyard-exec-spec", os.MFD_CLOEXEC)
    try:
        data = memoryview(encode_pairs(pairs))
        while data:
            data = data[os.write(fd, data):]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_pairs(bundle: str, pairs) -> None:
    # Renamed into place: a start reading the spec sees the old pairs or the new ones.
    tmp = os.path.join(bundle, ".spec.tmp")
    with open(tmp, "wb") as f:
        f.write(encode_pairs(pairs))
    os.replace(tmp, os.path.join(bundle, "spec"))


# What cgroups.plan makes: the part of a spec that docker update replaces.
CGROUP_KEYS = ("cg_mkdir", "cg_set", "cg_try", "cg_devices", "cg_join", "cg_oom", "cgmount",
               "cg_rmdir")


def replace_cgroup_pairs(bundle: str, cgroup_pairs) -> None:
    """Swap the cgroup part of a bundle's spec (docker update): the next start uses it."""
    kept = [(k, v) for k, v in read_pairs(bundle) if k not in CGROUP_KEYS]
    _write_pairs(bundle, kept + list(cgroup_pairs))


def read_pairs(bundle: str) -> list[tuple[str, str]]:
    """The spec pairs written by write()."""
    with open(os.path.join(bundle, "spec"), "rb") as f:
        parts = f.read().split(b"\0")
    return [(parts[i].decode(), os.fsdecode(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]


def values(pairs, key: str) -> list[str]:
    return [v for k, v in pairs if k == key]
