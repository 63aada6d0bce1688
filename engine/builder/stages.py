"""Build arguments and stage planning: which stages a target needs, and what ARGs hold.

    args = meta_arg_values(dockerfile, buildargs)         # ARGs before FROM, for FROM lines
    needed = needed_stages(dockerfile, target_index, args) # the target and what it uses
"""
from __future__ import annotations

import os
import platform

from ..dockerfile.shell import process_word

# Docker passes these from --build-arg to RUN without an ARG line, and keeps them out of the
# image history and the cache key.
PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                        "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


def proxy_env(buildargs: dict, environ=None) -> list[str]:
    """`K=V` for the proxy args a RUN sees: the builder's environment, then --build-arg."""
    environ = os.environ if environ is None else environ
    found = {k: environ[k] for k in sorted(PROXY_ARGS) if k in environ}
    found.update({k: v for k, v in buildargs.items() if k in PROXY_ARGS})
    return [f"{k}={v}" for k, v in found.items()]
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def platform_args() -> dict[str, str]:
    """BuildKit's automatic platform ARGs (TARGETPLATFORM, BUILDARCH, ...) for this host."""
    arch = _ARCH.get(platform.machine(), platform.machine())
    out = {}
    for prefix in ("BUILD", "TARGET"):
        out.update({f"{prefix}PLATFORM": f"linux/{arch}", f"{prefix}OS": "linux",
                    f"{prefix}ARCH": arch, f"{prefix}VARIANT": ""})
    return out


def meta_arg_values(dockerfile, buildargs: dict[str, str]) -> dict[str, str]:
    """Values of the global ARGs (declared before the first FROM), build args winning."""
    values = dict(platform_args())
    for ins in dockerfile.meta_args:
        for name, default in ins.pairs:
            name = process_word(name, values, escape=dockerfile.escape)
            if name in buildargs:
                values[name] = buildargs[name]
            elif default is not None:
                values[name] = process_word(default, values, escape=dockerfile.escape)
    return values


def stage_index(dockerfile, ref: str) -> int | None:
    """The index of the stage `ref` names (a name or a number), or None for an image."""
    for stage in dockerfile.stages:
        if stage.name and stage.name == ref.lower():
            return stage.index
    if ref.isdecimal() and int(ref) < len(dockerfile.stages):
        return int(ref)
    return None


def _references(dockerfile, stage, meta: dict[str, str]) -> list[str]:
    refs = [stage.base] + [ref for ins in stage.instructions for ref in ins.references()]
    return [process_word(ref, meta, escape=dockerfile.escape) for ref in refs]


def needed_stages(dockerfile, target: int, meta: dict[str, str]) -> list[int]:
    """Indices of the stages `target` depends on, itself included, in dependency order."""
    order: list[int] = []

    def visit(index: int, trail: tuple[int, ...]) -> None:
        if index in order or index in trail:
            return
        stage = dockerfile.stages[index]
        for ref in _references(dockerfile, stage, meta):
            other = stage_index(dockerfile, ref)
            # A stage may only use stages defined before it (Docker refuses forward links).
            if other is not None and other < index:
                visit(other, trail + (index,))
        order.append(index)
    visit(target, ())
    return order
