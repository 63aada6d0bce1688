"""Docker's seccomp profiles (JSON), compiled to the classic BPF program the shim installs.

    program = compile_profile(DEFAULT, caps=DEFAULT_CAPS)     # bytes of struct sock_filter[]
    profile = load_profile(text)                              # InvalidArgument names the field

Semantics are Docker's (profiles/seccomp/seccomp_linux.go, runc's libseccomp use): a rule
applies when its includes/excludes (arches, caps of the bounding set, minKernel) say so; a
syscall's rules with args are tried in order, then its rule without args, then the default
action (EPERM unless defaultErrnoRet). Syscalls numbered above the highest one the profile
names get ENOSYS, as runc does, so glibc falls back from calls newer than the profile. Names
this architecture lacks are skipped, as libseccomp does. Other ABIs on the same CPU (i386, x32,
arm32) are killed: stricter than Docker, which allows them.

Built here instead of with libseccomp: the compiled program is cached per (profile, caps,
arch, kernel) in the process and under the data root, so a start reads a file of ~2.6 KB
instead of building the filter (bench/bench_runtime.py measures both ways).
"""
import functools
import hashlib
import json
import os
import struct

from ..errors import InvalidArgument
from .spec import CAPABILITIES

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DEFAULT_PROFILE = os.path.join(HERE, "seccomp-default.json")
# seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian here).
ARCHES = {"x86_64": ("amd64", "SCMP_ARCH_X86_64", 0xC000003E),
          "aarch64": ("arm64", "SCMP_ARCH_AARCH64", 0xC00000B7)}
X32_BIT = 0x40000000
EPERM, ENOSYS = 1, 38
RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP = 0x80000000, 0, 0x00030000
RET_ERRNO, RET_TRACE, RET_LOG, RET_ALLOW = 0x00050000, 0x7FF00000, 0x7FFC0000, 0x7FFF0000
ACTIONS = {"SCMP_ACT_KILL": RET_KILL_THREAD, "SCMP_ACT_KILL_THREAD": RET_KILL_THREAD,
           "SCMP_ACT_KILL_PROCESS": RET_KILL_PROCESS, "SCMP_ACT_TRAP": RET_TRAP,
           "SCMP_ACT_ERRNO": RET_ERRNO, "SCMP_ACT_TRACE": RET_TRACE, "SCMP_ACT_LOG": RET_LOG,
           "SCMP_ACT_ALLOW": RET_ALLOW}
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
       "SCMP_CMP_MASKED_EQ")
# classic BPF opcodes
LD_W_ABS, RET_K, JA = 0x20, 0x06, 0x05
JEQ, JGT, JGE, AND_K = 0x15, 0x25, 0x35, 0x54


def _fail(where: str, problem: str):
    raise InvalidArgument(f"seccomp profile: {where}: {problem}")


def load_profile(text: str) -> dict:
    """Parse and check a profile in Docker's format; InvalidArgument names the bad field."""
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"seccomp profile: not JSON: {exc}") from None
    if not isinstance(profile, dict):
        _fail("top level", "must be an object")
    _action(profile.get("defaultAction"), "defaultAction")
    if "defaultErrnoRet" in profile and not isinstance(profile["defaultErrnoRet"], int):
        _fail("defaultErrnoRet", "must be an integer")
    if profile.get("architectures") and profile.get("archMap"):
        _fail("architectures", "'architectures' and 'archMap' were both given; use one")
    syscalls = profile.get("syscalls") or []
    if not isinstance(syscalls, list):
        _fail("syscalls", "must be a list")
    for i, rule in enumerate(syscalls):
        where = f"syscalls[{i}]"
        if not isinstance(rule, dict):
            _fail(where, "must be an object")
        if rule.get("name") and rule.get("names"):
            _fail(where, "'name' and 'names' were both given; use one")
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        if not names or not all(isinstance(n, str) and n for n in names):
            _fail(f"{where}.names", "must be a non-empty list of syscall names")
        _action(rule.get("action"), f"{where}.action")
        if rule.get("errnoRet") is not None and not isinstance(rule["errnoRet"], int):
            _fail(f"{where}.errnoRet", "must be an integer")
        for j, arg in enumerate(rule.get("args") or []):
            _check_arg(arg, f"{where}.args[{j}]")
        for part in ("includes", "excludes"):
            cond = rule.get(part) or {}
            if not isinstance(cond, dict):
                _fail(f"{where}.{part}", "must be an object")
            for key in ("arches", "caps"):
                if not isinstance(cond.get(key) or [], list):
                    _fail(f"{where}.{part}.{key}", "must be a list")
            if cond.get("minKernel") is not None and _kernel(str(cond["minKernel"])) is None:
                _fail(f"{where}.{part}.minKernel", f"invalid kernel version {cond['minKernel']!r}")
    return profile


def _action(name, where: str) -> int:
    if name == "SCMP_ACT_NOTIFY":
        _fail(where, "SCMP_ACT_NOTIFY needs a listener; dockyard has none")
    if name not in ACTIONS:
        _fail(where, f"unknown action {name!r}")
    return ACTIONS[name]


