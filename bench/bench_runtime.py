"""Runtime bench: `run --rm true` (create+start+wait+remove), monitor memory, 50 detached sleeps.

    .venv/bin/python bench/bench_runtime.py        # root, busybox-static, gcc + libc6-dev
"""
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

from dockyard.engine.runtime import convert, process, shim  # noqa: E402

N = 20


def spec(root, command, **options):
    cid = uuid.uuid4().hex
    return convert.to_spec(cid, f"{root}/containers/{cid}", {"config": {}}, snapshots_root=f"{root}/snapshots",
                           lowerdirs=("l/BUSYBOX",), command=command, **options)


def run_rm_true(root):
    t = time.perf_counter()
    s = spec(root, ["true"])
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
