"""System verbs: info, version, and the `system` group (start)."""


def register(sub) -> None:
    p = sub.add_parser("info", help="Display what the host gives the engine")
    p.add_argument("-f", "--format")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("version", help="Show the dockyard version")
    p.set_defaults(func=cmd_version)
    group = sub.add_parser("system", help="Manage dockyard")
    group.set_defaults(func=lambda args: group.print_help() or 0)
    verbs = group.add_subparsers(dest="system_command", metavar="COMMAND",
                                 parser_class=sub._parser_class)
    p = verbs.add_parser("start", help="Start the containers whose restart policy brings them "
                                       "back after a reboot (run it at boot)")
    p.set_defaults(func=cmd_start)


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


def cmd_start(args) -> int:
    """Bring back, after a reboot, what the restart policies say (see engine/autostart.py);
    any engine use does the same, this verb is for boot scripts. Prints the names started."""
    from .. import Engine
    engine = Engine(args.data_root)
    engine.containers           # noqa: B018 - its first use is the check
    for container in engine.started_after_reboot:
        print(container.name)
    return 0
