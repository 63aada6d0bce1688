"""Read-only views of containers: inspect (of any object), top, port, diff."""
import json
import sys

from .. import Engine
from ..errors import NotFound
from .imagediff import print_image_diff
from .render import print_inspect, table


def _engine(args):
    return Engine(args.data_root)


def cmd_inspect(args) -> int:
    """Docker's inspect: every object found is printed, then an error line for each missing
    one (exit 1)."""
    engine = _engine(args)
    found, missing = [], []
    for ref in args.objects:
        for kind in ([args.type] if args.type else ["container", "image", "network", "volume"]):
            try:
                found.append(_inspect_one(engine, kind, ref, size=args.size))
                break
            except NotFound:
                continue
        else:
            missing.append(f"No such {args.type or 'object'}: {ref}")
    print_inspect(found, args.format)
    for line in missing:
        print(f"Error: {line}", file=sys.stderr)
    return 1 if missing else 0


def _inspect_one(engine, kind, ref, size=False) -> dict:
    if kind == "container":
        return engine.containers.get(ref).inspect(size=size)
    if kind == "image":
        return engine.images.inspect(ref)
    if kind == "network":
        return engine.networks.get(ref).inspect()
    return engine.volumes.get(ref).inspect()


def cmd_top(args) -> int:
    result = _engine(args).containers.get(args.container).top(" ".join(args.ps_args) or None)
    table(result["Titles"], result["Processes"])
    return 0


def cmd_diff(args) -> int:
    if args.other:                          # two names: images (issue 13), else Docker's diff
        result = _engine(args).images.diff(args.container, args.other)
        if args.format == "json":
            print(json.dumps(result, indent=2))
        else:
            print_image_diff(result)
        return 0
    for change in _engine(args).containers.get(args.container).diff():
        print("CAD"[change["Kind"]], change["Path"])
    return 0


def cmd_port(args) -> int:
    """All of the container's published ports, or the host addresses of one of them."""
    container = _engine(args).containers.get(args.container)
    ports = container.attrs["NetworkSettings"].get("Ports") or {}
    if args.private_port:
        port, _, proto = args.private_port.partition("/")
        key = f"{port}/{proto or 'tcp'}"
        bindings = ports.get(key) or []
        if not bindings:
            raise NotFound(f"No public port '{key}' published for {args.container}")
        for b in bindings:
            print(_host_address(b))
        return 0
    for cport, bindings in ports.items():
        for b in bindings or []:
            print(f"{cport} -> {_host_address(b)}")
    return 0


def _host_address(binding) -> str:
    host = binding["HostIp"] or "0.0.0.0"
    return f"[{host}]:{binding['HostPort']}" if ":" in host else f"{host}:{binding['HostPort']}"
