"""Docker's seccomp profiles compiled to BPF, run here by a classic-BPF interpreter.

The host tests load the same programs into the kernel; here every path of the compiler is
checked by evaluating the program for chosen syscalls and arguments.
"""
import json
import struct

import pytest

from dockyard.engine.errors import InvalidArgument
from dockyard.engine.runtime import convert, seccomp
from dockyard.engine.runtime.spec import DEFAULT_CAPS

X86, ARM = 0xC000003E, 0xC00000B7
ALLOW, EPERM, ENOSYS, KILL = 0x7FFF0000, 0x50001, 0x50026, 0x80000000
CAP_SYS_ADMIN = 1 << 21
TABLE = seccomp._syscall_tables()


def run_bpf(program: bytes, nr: int, args=(), arch=X86) -> int:
    """Evaluate a seccomp program for one syscall, as the kernel would."""
    args = list(args) + [0] * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *[a & (1 << 64) - 1 for a in args])
    insns = [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:
            acc &= k
        elif code == 0x06:
            return k
        elif code == 0x05:
            pc += k
        else:
            taken = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k}[code]
            pc += jt if taken else jf


def default(caps=DEFAULT_CAPS, machine="x86_64"):
    return seccomp.compile_profile(seccomp.load_profile(seccomp._default_text()), caps=caps,
                                   machine=machine, kernel=(6, 1))


def nr(name, machine="x86_64"):
    return TABLE[machine][name]


def test_default_profile_allows_the_usual_and_denies_the_rest():
    prog = default()
    for name in ("read", "write", "openat", "execve", "close_range", "setuid", "capset"):
        assert run_bpf(prog, nr(name)) == ALLOW, name
    for name in ("mount", "unshare", "setns", "keyctl", "init_module", "add_key", "reboot", "bpf"):
        assert run_bpf(prog, nr(name)) == EPERM, name
    assert run_bpf(prog, nr("ptrace")) == ALLOW          # includes minKernel 4.8
    old = seccomp.compile_profile(seccomp.load_profile(seccomp._default_text()), caps=DEFAULT_CAPS,
                                  machine="x86_64", kernel=(4, 4))
    assert run_bpf(old, nr("ptrace")) == EPERM


def test_argument_filters_personality_and_clone_flags():
    prog = default()
    assert run_bpf(prog, nr("personality"), [0]) == ALLOW
    assert run_bpf(prog, nr("personality"), [0xFFFFFFFF]) == ALLOW
    assert run_bpf(prog, nr("personality"), [0x0400000]) == EPERM          # READ_IMPLIES_EXEC
    assert run_bpf(prog, nr("personality"), [1 << 32]) == EPERM            # high word counts
    assert run_bpf(prog, nr("clone"), [0x11]) == ALLOW                     # SIGCHLD | ...
    assert run_bpf(prog, nr("clone"), [0x11 | 0x20000]) == EPERM           # CLONE_NEWNS
    assert run_bpf(prog, nr("clone"), [0x10000000]) == EPERM               # CLONE_NEWUSER


def test_capabilities_open_rules_and_enosys_stops_glibc_at_the_profile_edge():
    plain, admin = default(), default(DEFAULT_CAPS | CAP_SYS_ADMIN)
    assert run_bpf(plain, nr("clone3")) == ENOSYS          # so glibc falls back to clone
    assert run_bpf(admin, nr("clone3")) == ALLOW
    assert run_bpf(admin, nr("mount")) == ALLOW and run_bpf(admin, nr("clone"), [0x20000]) == ALLOW
    assert run_bpf(plain, 460) == ENOSYS                   # newer than the profile
    assert run_bpf(plain, 0x40000000 + nr("read")) == ENOSYS    # x32
    assert run_bpf(plain, nr("read"), arch=0x40000003) == KILL  # i386 on x86_64


def test_aarch64_table():
    prog = default(machine="aarch64")
    assert run_bpf(prog, nr("openat", "aarch64"), arch=ARM) == ALLOW
    assert run_bpf(prog, nr("mount", "aarch64"), arch=ARM) == EPERM
    assert run_bpf(prog, nr("openat", "aarch64"), arch=X86) == KILL


OPS = [("SCMP_CMP_EQ", 5, 0, [(5, True), (4, False), (5 | 1 << 32, False)]),
       ("SCMP_CMP_NE", 5, 0, [(5, False), (6, True), (5 | 1 << 32, True)]),
       ("SCMP_CMP_GT", 1 << 32, 0, [(1 << 32, False), ((1 << 32) + 1, True), (2 << 32, True), (7, False)]),
       ("SCMP_CMP_GE", 5, 0, [(5, True), (4, False), (1 << 40, True)]),
       ("SCMP_CMP_LT", 5, 0, [(4, True), (5, False), (1 << 40, False)]),
       ("SCMP_CMP_LE", 5, 0, [(5, True), (6, False), (0, True)]),
       ("SCMP_CMP_MASKED_EQ", 0xF0, 0x30, [(0x3F, True), (0x4F, False), (0x130, True)])]


@pytest.mark.parametrize("op,value,two,cases", OPS)
def test_every_comparison_on_64_bit_arguments(op, value, two, cases):
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 2, "value": value, "valueTwo": two, "op": op}]}]}
    prog = seccomp.compile_profile(seccomp.load_profile(json.dumps(profile)), caps=0, machine="x86_64")
    for arg, allowed in cases:
        assert (run_bpf(prog, nr("read"), [0, 0, arg]) == ALLOW) is allowed, (op, hex(arg))


def test_errno_default_and_rule_errno():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    prog = seccomp.compile_profile(seccomp.load_profile(json.dumps(profile)), caps=0, machine="x86_64")
    assert run_bpf(prog, nr("mkdir")) == 0x5000D and run_bpf(prog, nr("write")) == ENOSYS


@pytest.mark.parametrize("profile,field", [
    ("[]", "top level"), ("{", "not JSON"), ({"defaultAction": "SCMP_ACT_NOPE"}, "defaultAction"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "X"}]},
     "syscalls[0].action"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]},
     "syscalls[0].names"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                                       "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]},
     "syscalls[0].args[0].index"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                                       "args": [{"index": 0, "op": "SCMP_CMP_XX"}]}]},
     "syscalls[0].args[0].op"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "defaultAction")])
def test_a_bad_profile_names_its_field(profile, field, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(profile if isinstance(profile, str) else json.dumps(profile))
    with pytest.raises(InvalidArgument, match=r"seccomp profile.*" + field.replace("[", r"\[").replace("]", r"\]")):
        convert.parse_security_opt([f"seccomp={path}"])


def test_security_opt_values():
    assert convert.parse_security_opt([]) == (False, "default")
    assert convert.parse_security_opt(["seccomp=unconfined", "no-new-privileges"]) == (True, "unconfined")
    assert convert.parse_security_opt(["seccomp:unconfined", "no-new-privileges:false"]) == (False, "unconfined")
    for bad in ("seccomp", "nosuch=1", "no-new-privileges=maybe"):
        with pytest.raises(InvalidArgument, match="security-opt"):
            convert.parse_security_opt([bad])
    with pytest.raises(InvalidArgument, match=r"opening seccomp profile \(/nope.json\) failed"):
        convert.parse_security_opt(["seccomp=/nope.json"])
