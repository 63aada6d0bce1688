"""`dockyard kernel install|list|remove`: the dockyard Jupyter kernels Jupyter knows.

`install` alone registers "Python 3 (dockyard)" (the host kernel with the magics); with
`--image IMAGE` a kernelspec whose kernel runs inside a container of IMAGE (the provisioner).
"""
from .. import Engine
from ..errors import HostError, InvalidArgument, NotFound
from .tabwriter import tabwrite


def register(subparsers) -> None:
    """Add `kernel install [--image I] [...]`, `kernel list`, `kernel remove NAME...`."""
    parser = subparsers.add_parser("kernel", help="manage the dockyard Jupyter kernels")
    parser.set_defaults(func=_missing_verb)
    verbs = parser.add_subparsers(dest="kernel_command", metavar="VERB")
    install = verbs.add_parser("install", help='install the "Python 3 (dockyard)" kernelspec, '
                                               "or one for an image")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true",
                       help="install into this Python's prefix (a virtualenv)")
    where.add_argument("--prefix", metavar="P", help="install under P/share/jupyter/kernels")
    install.add_argument("--image", help="run the kernel inside a container of this image")
    install.add_argument("--name", default=None,
                         help="kernelspec name (default dockyard, or dockyard-IMAGE)")
    install.add_argument("--display-name", default=None,
                         help='name shown in Jupyter (default "Python 3 (dockyard)" or '
                              '"Python 3 (dockyard: IMAGE)")')
    install.set_defaults(func=handler)
    listing = verbs.add_parser("list", aliases=["ls"], help="list the dockyard kernelspecs")
    listing.set_defaults(func=cmd_list)
    remove = verbs.add_parser("remove", aliases=["rm"], help="remove dockyard kernelspecs")
    remove.add_argument("names", nargs="+", metavar="NAME")
    remove.set_defaults(func=cmd_remove)


def _missing_verb(args) -> int:
    raise InvalidArgument("dockyard kernel: a verb is needed (install, list, remove)")


def handler(args) -> int:
    """Install the kernelspec and print where it went."""
    from dockyard.kernel import spec     # ~7 ms: only this command needs it

    name = args.name or (spec.image_kernel_name(args.image) if args.image else spec.KERNEL_NAME)
    data_root = None
    if args.image:
        engine = Engine(args.data_root)
        engine.images.get(args.image)          # ImageNotFound now, not at the first notebook
        data_root = str(engine.root)
    try:
        path = spec.install(name, user=args.user, sys_prefix=args.sys_prefix,
                            prefix=args.prefix, display_name=args.display_name,
                            image=args.image, data_root=data_root)
    except OSError as exc:
        raise HostError(f"can't install kernelspec {name!r}: {exc.strerror or exc}") from exc
    print(f"Installed kernelspec {name} in {path}")
    return 0


def cmd_list(args) -> int:
    from dockyard.kernel import spec     # ~8 ms: every CLI run registers this module
    lines = ["NAME\tIMAGE\tDISPLAY NAME\tPATH"]
    lines += [f"{k['name']}\t{k['image'] or '(host)'}\t{k['display_name']}\t{k['path']}"
              for k in spec.dockyard_kernels()]
    print(tabwrite("\n".join(lines)))
    return 0


def cmd_remove(args) -> int:
    from dockyard.kernel import spec     # ~8 ms

    names = {k["name"] for k in spec.dockyard_kernels()}
    for name in args.names:
        if name not in names:
            raise NotFound(f"no dockyard kernelspec named {name!r} (see dockyard kernel list)")
        spec.remove(name)
        print(f"Removed kernelspec {name}")
    return 0
