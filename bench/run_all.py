"""`make bench`: dockyard and its peers on the same workloads in one run, as Markdown tables.

    .venv/bin/python bench/run_all.py [--quick] [--no-peers] [--no-details] [--out FILE]

dockyard's side goes through `dockyard.engine.Engine` in-process and through the `dockyard` CLI,
on a temporary data root holding `engine.images.bootstrap("busybox")`. The peers (bench/peers.py:
Docker classic and BuildKit, Podman, Buildah, runc, crun, unshare) run the same workloads in
temporary roots of their own. Each table gives every tool's figure and the ratio tool/dockyard
(in-process). Then the engine-side scripts (bench_runtime.py, bench_build.py, bench_network.py,
bench_dns.py, ...) run and their output is appended. The report is printed and written to .artifacts/bench.md
(and the figures to .artifacts/bench.json). Needs root; takes about 5 minutes, plus the big-data
script's (bench_bigdata.py: a gigabyte twice through every tool, 10-20 minutes).
"""
import argparse
import ipaddress
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402
from common import (BUILD_DOCKERFILE, Figure, markdown_table, run_quiet,  # noqa: E402
                    time_calls, time_command, write_build_context)

BASE = "dockyard"
ROUNDS = {"run_none": 20, "run_bridge": 20, "sleepers": 50, "build_cold": 5, "build_cached": 10}
QUICK = {"run_none": 3, "run_bridge": 3, "sleepers": 5, "build_cold": 2, "build_cached": 3}
SCRIPTS = (("bench_runtime.py", []), ("bench_build.py", []), ("bench_network.py", []),
           ("bench_dns.py", []),
           ("bench_isolation.py", []), ("bench_notebook.py", []), ("bench_api.py", []),
           ("bench_bigdata.py", []), ("bench_use.py", []), ("bench_lock.py", []))
QUICK_ARGS = {"bench_build.py": ["--rounds", "3", "--big-rounds", "1"],
              "bench_network.py": ["--mib", "64", "--rounds", "3"],
              "bench_dns.py": ["--rounds", "3", "--queries", "100"],
              "bench_notebook.py": ["--rounds", "2"],
              "bench_api.py": ["--rounds", "3", "--requests", "2000"],
              "bench_bigdata.py": ["--mib", "64", "--files", "1000"],
              "bench_use.py": ["--rounds", "2", "--cells", "20"],
              "bench_lock.py": ["--files", "1000", "--rounds", "2"]}
# bench_bigdata: 1 GiB twice, through every tool; bench_use bootstraps the python image
# (mmdebstrap: minutes, once per package set)
TIMEOUTS = {"bench_bigdata.py": 3600, "bench_use.py": 1200}

