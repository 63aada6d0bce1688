"""A container's directory (bundle): made by create(), read back by everything else.

    <bundle>/spec         key\\0value\\0 pairs for the shim (repeated keys are lists)
    <bundle>/init/        the init layer: mount points proc, sys, dev, etc/{hostname,hosts,resolv.conf}
    <bundle>/upper, work  the container's writable overlay layer; merged/ is the mount point
    <bundle>/hostname, hosts, resolv.conf   bound over /etc/... (the engine may edit them in place)
    <bundle>/state.json, health.json, container.log[.N]   written by the monitor
    <bundle>/manually-stopped   made by stop and kill: the monitor restarts it no more
"""
import os
import shutil

from ..errors import Conflict, InvalidArgument
from . import cgroups, devices, seccomp
from .convert import RLIMITS
from .spec import ContainerSpec

HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n")


def resolv_conf(host: str = "/etc/resolv.conf") -> str:
    """The host's resolv.conf without loopback servers, which a container can't reach."""
    try:
        with open(host) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    lines = [line for line in lines if not (line.split()[:1] == ["nameserver"] and len(line.split()) > 1
                                            and line.split()[1].startswith(("127.", "::1")))]
    if not any(line.startswith("nameserver") for line in lines):
        lines += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    return "\n".join(lines) + "\n"


def hosts_for(spec: ContainerSpec) -> str:
    if spec.netns == "host":
        try:
            with open("/etc/hosts") as f:
                return f.read()
        except OSError:
            pass
    return HOSTS   # the network module adds the container's address when it attaches one


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
    pairs += [("on_exit", a) for a in spec.on_exit]
    pairs += monitor_pairs(spec)
    if not spec.privileged:     # --privileged: no seccomp, every device (as Docker)
        cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(spec.bundle))), "seccomp")
        pairs.append(("seccomp", seccomp.program_hex(spec.seccomp, spec.caps, cache)))
    for d in spec.devices:
        pairs.append(("device", "\n".join((d.path, d.type, str(d.major), str(d.minor),
                                            f"{d.mode:o}", str(d.uid), str(d.gid)))))
    pairs += cgroups.plan(spec.id, memory=spec.memory, memory_swap=spec.memory_swap,
                          cpus=spec.cpus, pids=spec.pids_limit, root=cgroup_root, v2=cgroup_v2,
                          devices=devices.rules_for(spec.devices, privileged=spec.privileged))
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
        pairs.append(("console_size", "%d %d" % spec.console_size))
    return pairs


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
                 "resolv.conf": resolv_conf()}
        for name, text in files.items():
            with open(f"{d}/{name}", "w") as f:
                f.write(text)
            open(f"{d}/init/etc/{name}", "w").close()   # mount point, outside the writable layer
        with open(f"{d}/spec", "wb") as f:
            f.write(encode_pairs(pairs))
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


def read_pairs(bundle: str) -> list[tuple[str, str]]:
    """The spec pairs written by write()."""
    with open(os.path.join(bundle, "spec"), "rb") as f:
        parts = f.read().split(b"\0")
    return [(parts[i].decode(), os.fsdecode(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]


def values(pairs, key: str) -> list[str]:
    return [v for k, v in pairs if k == key]
