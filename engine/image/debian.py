"""Debian and Python base images made on this host with mmdebstrap, from the host's apt sources.

    image = bootstrap(store, "python")                   # python:3.11 from bookworm + python3...
    image = bootstrap(store, "debian", suite="bookworm", include=["curl"], tag="mydeb:1")

The apt sources are the host's own (`apt-get indextargets`: whatever mirror, proxy and
snapshot the host uses, limited to the suite and its -updates/-security companions), so no
mirror URL lives here. The root filesystem is one layer; its mtimes are clamped to
SOURCE_DATE_EPOCH (else the Date of the host's package lists for the suite), so the same
package set gives the same image id. Device nodes are left out of the tar (`mmtarfilter`):
the runtime gives every container its own /dev.

A `cache_dir` (or $DOCKYARD_BOOTSTRAP_CACHE) keeps each root filesystem tar under the plan's
key (suite, variant, packages, sources, epoch), so the same plan is made by mmdebstrap once.
"""
import email.utils
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import HostError, InvalidArgument, NotFound
from .bootstrap import DEFAULT_PATH
from .model import host_architecture, rfc3339

VARIANT = "minbase"      # Priority: required, what Docker Hub's debian image holds
DEFAULT_SUITE = "bookworm"
PYTHON_PACKAGES = ("python3", "python3-venv", "python3-pip", "python3-ipykernel")
LABEL = "org.dockyard.bootstrap"     # labels: .kind .suite .include .packages .key
CACHE_ENV = "DOCKYARD_BOOTSTRAP_CACHE"
STOP_WAIT_S = 120        # mmdebstrap finishes its current apt/dpkg run before it cleans up
_SUITE = re.compile(r"^[a-z][a-z0-9.-]*$")
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


@dataclass(frozen=True)
class Plan:
    """What one bootstrap makes: the inputs that decide the root filesystem's bytes."""

    kind: str                       # "debian" or "python"
    suite: str
    include: tuple[str, ...]        # packages on top of the variant, sorted
    variant: str
    sources: tuple[str, ...]        # one-line apt entries, from the host's configuration
    epoch: int

    @property
    def key(self) -> str:
        """The cache key: a digest of every field that changes the tar."""
        fields = [self.suite, self.variant, list(self.include), list(self.sources), self.epoch,
                  host_architecture()]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:32]


def plan(kind: str, suite: str = DEFAULT_SUITE, include=(), variant: str = VARIANT,
         epoch: int | None = None) -> Plan:
    """The Plan for `kind` (debian or python) on this host; InvalidArgument for bad names.

    `variant` is mmdebstrap's (minbase; `extract` only unpacks the packages, for tests);
    `epoch` overrides SOURCE_DATE_EPOCH and the package lists' date.
    """
    if kind not in ("debian", "python"):
        raise InvalidArgument(f"can't bootstrap {kind!r}: known are busybox, debian, python")
    if not _SUITE.match(suite):
        raise InvalidArgument(f"--suite {suite!r}: not a Debian suite name")
    packages = set(PYTHON_PACKAGES if kind == "python" else ())
    for name in include:
        if not _PACKAGE.match(name):
            raise InvalidArgument(f"--include {name!r}: not a Debian package name")
        packages.add(name)
    targets = host_targets(suite)
    missing = unknown_packages(sorted(set(include)), targets)
    if missing:           # seconds here, where mmdebstrap needs a minute to say the same
        raise InvalidArgument(f"--include {missing[0]}: no such package in {suite}")
    return Plan(kind, suite, tuple(sorted(packages)), variant, sources_lines(targets),
                epoch_for(targets) if epoch is None else int(epoch))


def host_targets(suite: str) -> list[dict]:
    """The host's apt index targets (binary, this architecture) of `suite` and its companions."""
    try:
        out = subprocess.run(["apt-get", "indextargets", "Identifier: Packages"],
                             capture_output=True, text=True, check=True).stdout
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HostError(f"can't read the host's apt sources (apt-get indextargets): {exc}") from exc
    targets = select_targets(out, suite, arch)
    if not targets:
        raise NotFound(f"the host's apt sources have no entry for {suite!r} "
                       "(see apt-get indextargets); add one or choose another --suite")
    return targets