# (benchmark key, title, the target for dockyard)
TABLES = (
    ("run_none", "`run --rm --network none busybox true` (median)",
     "issue 2: in-process <= 25 ms, CLI <= 60 ms; Docker 199 ms, Podman 122-139 ms, runc 18.8 ms, "
     "crun 7.3 ms, unshare 1.9 ms measured before"),
    ("run_bridge", "`run --rm busybox true` on the default bridge (median)", ""),
    ("bridge_overhead", "bridge network set-up: bridge minus `--network none` (medians)",
     "issue 4: <= 15 ms per container"),
    ("sleepers", "50 detached `sleep` containers started one after another (total)",
     "issue 2: <= 2 s; Podman 6.9 s, Docker 9.8 s measured before"),
    ("memory", "memory per running container (PSS of its monitor / shim / conmon)",
     "issue 2: <= 2.7 MB; Podman's conmon 0.37 MB measured before"),
    ("build_cold", "6-instruction build, cold (`--no-cache`, base image present; median)",
     "issue 3: in-process <= 120 ms; Docker classic 585 ms, BuildKit 241 ms, Buildah 662 ms"),
    ("build_cached", "6-instruction build, fully cached (median)",
     "issue 3: in-process <= 28 ms, CLI <= 57 ms; classic 57 ms, BuildKit 68 ms, Buildah 204 ms"),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def private_networks(engine):
    """Give the engine a bridge and subnet of its own, so the bench never meets dockyard0."""
    from dockyard.engine.network.networks import Networks
    nets = Networks(engine.root, pool=[ipaddress.IPv4Network("198.18.252.0/24")],
                    default_bridge=f"dyb{secrets.token_hex(2)}")
    engine.__dict__["networks"] = nets      # Engine.networks is a cached_property
    return nets


class DockyardSide:
    """The same workloads as the peers, through Engine in-process and the dockyard CLI."""

    def __init__(self, top: Path, context: Path):
        from dockyard.engine import Engine
        self.engine = Engine(top / "root")
        self.context = context
        self.engine.images.bootstrap("busybox")
        self.nets = private_networks(self.engine)
        self.cli = [str(Path(sys.executable).with_name("dockyard")), "--data-root",
                    str(self.engine.root)]
        if not os.path.exists(self.cli[0]):
            self.cli[:1] = [sys.executable, "-m", "dockyard.engine.cli"]

    def run_none(self, rounds):
        run = self.engine.containers.run
        return {f"{BASE}": Figure.timed(time_calls(
                    lambda: run("busybox", ["true"], remove=True, network="none"), rounds)),
                f"{BASE} CLI": Figure.timed(time_command(
                    [*self.cli, "run", "--rm", "--network", "none", "busybox", "true"], rounds))}

    def run_bridge(self, rounds):
        run = self.engine.containers.run
        return {BASE: Figure.timed(time_calls(lambda: run("busybox", ["true"], remove=True), rounds))}

    def sleepers(self, count):
        run = self.engine.containers.run
        started = []
        try:
            t = time.perf_counter()
            for _ in range(count):
                started.append(run("busybox", ["sleep", "1000"], detach=True, network="none"))
            total = time.perf_counter() - t
            from common import pss_figure
            memory = pss_figure([c.state.monitor for c in started])
        finally:
            for container in started:
                container.remove(force=True)
        return {BASE: Figure(total, "s")}, {BASE: memory}

    def build(self, cold, rounds):
        build = self.engine.images.build
        figures = {BASE: Figure.timed(time_calls(
            lambda: build(BUILD_DOCKERFILE, context=self.context, tag="bench:6", nocache=cold),
            rounds))}
        if not cold:
            argv = [*self.cli, "build", "-q", "-t", "bench:6", str(self.context)]
            figures[f"{BASE} CLI"] = Figure.timed(time_command(argv, rounds))
        return figures

    def close(self):
        for container in self.engine.containers.list(all=True):
            container.remove(force=True)
        self.nets.teardown()
        self.nets.links.close()


def measure_dockyard(top: Path, context: Path, rounds: dict) -> dict:
    """{benchmark: {label: Figure}}; a failing benchmark becomes a row saying why."""
    results: dict[str, dict[str, Figure]] = {}
    try:
        side = DockyardSide(top, context)
    except Exception as exc:        # noqa: BLE001 - the engine may be mid-integration
        why = Figure.missing(f"engine failed to open: {exc}"[:300])
        return {key: {BASE: why} for key in ("run_none", "run_bridge", "sleepers", "memory",
                                             "build_cold", "build_cached")}
    steps = (("run_none", lambda: side.run_none(rounds["run_none"])),
             ("run_bridge", lambda: side.run_bridge(rounds["run_bridge"])),
             ("sleepers", lambda: side.sleepers(rounds["sleepers"])),
             ("build_cold", lambda: side.build(True, rounds["build_cold"])),
             ("build_cached", lambda: side.build(False, rounds["build_cached"])))
    try:
        for key, step in steps:
            log(f"dockyard: {key} ...")
            try:
                got = step()
            except Exception as exc:    # noqa: BLE001 - a row that says why, then go on
                got = {BASE: Figure.missing(f"failed: {exc}"[:300])}
                if key == "sleepers":
                    got = (got, got)
            if key == "sleepers":
                results["sleepers"], results["memory"] = got
            else:
                results[key] = got
    finally:
        side.close()
    return results


def merge(ours: dict, theirs: dict) -> dict:
    """One {benchmark: {label: Figure}}: ours first, peers' sleepers split into time and memory."""
    merged = {key: dict(figures) for key, figures in ours.items()}
    for key, figures in theirs.items():
        for label, fig in figures.items():
            target = "memory" if key == "sleepers" and label.endswith(" PSS") else key
            merged.setdefault(target, {})[label.removesuffix(" PSS")] = fig
    merged["bridge_overhead"] = {
        label: _difference(fig, merged.get("run_none", {}).get(label))
        for label, fig in merged.get("run_bridge", {}).items()}
    return merged


def _difference(bridge: Figure, none: Figure | None) -> Figure:
    if bridge.value is None or none is None or none.value is None:
        return Figure.missing(bridge.note if bridge.value is None else "no --network none figure")
    return Figure(bridge.value - none.value, bridge.unit)


def engine_scripts(quick: bool, timeout: int = 240) -> list[tuple[str, str]]:
    """(script, its output) for each engine-side bench script present in bench/."""
    outputs = []
    for name, args in SCRIPTS:
        path = HERE / name
        if not path.exists():
            outputs.append((name, "(not written yet)"))
            continue
        log(f"details: {name} ...")
        argv = [sys.executable, str(path), *(QUICK_ARGS.get(name, []) if quick else args)]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True,
                                  timeout=TIMEOUTS.get(name, timeout))
            text = proc.stdout.strip()
            if proc.returncode:
                text += f"\n(exited {proc.returncode}: {proc.stderr.strip()[-500:]})"
        except subprocess.TimeoutExpired:
            text = f"(stopped after {TIMEOUTS.get(name, timeout)} s)"
        outputs.append((name, text))
    return outputs


