"""`dockyard kernel install`: register the dockyard Jupyter kernel with Jupyter."""
from ..errors import HostError, InvalidArgument


def register(subparsers) -> None:
    """Add `kernel install [--user|--sys-prefix|--prefix P] [--name N] [--display-name D]`."""
    parser = subparsers.add_parser("kernel", help="manage the dockyard Jupyter kernel")
    parser.set_defaults(func=_missing_verb)
    verbs = parser.add_subparsers(dest="kernel_command", metavar="VERB")
    install = verbs.add_parser("install", help='install the "Python 3 (dockyard)" kernelspec')
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true",
                       help="install into this Python's prefix (a virtualenv)")
    where.add_argument("--prefix", metavar="P", help="install under P/share/jupyter/kernels")
    install.add_argument("--name", default="dockyard", help="kernelspec name (default dockyard)")
    install.add_argument("--display-name", default=None,
                         help='name shown in Jupyter (default "Python 3 (dockyard)")')
    install.set_defaults(func=handler)


def _missing_verb(args) -> int:
    raise InvalidArgument("dockyard kernel: a verb is needed (install)")


def handler(args) -> int:
    """Install the kernelspec and print where it went."""
    from dockyard.kernel import spec     # ~7 ms: only this command needs it

    try:
        path = spec.install(args.name, user=args.user, sys_prefix=args.sys_prefix,
                            prefix=args.prefix,
                            display_name=args.display_name or spec.DISPLAY_NAME)
    except OSError as exc:
        raise HostError(f"can't install kernelspec {args.name!r}: {exc.strerror or exc}") from exc
    print(f"Installed kernelspec {args.name} in {path}")
    return 0