def _check_arg(arg, where: str) -> None:
    if not isinstance(arg, dict):
        _fail(where, "must be an object")
    if not isinstance(arg.get("index"), int) or not 0 <= arg["index"] <= 5:
        _fail(f"{where}.index", "must be 0 to 5")
    for key in ("value", "valueTwo"):
        if not isinstance(arg.get(key, 0), int) or not 0 <= arg.get(key, 0) < 1 << 64:
            _fail(f"{where}.{key}", "must be an unsigned 64-bit integer")
    if arg.get("op") not in OPS:
        _fail(f"{where}.op", f"unknown operator {arg.get('op')!r}")


def _kernel(text: str) -> tuple[int, int] | None:
    parts = text.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None


@functools.lru_cache(maxsize=1)
def _default_text() -> str:
    with open(DEFAULT_PROFILE) as f:
        return f.read()


@functools.lru_cache(maxsize=1)
def _syscall_tables() -> dict:
    with open(os.path.join(HERE, "syscalls.json")) as f:
        return json.load(f)


def _applies(rule: dict, arch: str, caps: frozenset, kernel: tuple) -> bool:
    """Docker's include/exclude filter (seccomp_linux.go setupSeccomp)."""
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if arch in (exc.get("arches") or ()) or any(c in caps for c in exc.get("caps") or ()):
        return False
    if exc.get("minKernel") and kernel >= _kernel(str(exc["minKernel"])):
        return False
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or ()):
        return False
    return not (inc.get("minKernel") and kernel < _kernel(str(inc["minKernel"])))


def _ret(action: str, errno) -> int:
    value = ACTIONS[action]
    if value in (RET_ERRNO, RET_TRACE):
        value |= (EPERM if errno is None else errno) & 0xFFFF
    return value


class _Asm:
    """Classic BPF with labels; every jump is checked to fit its field."""

    def __init__(self):
        self.items: list = []

    def label(self, name) -> None:
        self.items.append(("label", name))

    def op(self, code, k=0, jt=0, jf=0) -> None:
        self.items.append((code, k, jt, jf))

    def assemble(self) -> bytes:
        where, pos = {}, 0
        for item in self.items:
            if item[0] == "label":
                where[item[1]] = pos
            else:
                pos += 1
        out, pos = [], 0
        for item in self.items:
            if item[0] == "label":
                continue
            code, k, jt, jf = item
            rel = lambda target: target if isinstance(target, int) else where[target] - pos - 1  # noqa: E731
            if code == JA:
                k = rel(k)
            jt, jf = rel(jt), rel(jf)
            if not (0 <= jt <= 255 and 0 <= jf <= 255 and 0 <= k < 1 << 32):
                raise InvalidArgument("seccomp profile: a rule is too long for one BPF jump")
            out.append(struct.pack("<HBBI", code, jt, jf, k))
            pos += 1
        if not 0 < pos <= 4096:
            raise InvalidArgument(f"seccomp profile: compiles to {pos} BPF instructions, over 4096")
        return b"".join(out)


def _compare(asm: _Asm, arg: dict, ok, bad) -> None:
    """Jump to `ok` when the 64-bit argument compares true, else to `bad` (hi word first)."""
    lo_off = 16 + 8 * arg["index"]
    value, two, op = arg.get("value", 0), arg.get("valueTwo", 0), arg["op"]
    if op == "SCMP_CMP_MASKED_EQ":
        for off, shift in ((lo_off + 4, 32), (lo_off, 0)):
            asm.op(LD_W_ABS, off)
            asm.op(AND_K, value >> shift & 0xFFFFFFFF)
            asm.op(JEQ, two >> shift & 0xFFFFFFFF, 0 if shift else ok, bad)
        return
    hi, lo = value >> 32, value & 0xFFFFFFFF
    asm.op(LD_W_ABS, lo_off + 4)
    if op in ("SCMP_CMP_EQ", "SCMP_CMP_NE"):
        t, f = (ok, bad) if op == "SCMP_CMP_EQ" else (bad, ok)
        asm.op(JEQ, hi, 0, f)
        asm.op(LD_W_ABS, lo_off)
        asm.op(JEQ, lo, t, f)
        return
    above, below = (ok, bad) if op in ("SCMP_CMP_GT", "SCMP_CMP_GE") else (bad, ok)
    asm.op(JGT, hi, above, 0)                       # hi word decides unless equal
    asm.op(JEQ, hi, 0, below)
    asm.op(LD_W_ABS, lo_off)
    if op in ("SCMP_CMP_GT", "SCMP_CMP_LE"):
        asm.op(JGT, lo, above, below)
    else:
        asm.op(JGE, lo, above, below)


