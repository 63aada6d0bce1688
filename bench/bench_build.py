"""Issue 3's build benchmark: the 6-instruction build (cold and cached, in-process and through
the CLI) and a 10-instruction build with two COPYs of a 1,000-file, 100 MB context.

    .venv/bin/python bench/bench_build.py [--rounds 20] [--peers]

Cold = a fresh data root holding only the bootstrapped busybox (not timed), so no step is
cached and no layer exists yet. Cached = the same build again on that root. Docker (classic
and BuildKit) and Buildah run the same 6-instruction build in the same run with --peers when
installed (bench/peers.py); otherwise their rows say "not installed".
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (BUILD_DOCKERFILE, Figure, markdown_table,  # noqa: E402
                    write_build_context)

TARGETS_MS = {"cold": 120, "cached": 28, "cli cached": 57}
BIG_DOCKERFILE = """\
FROM busybox
ARG STAMP=1
COPY part1/ /data/part1/
RUN du -s /data > /du1
COPY part2/ /data/part2/
RUN du -s /data > /du2
ENV DATA=/data
WORKDIR /data
LABEL bench=big
CMD ["ls", "/data"]
"""


def fresh_engine(top: Path):
    from dockyard.engine import Engine
    root = Path(tempfile.mkdtemp(prefix="root-", dir=top))
    engine = Engine(root)
    engine.images.bootstrap("busybox")
    return engine


def in_process(top: Path, context: Path, dockerfile: str, rounds: int) -> tuple[list, list]:
    """Seconds of cold builds (each on a fresh root) and of cached rebuilds."""
    cold, cached = [], []
    fresh_engine(top).images.build(dockerfile, context=context)     # warm imports and the shim
    for _ in range(rounds):
        engine = fresh_engine(top)
        t = time.perf_counter()
        engine.images.build(dockerfile, context=context, tag="bench:latest")
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine.images.build(dockerfile, context=context, tag="bench:latest")
        cached.append(time.perf_counter() - t)
        shutil.rmtree(engine.root, ignore_errors=True)
    return cold, cached


def through_cli(top: Path, context: Path, rounds: int) -> tuple[list, list]:
    """Seconds of `dockyard build -q` cold (fresh root) and cached."""
    cli = [sys.executable, "-m", "dockyard.engine.cli"]
    cold, cached = [], []
    for _ in range(rounds):
        engine = fresh_engine(top)
        argv = cli + ["--data-root", str(engine.root), "build", "-q", "-t", "bench", str(context)]
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        cached.append(time.perf_counter() - t)
        shutil.rmtree(engine.root, ignore_errors=True)
    return cold, cached


def big_context(dest: Path, files: int = 1000, total: int = 100 * 10**6) -> Path:
    """1,000 files of random bytes, 100 MB in all, split over part1/ and part2/."""
    size = total // files
    for i in range(files):
        part = dest / ("part1" if i % 2 == 0 else "part2") / f"d{i % 10}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"f{i:04d}.bin").write_bytes(os.urandom(size))
    (dest / "Dockerfile").write_text(BIG_DOCKERFILE)
    return dest


def peers_rows(rounds: int, wanted: bool) -> tuple[dict, dict]:
    """Docker classic, BuildKit and Buildah figures (cold, cached), or why there are none."""
    names = ("docker classic", "docker BuildKit", "buildah")
    installed = {"docker classic": "/usr/sbin/dockerd", "docker BuildKit": "/usr/sbin/dockerd",
                 "buildah": "/usr/bin/buildah"}
    cold = {n: Figure.missing("not installed") for n in names if not os.path.exists(installed[n])}
    cached = dict(cold)
    if wanted and len(cold) < len(names):
        import peers
        chosen = [p for p in peers.all_peers() if p.name in ("docker", "buildah")]
        results = peers.measure_all({"build_cold": rounds, "build_cached": rounds}, chosen)
        cold.update(results.get("build_cold", {}))
        cached.update(results.get("build_cached", {}))
    elif len(cold) < len(names):
        for n in names:
            if n not in cold:
                cold[n] = cached[n] = Figure.missing("installed; run with --peers")
    return cold, cached


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--big-rounds", type=int, default=3)
    parser.add_argument("--peers", action="store_true", help="also run Docker/Buildah if installed")
    args = parser.parse_args(argv)
    top = Path(tempfile.mkdtemp(prefix="dyb-bench-build-"))
    try:
        context = write_build_context(top / "context")
        assert (context / "Dockerfile").read_text() == BUILD_DOCKERFILE
        cold, cached = in_process(top, context, BUILD_DOCKERFILE, args.rounds)
        cli_cold, cli_cached = through_cli(top, context, max(5, args.rounds // 2))
        peer_cold, peer_cached = peers_rows(5, args.peers)
        print(markdown_table("6-instruction build, cold", {
            "dockyard (in-process)": Figure.timed(cold),
            "dockyard (CLI)": Figure.timed(cli_cold), **peer_cold}))
        print(markdown_table("6-instruction build, fully cached", {
            "dockyard (in-process)": Figure.timed(cached),
            "dockyard (CLI)": Figure.timed(cli_cached), **peer_cached}))
        big = big_context(top / "big")
        big_cold, big_cached = in_process(top, big, BIG_DOCKERFILE, args.big_rounds)
        print(markdown_table("10 instructions, 2 COPYs of 1,000 files / 100 MB", {
            "dockyard cold (in-process)": Figure.timed(big_cold),
            "dockyard cached (in-process)": Figure.timed(big_cached)}))
        for name, samples in (("cold", cold), ("cached", cached), ("cli cached", cli_cached)):
            median = sorted(samples)[len(samples) // 2] * 1000
            verdict = "meets" if median <= TARGETS_MS[name] else "MISSES"
            print(f"target {name}: <= {TARGETS_MS[name]} ms, measured {median:.1f} ms: {verdict}")
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
