"""System verbs: info, version."""


def register(sub) -> None:
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
