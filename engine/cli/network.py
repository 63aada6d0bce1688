"""`dockyard network`: create, ls, inspect, rm, prune, connect, disconnect."""
import sys

from .. import Engine
from .render import confirm, for_each, inspect_each, key_values


def register(sub) -> None:
    group = sub.add_parser("network", help="Manage networks")
    verbs = group.add_subparsers(dest="network_command", metavar="COMMAND")
    p = verbs.add_parser("create", help="Create a network")
    p.add_argument("-d", "--driver", default="bridge")
    p.add_argument("--subnet", help="subnet in CIDR form (default: a free one from the pool)")
    p.add_argument("--gateway", help="gateway address inside --subnet")
    p.add_argument("--internal", action="store_true", help="no access to outside the network")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE")
    p.add_argument("name")
    p.set_defaults(func=cmd_create)
    p = verbs.add_parser("ls", aliases=["list"], help="List networks")
    p.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--format", help="'table', 'table TEMPLATE', 'json' or a Go template")
    p.set_defaults(func=cmd_ls)
    p = verbs.add_parser("inspect", help="Show networks in detail")
    p.add_argument("-f", "--format")
    p.add_argument("networks", nargs="+")
    p.set_defaults(func=cmd_inspect)
    p = verbs.add_parser("rm", aliases=["remove"], help="Remove networks")
    p.add_argument("networks", nargs="+")
    p.set_defaults(func=cmd_rm)
    p = verbs.add_parser("prune", help="Remove all unused networks")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=cmd_prune)
    p = verbs.add_parser("connect", help="Connect a container to a network")
    p.add_argument("--alias", action="append", default=[])
    p.add_argument("--ip")
    p.add_argument("network")
    p.add_argument("container")
    p.set_defaults(func=cmd_connect)
    p = verbs.add_parser("disconnect", help="Disconnect a container from a network")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("network")
    p.add_argument("container")
    p.set_defaults(func=cmd_disconnect)
    group.set_defaults(func=cmd_help, network_parser=group)


def _networks(args):
    return Engine(args.data_root).networks


def _container(args):
    return Engine(args.data_root).containers.get(args.container)


def cmd_help(args) -> int:
    args.network_parser.print_help()
    return 0


def cmd_create(args) -> int:
    network = _networks(args).create(args.name, subnet=args.subnet, gateway=args.gateway,
                                     internal=args.internal, driver=args.driver,
                                     labels=key_values(args.label, "--label"))
    print(network.id)
    return 0


def cmd_ls(args) -> int:
    from .format import render_rows  # ~30 ms with the rows: list output only
    from .rows import NetworkRow, natural_key
    source = args.format or "table"
    template = ("{{.ID}}" if args.quiet else NetworkRow.TABLE) if source == "table" else source
    networks = sorted(_networks(args).list(filters=args.filter), key=lambda n: natural_key(n.name))
    rows = [NetworkRow(n.inspect(), trunc=not args.no_trunc) for n in networks]
    sys.stdout.write(render_rows(template, rows, NetworkRow.HEADERS))
    return 0


def cmd_inspect(args) -> int:
    nets = _networks(args)
    return inspect_each(args.networks, lambda name: nets.get(name).inspect(), args.format)


def cmd_rm(args) -> int:
    nets = _networks(args)

    def remove(name):
        nets.remove(name)
        print(name)
    return 1 if for_each(args.networks, remove) else 0


def cmd_prune(args) -> int:
    if not args.force and not confirm("WARNING! This will remove all custom networks not used "
                                      "by at least one container."):
        return 0
    removed = _networks(args).prune()
    if removed:
        print("Deleted Networks:")
        for name in removed:
            print(name)
    return 0


def cmd_connect(args) -> int:
    _container(args).connect(args.network, aliases=args.alias, ip=args.ip)
    return 0


def cmd_disconnect(args) -> int:
    _container(args).disconnect(args.network)
    return 0
