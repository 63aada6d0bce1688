"""`make demo`: the main job, end to end, printing what happened.

Makes the busybox base image offline, runs containers from it (attached, detached, exec, limits),
builds an image from a Dockerfile with the layer cache, and executes notebooks/quickstart.ipynb
headless on the dockyard kernel, saying where the executed copy is.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DOCKYARD = [str(Path(sys.executable).parent / "dockyard")]


def step(title):
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def sh(*args, check=True):
    """Run a dockyard CLI command, echoing it and its output."""
    print("$ dockyard " + " ".join(args), flush=True)
    proc = subprocess.run(DOCKYARD + list(args), capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).rstrip()
    if out:
        print("  " + out.replace("\n", "\n  "), flush=True)
    if check and proc.returncode:
        sys.exit(f"demo failed: dockyard {' '.join(args)} exited {proc.returncode}")
    return proc


def main():
    from dockyard.engine import Engine
    engine = Engine()
    print(f"data root: {engine.root}")
    for name in ("writer", "sleeper", "quickstart-clock"):   # a demo cut short left these
        subprocess.run(DOCKYARD + ["rm", "-f", name], capture_output=True)

    step("A base image without internet: busybox from the host's busybox-static")
    sh("image", "bootstrap", "busybox")
    sh("images")

    step("Run a container: its own hostname, PID tree, and network namespace")
    sh("run", "--rm", "--network", "none", "--hostname", "demo", "busybox",
       "sh", "-c", "echo hello from $(hostname); ps; ip -o link 2>/dev/null || ls /sys/class/net")

    step("The image never changes: a container writes to its own layer")
    sh("run", "--name", "writer", "--network", "none", "busybox", "sh", "-c", "echo hi > /new.txt")
    sh("diff", "writer")
    sh("rm", "writer")

    step("A detached container with limits, exec into it, logs, stop")
    sh("run", "-d", "--name", "sleeper", "--network", "none", "-m", "64m", "--cpus", "0.5",
       "--pids-limit", "50", "busybox", "sh", "-c", "echo started; sleep 300")
    sh("ps")
    sh("exec", "sleeper", "sh", "-c", "echo exec joined pid $$ beside:; ps")
    sh("stats", "--no-stream", "sleeper")
    sh("inspect", "-f", "memory={{.HostConfig.Memory}} cpus={{.HostConfig.NanoCpus}} "
       "pids={{.HostConfig.PidsLimit}}", "sleeper")
    sh("logs", "sleeper")
    sh("stop", "-t", "1", "sleeper")
    sh("inspect", "-f", "{{.State.Status}} exit={{.State.ExitCode}}", "sleeper")
    sh("rm", "sleeper")

    step("Bad input gets one clear line")
    sh("run", "--rm", "--network", "none", "busybox", "nosuchcommand", check=False)
    sh("run", "--rm", "nosuchimage", check=False)

    step("Build an image from a Dockerfile, then rebuild from the cache")
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "hello.txt").write_text("hello from the build context\n")
        Path(ctx, "Dockerfile").write_text(
            "FROM busybox\nRUN echo built > /built.txt\nCOPY hello.txt /srv/\n"
            "ENV GREETING=hi\nWORKDIR /srv\nCMD [\"cat\", \"hello.txt\"]\n")
        for attempt in ("cold", "cached"):
            t = time.monotonic()
            sh("build", "-t", "demo:latest", ctx)
            print(f"  ({attempt} build: {time.monotonic() - t:.2f} s through the CLI)")
    sh("history", "demo:latest")
    sh("run", "--rm", "--network", "none", "demo:latest")

    step("Execute notebooks/quickstart.ipynb on the dockyard kernel")
    out = HERE / ".artifacts" / "quickstart.executed.ipynb"
    out.parent.mkdir(exist_ok=True)
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "--ExecutePreprocessor.kernel_name=dockyard",
                    "--ExecutePreprocessor.timeout=300", "--output", str(out),
                    str(HERE / "notebooks" / "quickstart.ipynb")], check=True,
                   env={**os.environ, "DOCKYARD_DATA_ROOT": str(engine.root)})
    print(f"executed in {time.monotonic() - t:.1f} s: {out}")
    # The notebook leaves its clock running for the reader (its clean-up cell is theirs to run).
    sh("rm", "-f", "quickstart-clock")
    print("\nAll done. Open it with `make lab`.")


if __name__ == "__main__":
    main()