def host_line() -> str:
    versions = []
    for argv in (["/usr/bin/docker", "--version"], ["podman", "--version"],
                 ["buildah", "--version"], ["runc", "--version"], ["crun", "--version"]):
        try:
            versions.append(run_quiet(argv, timeout=10).splitlines()[0])
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            pass
    return (f"Host: {platform.node()}, Linux {platform.release()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}. Peers: {'; '.join(versions) or 'none installed'}.")


def render(results: dict, details: list, started: float) -> str:
    parts = ["# dockyard benchmark", "", host_line(),
             "Ratios are tool / dockyard in-process: above 1.0x the peer is slower or bigger.", ""]
    for key, title, target in TABLES:
        figures = results.get(key)
        if not figures:
            continue
        parts.append(markdown_table(title, figures, baseline=BASE))
        if target:
            parts.append(f"Target: {target}.\n")
    for name, text in details:
        parts += [f"## {name}", "", text if text.lstrip().startswith(("###", "|"))
                  else "```\n" + text + "\n```", ""]
    parts.append(f"Total time: {time.perf_counter() - started:.0f} s.")
    return "\n".join(parts) + "\n"


def as_json(results: dict) -> dict:
    return {key: {label: {"value": f.value, "unit": f.unit, "note": f.note}
                  for label, f in figures.items()} for key, figures in results.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds only (a smoke test)")
    parser.add_argument("--no-peers", action="store_true", help="dockyard's figures only")
    parser.add_argument("--no-details", action="store_true", help="skip the engine-side scripts")
    parser.add_argument("--out", default=str(HERE.parent / ".artifacts" / "bench.md"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rounds = QUICK if args.quick else ROUNDS
    top = Path(tempfile.mkdtemp(prefix="dyb-bench-run-"))
    try:
        context = write_build_context(top / "context")
        ours = measure_dockyard(top, context, rounds)
        theirs = {} if args.no_peers else peers.measure_all(rounds, log=log)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    results = merge(ours, theirs)
    details = [] if args.no_details else engine_scripts(args.quick)
    report = render(results, details, started)
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    out.with_suffix(".json").write_text(json.dumps(as_json(results), indent=1))
    log(f"written to {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
