"""Runtime bench: `run --rm true` (create+start+wait+remove), monitor memory, 50 detached sleeps,
what seccomp and the devices cgroup add to `run --rm true` (with and without, same run), and the
monitor's memory with a health check probing, beside monitors without one (same run).

    .venv/bin/python bench/bench_runtime.py        # root, busybox-static, gcc + libc6-dev
"""
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from conftest import make_busybox_rootfs  # noqa: E402

from dockyard.engine import RunOptions  # noqa: E402
from dockyard.engine.runtime import convert, devices, process, seccomp, shim  # noqa: E402
from dockyard.engine.runtime.spec import CAPABILITIES, DEFAULT_CAPS  # noqa: E402

N = 20


def spec(root, command, **options):
    cid = uuid.uuid4().hex
    return convert.to_spec({}, RunOptions.from_kwargs(image="busybox", command=command, **options),
                           id=cid, bundle=f"{root}/containers/{cid}",
                           snapshots_root=f"{root}/snapshots", lowerdirs=("l/BUSYBOX",))


def run_rm_true(root, **options):
    t = time.perf_counter()
    s = spec(root, ["true"], **options)
    process.create(s)
    process.start(s.bundle)
    code = process.wait(s.bundle).exit_code
    process.remove(s.bundle)
    assert code == 0
    return time.perf_counter() - t


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f if ":" in line)}


def ms(values):
    return (f"median {statistics.median(values) * 1000:.2f} ms (min {min(values) * 1000:.2f}, "
            f"max {max(values) * 1000:.2f})")


def isolation_cost(root, rounds=N):
    """run --rm true with seccomp and device rules on and off, interleaved round by round."""
    rules_for = devices.rules_for
    variants = {"seccomp + devices cgroup (default)": ({}, True), "no seccomp": ({"security_opt": ["seccomp=unconfined"]}, True),
                "no devices cgroup": ({}, False), "neither": ({"security_opt": ["seccomp=unconfined"]}, False)}
    times = {name: [] for name in variants}
    try:
        for _ in range(rounds + 1):
            for name, (options, device_rules) in variants.items():
                # bench only: the runtime has no switch for "no device rules" but --privileged
                devices.rules_for = rules_for if device_rules else (lambda *a, **k: None)
                times[name].append(run_rm_true(root, **options))
    finally:
        devices.rules_for = rules_for
    base = statistics.median(times["neither"][1:])
    for name, values in times.items():
        values = values[1:]                                 # the first round warms up
        print(f"  {name}: {ms(values)}; +{(statistics.median(values) - base) * 1000:.2f} ms")


def seccomp_build_cost():
    """Building Docker's default filter: dockyard's compiler (cold, cached) vs libseccomp."""
    code = ("import sys, time; from dockyard.engine.runtime import seccomp; t = time.perf_counter(); "
            f"seccomp.program_hex('default', {DEFAULT_CAPS}, sys.argv[1] or None); print(time.perf_counter() - t)")
    cache = tempfile.mkdtemp(prefix="dockyard-bench-seccomp-")
    for label, where in (("compiled", ""), ("read from the data root's cache", cache)):
        cold = [float(subprocess.run([sys.executable, "-c", code, where], capture_output=True,
                                     text=True, check=True).stdout) for _ in range(10)]
        print(f"  dockyard, a fresh process as each CLI `run`, {label}: {ms(cold)}")
    shutil.rmtree(cache)
    t = time.perf_counter()
    for _ in range(1000):
        seccomp.program_hex("default", DEFAULT_CAPS)
    print(f"  dockyard, in an engine process (notebook), cached: "
          f"{(time.perf_counter() - t) * 1e3:.2f} us per start")
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        print("  libseccomp: not installed (apt-get install libseccomp2)")
        return
    print(f"  libseccomp {_libseccomp_version(lib)}, as a shim would build it per start: "
          f"{ms([_libseccomp_build(lib) for _ in range(20)])}")


def _libseccomp_version(lib):
    class Version(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]
    lib.seccomp_version.restype = ctypes.POINTER(Version)
    v = lib.seccomp_version().contents
    return f"{v.major}.{v.minor}.{v.micro}"