def select_targets(indextargets: str, suite: str, arch: str) -> list[dict]:
    """The deb targets of `suite` (and `suite-*`: updates, security) for `arch`, as dicts."""
    targets = []
    for block in indextargets.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        release = fields.get("Release", "")
        if (fields.get("Target-Of") == "deb" and fields.get("Architecture") == arch
                and (release == suite or release.startswith(suite + "-"))):
            targets.append(fields)
    return targets


def unknown_packages(names: list[str], targets: list[dict]) -> list[str]:
    """Of `names`, those that no package list of the host knows, nor any package provides.

    The host's lists hold the suite's (the plan's sources are the host's); without them on
    disk nothing is known for sure and [] leaves the verdict to mmdebstrap.
    """
    if not names or not all(os.path.exists(t.get("Filename", "")) for t in targets):
        return []
    try:
        out = subprocess.run(["apt-cache", "policy", *names], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    known = {line[:-1] for line in out.splitlines() if line.endswith(":") and line[:1] != " "}
    return [name for name in names if name not in known]


def sources_lines(targets: list[dict]) -> tuple[str, ...]:
    """One `deb URI RELEASE COMPONENTS...` line per (URI, release), components sorted."""
    components: dict[tuple[str, str], set[str]] = {}
    for t in targets:
        components.setdefault((t["Repo-URI"], t["Release"]), set()).add(t["Component"])
    return tuple(f"deb {uri} {release} {' '.join(sorted(comps))}"
                 for (uri, release), comps in sorted(components.items()))


def epoch_for(targets: list[dict]) -> int:
    """SOURCE_DATE_EPOCH, else the newest Date of the host's Release files for these targets."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        try:
            return int(os.environ["SOURCE_DATE_EPOCH"])
        except ValueError:
            raise InvalidArgument("SOURCE_DATE_EPOCH must be an integer number of seconds") \
                from None
    dates = []
    for t in targets:
        prefix = t["Filename"].split("_dists_", 1)[0] + "_dists_" + t["Release"].replace("/", "_")
        for name in (prefix + "_InRelease", prefix + "_Release"):
            if os.path.exists(name):
                dates.append(_release_date(name))
                break
    if not dates:
        raise HostError("the host has no package lists for these sources: run apt-get update, "
                        "or set SOURCE_DATE_EPOCH")
    return max(dates)


def _release_date(path: str) -> int:
    with open(path, errors="replace") as f:
        for line in f:             # InRelease: a PGP header, then the Release fields
            if line.startswith("Date:"):
                return int(email.utils.parsedate_to_datetime(line[5:].strip()).timestamp())
            if line.startswith("SHA256:") or line.startswith("-----BEGIN PGP SIGNATURE"):
                break
    raise HostError(f"{path}: no Date field")


# Docker Hub's slim images leave out documentation, manuals and translations; so do we
# (copyright files stay). dpkg without fsync: a half-made root filesystem is thrown away anyway.
DPKG_OPTIONS = ("force-unsafe-io", "path-exclude=/usr/share/doc/*",
                "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/man/*",
                "path-exclude=/usr/share/info/*", "path-exclude=/usr/share/locale/*",
                "path-include=/usr/share/locale/locale.alias")


def mmdebstrap_argv(p: Plan, packages_out: str) -> list[str]:
    """The mmdebstrap command writing the rootfs tar to stdout and `name=version` lines."""
    out = shlex.quote(packages_out)
    if p.variant == "extract":          # nothing is installed: list the extracted packages
        listing = ('--extract-hook=for deb in "$1"/var/cache/apt/archives/*.deb; do '
                   'dpkg-deb --show --showformat="\\${Package}=\\${Version}\\n" "$deb"; '
                   f"done > {out}")
    else:
        listing = ('--customize-hook=dpkg-query --admindir="$1/var/lib/dpkg" -W '
                   f'-f="\\${{Package}}=\\${{Version}}\\n" > {out}')
    argv = ["mmdebstrap", f"--variant={p.variant}", "--format=tar",
            *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
            # Containers get resolv.conf and hostname from the runtime; the host's would
            # make the image depend on the machine that made it.
            '--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"', listing]
    if p.kind == "python":
        # As in Docker Hub's python image, pip installs into the image's Python: the
        # container is the environment, so Debian's PEP 668 marker is left out.
        argv.append('--customize-hook=rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED')
    if p.include:
        argv.append("--include=" + ",".join(p.include))
    return argv + [p.suite, "-", *p.sources]


def make_rootfs(p: Plan, out: str, on_event=None) -> list[str]:
    """Run mmdebstrap | mmtarfilter into the file `out`; return the `name=version` list."""
    for tool in ("mmdebstrap", "mmtarfilter"):
        if not shutil.which(tool):
            raise NotFound(f"{tool} is not installed: apt-get install mmdebstrap")
    emit = on_event or (lambda event: None)
    with tempfile.TemporaryDirectory(prefix="dockyard-bootstrap-") as tmp:
        listing = os.path.join(tmp, "packages")
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(p.epoch))
        with open(out, "wb") as sink:
            # As root, mmdebstrap mounts /proc, /sys and /dev into its chroot; in a mount
            # namespace of its own those mounts die with it, however it ends.
            private = ["unshare", "--mount", "--propagation", "private"] if os.geteuid() == 0 \
                else []
            strap = subprocess.Popen(private + mmdebstrap_argv(p, listing), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, text=False)
            # mmtarfilter's own complaint (a traceback when mmdebstrap sent nothing) would
            # bury mmdebstrap's one line: it is kept aside and used only if it alone failed.
            filt_err = tempfile.TemporaryFile(dir=tmp)
            filt = subprocess.Popen(["mmtarfilter", "--path-exclude=/dev/*"], stdin=strap.stdout,
                                    stdout=sink, stderr=filt_err)
            strap.stdout.close()
            errors = []
            try:
                for raw in strap.stderr:
                    line = raw.decode(errors="replace").rstrip()
                    if line.startswith("I: "):
                        emit({"type": "bootstrap-step", "text": line[3:]})
                    elif line.startswith("E: ") or line.startswith("W: "):
                        errors.append(line)
                strap.wait()
                filt.wait()
            except BaseException:
                _stop(strap, filt)
                raise
        if strap.returncode:
            raise _failure(p, errors, strap.returncode)
        if filt.returncode:
            filt_err.seek(0)
            last = (filt_err.read().decode(errors="replace").strip().splitlines() or ["?"])[-1]
            raise HostError(f"mmtarfilter failed: {last}")
        with open(listing) as f:
            return sorted(line.strip() for line in f if line.strip())


def _stop(*procs) -> None:
    """Interrupted: end mmdebstrap, waiting for it to unmount what it mounted in its chroot."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _failure(p: Plan, errors: list[str], code: int):
    for line in errors:
        missing = re.search(r"Unable to locate package (\S+)", line)
        if missing:
            return InvalidArgument(f"--include {missing.group(1)}: no such package in {p.suite}")
    last = next((e for e in reversed(errors) if e.startswith("E: ")), f"exit code {code}")
    return HostError(f"mmdebstrap failed for {p.suite}: {last[3:] if last.startswith('E: ') else last}")


def cached_rootfs(p: Plan, cache_dir, on_event=None) -> tuple[str, list[str]]:
    """The plan's rootfs tar and package list from `cache_dir`, made there once (flock'd)."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    tar, listing = cache / f"{p.key}.tar", cache / f"{p.key}.packages"
    with open(cache / f"{p.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # a second process waits, then finds it made
        if not (tar.exists() and listing.exists()):
            part = cache / f".{p.key}.{os.getpid()}.tar"
            try:
                packages = make_rootfs(p, str(part), on_event)
                listing.write_text("\n".join(packages) + "\n")
                os.replace(part, tar)
            finally:
                part.unlink(missing_ok=True)
        else:
            (on_event or (lambda e: None))({"type": "bootstrap-step",
                                            "text": f"using the cached root filesystem {tar}"})
    return str(tar), listing.read_text().split()


def image_config(p: Plan, packages: list[str]) -> dict:
    """The OCI config: PATH, LANG=C.UTF-8, bash or python3, labels naming suite and versions."""
    labels = {f"{LABEL}.kind": p.kind, f"{LABEL}.suite": p.suite,
              f"{LABEL}.include": ",".join(p.include), f"{LABEL}.key": p.key,
              f"{LABEL}.packages": " ".join(packages)}
    return {"architecture": host_architecture(), "os": "linux", "created": rfc3339(p.epoch),
            "config": {"Env": [DEFAULT_PATH, "LANG=C.UTF-8"], "Labels": labels,
                       "Cmd": ["python3"] if p.kind == "python" else ["bash"]}}


def default_tags(p: Plan, packages: list[str]) -> list[str]:
    """debian:SUITE and debian:latest; python:X.Y, python:X.Y-SUITE and python:latest."""
    if p.kind == "debian":
        return [f"debian:{p.suite}", "debian:latest"]
    version = dict(pkg.split("=", 1) for pkg in packages).get("python3", "")
    match = re.match(r"(\d+\.\d+)", version)
    minor = [f"python:{match.group(1)}", f"python:{match.group(1)}-{p.suite}"] if match else []
    return minor + ["python:latest"]


def bootstrap(store, kind: str, *, suite: str = DEFAULT_SUITE, include=(), tag=None,
              cache_dir=None, on_event=None, variant: str = VARIANT, epoch: int | None = None):
    """Make (or find again) the base image `kind`; returns the Image.

    An image tagged as asked whose key label matches the plan is returned as it is.
    """
    p = plan(kind, suite, include, variant, epoch)
    emit = on_event or (lambda event: None)
    emit({"type": "bootstrap-start", "kind": kind, "suite": suite, "packages": list(p.include),
          "key": p.key})
    tags = [tag] if tag else None
    existing = _existing(store, tags or [f"{kind}:latest" if kind == "python" else
                                         f"debian:{suite}"], p.key)
    if existing is not None:
        emit({"type": "bootstrap-done", "image": existing.id, "cached": True})
        return existing
    cache_dir = cache_dir or os.environ.get(CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix="dockyard-bootstrap-") as tmp:
        if cache_dir:
            tar, packages = cached_rootfs(p, cache_dir, emit)
        else:
            tar = os.path.join(tmp, "rootfs.tar")
            packages = make_rootfs(p, tar, emit)
        emit({"type": "bootstrap-step", "text": "storing the root filesystem as a layer "
                                                f"({os.path.getsize(tar) >> 20} MiB)"})
        layer = store.add_layer_from_tar(tar, None)
    created = rfc3339(p.epoch)
    history = [{"created": created, "created_by": f"dockyard image bootstrap {kind} --suite "
                f"{suite}" + (f" --include {','.join(include)}" if include else ""),
                "comment": f"mmdebstrap --variant={p.variant} from the host's apt sources"}]
    image = store.create_image(image_config(p, packages), [layer],
                               tags=tags or default_tags(p, packages), history=history)
    emit({"type": "bootstrap-done", "image": image.id, "cached": False})
    return image


def _existing(store, tags: list[str], key: str):
    from ..errors import ImageNotFound
    try:
        image = store.get(tags[0])
    except ImageNotFound:
        return None
    labels = (store.inspect(image).get("Config") or {}).get("Labels") or {}
    return image if labels.get(f"{LABEL}.key") == key else None
