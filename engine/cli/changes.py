"""Verbs that change containers in place: pause, unpause, rename, update."""
import sys

from .. import Engine
from ..errors import InvalidArgument
from .render import for_each_container


def register(sub) -> None:
    p = sub.add_parser("pause", help="Pause all processes within one or more containers")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_pause)
    p = sub.add_parser("unpause", help="Unpause all processes within one or more containers")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_unpause)
    p = sub.add_parser("rename", help="Rename a container")
    p.add_argument("container")
    p.add_argument("new_name", metavar="NEW_NAME")
    p.set_defaults(func=cmd_rename)
    p = sub.add_parser("update", help="Update configuration of one or more containers")
    p.add_argument("-m", "--memory")
    p.add_argument("--memory-swap")
    p.add_argument("--memory-reservation")
    p.add_argument("--cpus")
    p.add_argument("-c", "--cpu-shares", type=int)
    p.add_argument("--cpuset-cpus")
    p.add_argument("--pids-limit", type=int)
    p.add_argument("--restart", help="no | on-failure[:max-retries] | always | unless-stopped")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_update)


def cmd_pause(args) -> int:
    return for_each_container(Engine(args.data_root), args.containers, lambda c: c.pause())


def cmd_unpause(args) -> int:
    return for_each_container(Engine(args.data_root), args.containers, lambda c: c.unpause())


def cmd_rename(args) -> int:
    Engine(args.data_root).containers.get(args.container).rename(args.new_name)
    return 0


def cmd_update(args) -> int:
    limits = dict(memory=args.memory, memory_swap=args.memory_swap,
                  memory_reservation=args.memory_reservation, cpus=args.cpus,
                  cpu_shares=args.cpu_shares, cpuset_cpus=args.cpuset_cpus,
                  pids_limit=args.pids_limit, restart_policy=args.restart)
    if all(value is None for value in limits.values()):
        raise InvalidArgument("you must provide one or more flags when using this command")

    def update(container):
        for warning in container.update(**limits):
            print(f"WARNING: {warning}", file=sys.stderr)
    return for_each_container(Engine(args.data_root), args.containers, update)