def _libseccomp_build(lib):
    """seccomp_init + every rule of the default profile + export of the BPF (no load)."""
    class Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
    profile = seccomp.load_profile(seccomp._default_text())
    held = frozenset(f"CAP_{n}" for i, n in enumerate(CAPABILITIES) if DEFAULT_CAPS >> i & 1)
    kernel = seccomp._kernel(os.uname().release)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(Cmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    ops = {name: i + 1 for i, name in enumerate(seccomp.OPS)}
    t = time.perf_counter()
    ctx = lib.seccomp_init(seccomp.RET_ERRNO | 1)
    for rule in profile["syscalls"]:
        if not seccomp._applies(rule, "amd64", held, kernel):
            continue
        args = rule.get("args") or []
        cmps = (Cmp * max(len(args), 1))(*[Cmp(a["index"], ops[a["op"]], a.get("value", 0),
                                                a.get("valueTwo", 0)) for a in args])
        for name in rule["names"]:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr >= 0:
                lib.seccomp_rule_add_array(ctx, seccomp._ret(rule["action"], rule.get("errnoRet")),
                                           nr, len(args), cmps)
    fd = os.memfd_create("bpf")
    lib.seccomp_export_bpf(ctx, fd)
    lib.seccomp_release(ctx)
    elapsed = time.perf_counter() - t
    size = os.fstat(fd).st_size
    os.close(fd)
    assert size > 0
    return elapsed


def health_memory(root, count=10, seconds=3.0):
    """PSS/RSS of monitors probing a health check every 100 ms, and of monitors without one."""
    from dataclasses import replace
    from dockyard.engine.runtime.spec import Healthcheck
    check = Healthcheck(("CMD-SHELL", "echo ok"), interval=100_000_000)
    groups = {"with a health check": [replace(spec(root, ["sleep", "60"]), healthcheck=check)
                                      for _ in range(count)],
              "without": [spec(root, ["sleep", "60"]) for _ in range(count)]}
    for specs in groups.values():
        for s in specs:
            process.create(s)
            process.start(s.bundle)
    time.sleep(seconds)                     # ~30 probes each
    try:
        for name, specs in groups.items():
            mem = [pss_kib(process.state(s.bundle).monitor) for s in specs]
            probes = [len((process.state(s.bundle).health or {}).get("Log", [])) for s in specs]
            print(f"  monitor {name}: PSS median {statistics.median(m['Pss'] for m in mem):.0f} KiB, "
                  f"RSS {statistics.median(m['Rss'] for m in mem):.0f} KiB ({count} running"
                  + (f", {seconds:.0f} s of probes every 100 ms, log of {max(probes)})" if probes[0] else ")"))
    finally:
        for specs in groups.values():
            for s in specs:
                process.stop(s.bundle, timeout=0)
                process.remove(s.bundle)


def main():
    root = tempfile.mkdtemp(prefix="dockyard-bench-")
    try:
        make_busybox_rootfs(f"{root}/snapshots/busybox")
        os.makedirs(f"{root}/snapshots/l")
        os.symlink("../busybox", f"{root}/snapshots/l/BUSYBOX")
        shim.shim_path(root)
        run_rm_true(root)                                   # warm-up
        times = [run_rm_true(root) for _ in range(N)]
        print(f"run --rm busybox true, in-process, {N} runs: {ms(times)}")
        spaced = []
        for _ in range(N):                                  # a pause first: pitfall 16's cold cgroup write
            time.sleep(0.1)
            spaced.append(run_rm_true(root))
        print(f"  same, 100 ms apart (cold cgroup.procs write): {ms(spaced)}")
        print(f"run --rm busybox true with and without seccomp and the devices cgroup, {N} rounds:")
        isolation_cost(root)
        print("building the seccomp filter for Docker's default profile:")
        seccomp_build_cost()

        specs = [spec(root, ["sleep", "60"]) for _ in range(50)]
        t = time.perf_counter()
        for s in specs:
            process.create(s)
            process.start(s.bundle)
        print(f"50 detached sleep containers, one after another: {time.perf_counter() - t:.2f} s")
        states = [process.state(s.bundle) for s in specs]
        mem = [pss_kib(st.monitor) for st in states]
        print(f"monitor per container: PSS median {statistics.median(m['Pss'] for m in mem):.0f} KiB, "
              f"RSS {statistics.median(m['Rss'] for m in mem):.0f} KiB (50 running)")
        one = pss_kib(states[0].pid)
        print(f"container PID 1 (sleep): PSS {one['Pss']} KiB, RSS {one['Rss']} KiB")
        print("monitor memory with and without a health check:")
        health_memory(root)
        t = time.perf_counter()
        for s in specs:
            process.stop(s.bundle, timeout=0)
            process.remove(s.bundle)
        print(f"stop (SIGKILL) + remove of 50: {time.perf_counter() - t:.2f} s")
        for tool in ("docker", "podman", "crun"):
            print(f"{tool}: {'installed, not compared by this script' if shutil.which(tool) else 'not installed'}")
    finally:
        subprocess.run(["rm", "-rf", root], check=True)


if __name__ == "__main__":
    main()
