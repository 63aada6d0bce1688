"""System verbs: info, version, system check."""


def register(sub) -> None:
    group = sub.add_parser("system", help="Manage the data root")
    verbs = group.add_subparsers(dest="system_command", metavar="COMMAND")
    p = verbs.add_parser("check", help="Check the data root for damage and leftovers")
    p.add_argument("--repair", action="store_true",
                   help="finish or undo interrupted operations, remove leftovers")
    p.set_defaults(func=cmd_check)
    group.set_defaults(func=lambda args: group.print_help() or 0)
    p = sub.add_parser("info", help="Display what the host gives the engine")
    p.add_argument("-f", "--format")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("version", help="Show the dockyard version")
    p.set_defaults(func=cmd_version)


def cmd_info(args) -> int:
    from .. import Engine
    info = Engine(args.data_root).info()
    if args.format:
        from .format import render_format
        print(render_format(args.format, info))
        return 0
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


def cmd_version(args) -> int:
    from importlib.metadata import version
    import platform
    print(f"dockyard {version('dockyard')} (python {platform.python_version()}, "
          f"kernel {platform.release()})")
    return 0


def cmd_check(args) -> int:
    """One line per finding, then a summary; exit 1 while problems remain."""
    from .. import Engine
    from ..check import check
    report = check(Engine(args.data_root), repair=args.repair)
    for finding in report.findings:
        print(f"{'repaired' if finding.repaired else 'problem'}: {finding.area}: {finding.text}")
    counts = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    left = sum(not f.repaired for f in report.findings)
    print(f"checked {counts}: " + (f"{left} problem(s) left" + ("" if args.repair else
                                   " (--repair fixes what is safe to fix)") if left else "ok"))
    return 0 if report.ok else 1
