"""`dockyard volume`: create, ls, inspect, rm, prune, printed as Docker prints them."""
import sys

from .. import Engine
from ..errors import DockyardError, InvalidArgument
from .render import confirm, key_values, print_deleted, print_inspect, size


def register(subparsers) -> None:
    """Add `volume create|ls|inspect|rm|prune`."""
    parser = subparsers.add_parser("volume", help="Manage volumes")
    parser.set_defaults(func=_missing_verb, volume_parser=parser)
    verbs = parser.add_subparsers(dest="volume_command", metavar="VERB")

    p = verbs.add_parser("create", help="Create a volume")
    p.add_argument("name", nargs="?", metavar="VOLUME")
    p.add_argument("--name", dest="name_flag", metavar="VOLUME", help="volume name")
    p.add_argument("-d", "--driver", default="local", help='volume driver (only "local")')
    p.add_argument("--label", action="append", default=[], metavar="K=V", help="set metadata")
    p.add_argument("-o", "--opt", action="append", default=[], metavar="K=V",
                   help="driver options (none supported by local yet)")
    p.set_defaults(func=cmd_create)

    p = verbs.add_parser("ls", aliases=["list"], help="List volumes")
    p.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="K=V",
                   help="dangling, driver, label or name")
    p.add_argument("--format", help="'table', 'table TEMPLATE', 'json' or a Go template")
    p.set_defaults(func=cmd_ls)

    p = verbs.add_parser("inspect", help="Display detailed information on volumes")
    p.add_argument("volumes", nargs="+", metavar="VOLUME")
    p.add_argument("-f", "--format", help="Go template, e.g. {{.Mountpoint}}")
    p.set_defaults(func=cmd_inspect)

    p = verbs.add_parser("rm", aliases=["remove"], help="Remove volumes")
    p.add_argument("volumes", nargs="+", metavar="VOLUME")
    p.add_argument("-f", "--force", action="store_true", help="no error for missing volumes")
    p.set_defaults(func=cmd_rm)

    p = verbs.add_parser("prune", help="Remove unused anonymous volumes")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused volumes")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=cmd_prune)


def _missing_verb(args) -> int:
    """`dockyard volume` alone shows the verbs, as `docker volume` does."""
    args.volume_parser.print_help()
    return 0


def _volumes(args):
    return Engine(args.data_root).volumes


def cmd_create(args) -> int:
    if args.name and args.name_flag and args.name != args.name_flag:
        raise InvalidArgument(f"conflicting volume names: {args.name} and {args.name_flag}")
    volume = _volumes(args).create(args.name or args.name_flag, driver=args.driver,
                                   labels=key_values(args.label, "--label"),
                                   options=key_values(args.opt, "--opt"))
    print(volume.name)
    return 0


def cmd_ls(args) -> int:
    from .format import render_rows  # ~30 ms with the rows: list output only
    from .rows import VolumeRow, natural_key
    source = args.format or "table"
    template = ("{{.Name}}" if args.quiet else VolumeRow.TABLE) if source == "table" else source
    volumes = sorted(_volumes(args).list(filters=args.filter), key=lambda v: natural_key(v.name))
    rows = [VolumeRow(v.inspect()) for v in volumes]
    sys.stdout.write(render_rows(template, rows, VolumeRow.HEADERS))
    return 0


def cmd_inspect(args) -> int:
    vols, found, failed = _volumes(args), [], False
    for name in args.volumes:
        try:
            found.append(vols.get(name).inspect())
        except DockyardError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            failed = True
    if args.format or found or not failed:
        print_inspect(found, args.format)
    return 1 if failed else 0


def cmd_rm(args) -> int:
    vols, failed = _volumes(args), False
    in_use = vols.in_use()
    for name in args.volumes:
        try:
            vols.remove(name, force=args.force, in_use=in_use)
            print(name)
        except DockyardError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def cmd_prune(args) -> int:
    what = "local volumes" if args.all else "anonymous local volumes"
    if not args.force and not confirm(f"WARNING! This will remove {what} not used by at least "
                                      "one container."):
        return 0
    report = _volumes(args).prune(all=args.all)
    print_deleted(report, [("Deleted Volumes", "VolumesDeleted")])
    print(f"Total reclaimed space: {size(report['SpaceReclaimed'])}")
    return 0