def compile_profile(profile: dict, *, caps: int, machine: str | None = None,
                    kernel: tuple[int, int] | None = None) -> bytes:
    """The seccomp program for a container with capability mask `caps` on this machine."""
    machine = machine or os.uname().machine
    if machine not in ARCHES:
        raise InvalidArgument(f"seccomp: no syscall table for {machine}; use seccomp=unconfined")
    arch, _, audit_arch = ARCHES[machine]
    table = _syscall_tables()[machine]
    kernel = kernel or _kernel(os.uname().release)
    held = frozenset(f"CAP_{name}" for i, name in enumerate(CAPABILITIES) if caps >> i & 1)
    default = _ret(profile["defaultAction"], profile.get("defaultErrnoRet"))
    rules: dict[int, list] = {}
    for rule in profile.get("syscalls") or []:
        if not _applies(rule, arch, held, kernel):
            continue
        ret = _ret(rule["action"], rule.get("errnoRet"))
        for name in rule.get("names") or [rule.get("name")]:
            if name in table:
                rules.setdefault(table[name], []).append((ret, rule.get("args") or []))
    last = max(rules, default=-1)
    asm = _Asm()
    asm.op(LD_W_ABS, 4)                              # arch
    asm.op(JEQ, audit_arch, 1, 0)
    asm.op(RET_K, RET_KILL_PROCESS)                  # another ABI (i386, x32, arm32)
    asm.op(LD_W_ABS, 0)                              # nr
    if machine == "x86_64":                          # x32 numbers: as a kernel without x32
        asm.op(JGE, X32_BIT, 0, 1)
        asm.op(RET_K, RET_ERRNO | ENOSYS)
    open_ended = default in (RET_ALLOW, RET_LOG)
    if last >= 0 and not open_ended:                 # newer than the profile: ENOSYS, as runc
        asm.op(JGT, last, 0, 1)
        asm.op(RET_K, RET_ERRNO | ENOSYS)
    blocks, segments = [], _segments(rules, last, default)
    for n, (lo, hi, action) in enumerate(segments):
        if open_ended or n < len(segments) - 1:      # the last one needs no test: nr <= last
            asm.op(JGT, hi, 1, 0)
        if isinstance(action, int):
            asm.op(RET_K, action)
        else:
            asm.op(JA, ("block", lo))
            blocks.append((lo, action))
    if open_ended or not segments:
        asm.op(RET_K, default)
    for nr, nr_rules in blocks:
        asm.label(("block", nr))
        _block(asm, nr, nr_rules, default)
    return asm.assemble()


def _segments(rules: dict, last: int, default: int):
    """(lo, hi, action) covering 0..last: an int return value, or the rule list of one nr."""
    out = []
    for nr in range(last + 1):
        entries = rules.get(nr)
        if entries and any(args for _, args in entries):
            out.append([nr, nr, entries])
            continue
        action = entries[0][0] if entries else default
        if out and out[-1][2] == action and isinstance(action, int):
            out[-1][1] = nr
        else:
            out.append([nr, nr, action])
    return out


def _block(asm: _Asm, nr: int, entries: list, default: int) -> None:
    """Rules with args in order, then the first rule without, then the default."""
    plain = next((ret for ret, args in entries if not args), default)
    for i, (ret, args) in enumerate(e for e in entries if e[1]):
        nxt = ("next", nr, i)
        for j, arg in enumerate(args):
            ok = ("ok", nr, i, j)
            _compare(asm, arg, ok, nxt)
            asm.label(ok)
        asm.op(RET_K, ret)
        asm.label(nxt)
    asm.op(RET_K, plain)


@functools.lru_cache(maxsize=64)
def _compiled(text: str, caps: int, cache_dir: str | None) -> str:
    """The program's hex, from this process's cache, the data root's, or compiled now."""
    key = hashlib.sha256(f"{text}\0{caps:x}\0{os.uname().machine}\0{os.uname().release}".encode())
    path = os.path.join(cache_dir, key.hexdigest()[:32]) if cache_dir else None
    try:
        with open(path) as f:
            return f.read()
    except (OSError, TypeError):
        pass
    program = compile_profile(load_profile(text), caps=caps).hex()
    if path:
        try:      # temp file + rename: a reader sees all of it or nothing
            os.makedirs(cache_dir, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(program)
            os.replace(tmp, path)
        except OSError:
            pass    # read-only data root: compile again next time
    return program


def program_hex(setting: str, caps: int, cache_dir: str | None = None) -> str:
    """The shim's `seccomp` value for a spec's setting: "" (unconfined), or the program's hex.

    setting: "default", "unconfined", or a profile's JSON text. cache_dir keeps compiled
    programs across processes (each CLI `run` is a new one).
    """
    if setting == "unconfined":
        return ""
    text = _default_text() if setting == "default" else setting
    return _compiled(text, caps, cache_dir)


def profile_digest(setting: str) -> str:
    """A short name for inspect and logs: builtin, unconfined, or the profile's sha256."""
    if setting in ("default", "unconfined"):
        return "builtin" if setting == "default" else setting
    return "sha256:" + hashlib.sha256(setting.encode()).hexdigest()[:12]
