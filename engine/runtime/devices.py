"""The devices a container may use: Docker's rules, --device, and how the kernel gets them.

    rules = default_rules() + device_rules(devices)      # ("c", 1, 3, "rwm"), ("b", None, None, "m")
    program(rules)                # eBPF for a cgroup v2 BPF_PROG_TYPE_CGROUP_DEVICE program
    v1_writes(rules)              # devices.deny / devices.allow lines for a v1 devices cgroup

Docker 20.10 with runc 1.1: deny everything, then allow mknod of any char or block device
(opening a block device stays denied), null, zero, full, random, urandom, tty, console, ptmx
and /dev/pts/*. FUSE (10:229) is denied as Docker's oci/defaults.go does, and runc's tun/tap
(10:200) is left out, as runc 1.2 does. --privileged allows every device.
"""
import os
import stat
import struct
from dataclasses import dataclass

from ..errors import InvalidArgument

Rule = tuple[str, int | None, int | None, str]    # type c|b, major, minor (None: any), "rwm"

DEFAULT_RULES: tuple[Rule, ...] = (
    ("c", None, None, "m"), ("b", None, None, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"),
    ("c", 1, 9, "rwm"), ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"),
    ("c", 136, None, "rwm"))


@dataclass(frozen=True)
class Device:
    """--device HOST[:CONTAINER[:rwm]]: a node made in the container's /dev and allowed."""

    path: str            # in the container, under /dev
    type: str            # "c" | "b"
    major: int
    minor: int
    access: str = "rwm"
    mode: int = 0o600
    uid: int = 0
    gid: int = 0

    @property
    def rule(self) -> Rule:
        return (self.type, self.major, self.minor, self.access)


def parse_device(value: str) -> Device:
    """Docker's --device syntax; the host path must be a char or block device node."""
    parts = value.split(":")
    if len(parts) > 3 or not parts[0]:
        raise InvalidArgument(f"invalid device specification: {value}")
    host = parts[0]
    target = parts[1] if len(parts) > 1 and parts[1] else host
    access = parts[2] if len(parts) > 2 else "rwm"
    if len(parts) == 2 and parts[1] and set(parts[1]) <= set("rwm"):   # HOST:rwm
        target, access = host, parts[1]
    if not access or set(access) - set("rwm") or len(set(access)) != len(access):
        raise InvalidArgument(f"invalid device mode: {access} (in --device {value})")
    try:
        st = os.stat(host)
    except OSError as exc:
        raise InvalidArgument(f"error gathering device information while adding custom device "
                              f"{host!r}: {exc.strerror.lower()}") from None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise InvalidArgument(f"--device {value}: {host} is not a character or block device")
    norm = os.path.normpath(target)
    if not norm.startswith("/dev/") or ".." in norm.split("/"):
        raise InvalidArgument(f"--device {value}: the path in the container must be under /dev")
    return Device(norm, "c" if stat.S_ISCHR(st.st_mode) else "b", os.major(st.st_rdev),
                  os.minor(st.st_rdev), "".join(c for c in "rwm" if c in access),
                  stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def rules_for(devices=(), *, privileged: bool = False) -> tuple[Rule, ...] | None:
    """Docker's rules plus one per --device; None means every device (privileged)."""
    if privileged:
        return None
    return DEFAULT_RULES + tuple(d.rule for d in devices)


def v1_writes(rules) -> list[tuple[str, str]]:
    """(file, value) for a v1 devices cgroup, in order: deny all, then allow each rule."""
    def one(rule):
        kind, major, minor, access = rule
        return f"{kind} {'*' if major is None else major}:{'*' if minor is None else minor} {access}"
    return [("devices.deny", "a"), *(("devices.allow", one(r)) for r in rules)]


# eBPF, as runc's devicefilter: ctx is struct bpf_cgroup_dev_ctx {u32 access_type (access << 16
# | type); u32 major; u32 minor}; return 1 to allow.
_TYPES = {"b": 1, "c": 2}                     # BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
_ACCESS = {"m": 1, "r": 2, "w": 4}            # BPF_DEVCG_ACC_MKNOD, READ, WRITE
LDX_W, AND32_K, RSH32_K, MOV64_K, MOV64_X, JNE_K, EXIT = 0x61, 0x54, 0x74, 0xB7, 0xBF, 0x55, 0x95


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, src << 4 | dst, off, imm)


def program(rules) -> bytes:
    """A BPF_PROG_TYPE_CGROUP_DEVICE program allowing exactly `rules`, denying the rest."""
    out = [_insn(LDX_W, 2, 1, 0), _insn(AND32_K, 2, imm=0xFFFF),      # r2 = type
           _insn(LDX_W, 3, 1, 0), _insn(RSH32_K, 3, imm=16),          # r3 = access
           _insn(LDX_W, 4, 1, 4), _insn(LDX_W, 5, 1, 8)]              # r4 = major, r5 = minor
    for kind, major, minor, access in rules:
        # ("test", reg, value): on mismatch jump past this rule; ("raw", insn) as it is
        seq = [("test", 2, _TYPES[kind])]
        mask = sum(_ACCESS[c] for c in access)
        if mask != 7:     # every access asked for must be allowed: (access & ~mask) == 0
            seq += [("raw", _insn(MOV64_X, 1, 3)), ("raw", _insn(AND32_K, 1, imm=~mask & 7)),
                    ("test", 1, 0)]
        seq += [("test", 4, major)] if major is not None else []
        seq += [("test", 5, minor)] if minor is not None else []
        seq += [("raw", _insn(MOV64_K, 0, imm=1)), ("raw", _insn(EXIT))]
        for i, (kind_, a, *b) in enumerate(seq):
            out.append(a if kind_ == "raw" else _insn(JNE_K, a, off=len(seq) - i - 1, imm=b[0]))
    out += [_insn(MOV64_K, 0, imm=0), _insn(EXIT)]
    return b"".join(out)
