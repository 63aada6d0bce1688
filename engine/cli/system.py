"""System verbs: info, version, events, and the `system` group (info, df, prune, events,
check, start)."""
import platform

from .. import Engine
from .events import add_events
from .render import ago, confirm, print_deleted, size, table


def register(sub) -> None:
    _info(sub.add_parser("info", help="Display what the host gives the engine"))
    p = sub.add_parser("version", help="Show the dockyard version information")
    p.add_argument("-f", "--format", help="Go template, e.g. {{.Server.Version}}")
    p.set_defaults(func=cmd_version)
    add_events(sub.add_parser("events", help="Get real time events from the engine"))
    group = sub.add_parser("system", help="Manage dockyard")
    group.set_defaults(func=lambda args: group.print_help() or 0)   # `docker system`: the verbs
    verbs = group.add_subparsers(dest="system_command", metavar="COMMAND",
                                 parser_class=sub._parser_class)
    _info(verbs.add_parser("info", help="Display system-wide information"))
    p = verbs.add_parser("df", help="Show dockyard disk usage")
    p.add_argument("-v", "--verbose", action="store_true", help="every image, container, volume")
    p.add_argument("--format", help="Go template per row, e.g. {{.Type}} {{.Size}}")
    p.set_defaults(func=cmd_df)
    p = verbs.add_parser("prune", help="Remove unused data")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images, not "
                                                            "only dangling ones")
    p.add_argument("--volumes", action="store_true", help="prune anonymous volumes too")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=cmd_prune)
    add_events(verbs.add_parser("events", help="Get real time events from the engine"))
    p = verbs.add_parser("check", help="Check the data root for damage and leftovers")
    p.add_argument("--repair", action="store_true",
                   help="finish or undo interrupted operations, remove leftovers")
    p.set_defaults(func=cmd_check)
    p = verbs.add_parser("start", help="Start the containers whose restart policy brings them "
                                       "back after a reboot (run it at boot)")
    p.set_defaults(func=cmd_start)


def _info(p):
    p.add_argument("-f", "--format")
    p.set_defaults(func=cmd_info)


def _engine(args):
    return Engine(args.data_root)


def cmd_info(args) -> int:
    info = _engine(args).info()
    if args.format:
        from .format import render_format  # ~25 ms: Go templates, with --format only
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


def version_info(engine) -> dict:
    """`docker version`'s two parts: this client, and the engine it runs in-process."""
    server = engine.version()
    server["OsArch"] = f"{server['Os']}/{server['Arch']}"
    return {"Client": {"Version": server["Version"], "PythonVersion": platform.python_version(),
                       "Os": server["Os"], "Arch": server["Arch"], "Context": "default"},
            "Server": server}


def cmd_version(args) -> int:
    info = version_info(_engine(args))
    if args.format:
        from .format import render_format  # ~25 ms: Go templates, with --format only
        print(render_format(args.format, info))
        return 0
    client, server = info["Client"], info["Server"]
    print("Client:")
    for key, value in (("Version", client["Version"]), ("Python version", client["PythonVersion"]),
                       ("OS/Arch", server["OsArch"]), ("Context", client["Context"])):
        print(f" {key + ':':<19}{value}")
    print(f"\nServer: {server['Platform']['Name']}\n Engine:")
    for key, value in (("Version", server["Version"]), ("Data root", server["DataRoot"]),
                       ("Kernel version", server["KernelVersion"]),
                       ("OS/Arch", server["OsArch"])):
        print(f"  {key + ':':<18}{value}")
    return 0


def cmd_df(args) -> int:
    engine = _engine(args)
    report = engine.df()
    rows = []
    for kind, total, active, used, reclaimable in df_rows(report):
        share = f" ({100 * reclaimable // used}%)" if used else ""
        rows.append([kind, total, active, size(used), size(reclaimable) + share])
    if args.format:
        from .format import render_format  # ~25 ms: Go templates, with --format only
        for kind, total, active, used, reclaimable in rows:
            print(render_format(args.format, {"Type": kind, "TotalCount": total,
                                              "Active": active, "Size": used,
                                              "Reclaimable": reclaimable}))
        return 0
    table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows)
    if args.verbose:
        _verbose(report)
    return 0


def df_rows(report: dict) -> list[tuple[str, int, int, int, int]]:
    """docker system df's rows: (type, total, active, size, reclaimable), counted as Docker's
    CLI counts them (an image in use keeps its layers but those it shares)."""
    images, containers, volumes = report["Images"], report["Containers"], report["Volumes"]
    used = sum(i["Size"] - i["SharedSize"] for i in images if i["Containers"])
    alive = ("running", "paused")
    return [
        ("Images", len(images), sum(1 for i in images if i["Containers"]),
         report["LayersSize"], max(report["LayersSize"] - used, 0)),
        ("Containers", len(containers), sum(1 for c in containers if c["State"] in alive),
         sum(c["SizeRw"] for c in containers),
         sum(c["SizeRw"] for c in containers if c["State"] not in alive)),
        ("Local Volumes", len(volumes), sum(1 for v in volumes if v["UsageData"]["RefCount"]),
         sum(v["UsageData"]["Size"] for v in volumes),
         sum(v["UsageData"]["Size"] for v in volumes if not v["UsageData"]["RefCount"])),
        # RUN --mount=type=cache directories: kept by prune (a build may be using them)
        ("Build Cache", len(report["BuildCache"]), 0, report["BuildCacheMountsSize"], 0),
    ]


def _verbose(report: dict) -> None:
    print("\nImages space usage:\n")
    table(["REPOSITORY:TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE",
           "CONTAINERS"],
          [[", ".join(i["RepoTags"]) or "<none>", i["Id"][7:19], ago(i["Created"]),
            size(i["Size"]), size(i["SharedSize"]), size(i["Size"] - i["SharedSize"]),
            i["Containers"]] for i in report["Images"]])
    print("\nContainers space usage:\n")
    table(["CONTAINER ID", "IMAGE", "SIZE", "STATUS", "NAMES"],
          [[c["Id"][:12], c["Image"], size(c["SizeRw"]), c["State"], c["Names"][0][1:]]
           for c in report["Containers"]])
    print("\nLocal Volumes space usage:\n")
    table(["VOLUME NAME", "LINKS", "SIZE"],
          [[v["Name"], v["UsageData"]["RefCount"], size(v["UsageData"]["Size"])]
           for v in report["Volumes"]])


def cmd_prune(args) -> int:
    what = ["all stopped containers", "all networks not used by at least one container"]
    if args.volumes:
        what.append("all anonymous volumes not used by at least one container")
    what += ["all images without at least one container associated to them" if args.all
             else "all dangling images", "unused build cache"]
    warning = "WARNING! This will remove:\n" + "".join(f"  - {w}\n" for w in what)
    if not args.force and not confirm(warning):
        return 0
    report = _engine(args).prune(all=args.all, volumes=args.volumes)
    print_deleted(report, [("Deleted Containers", "ContainersDeleted"),
                           ("Deleted Networks", "NetworksDeleted"),
                           ("Deleted Volumes", "VolumesDeleted")])
    if report["ImagesDeleted"]:
        print("Deleted Images:")
        for event in report["ImagesDeleted"]:
            for key, value in event.items():
                print(f"{key.lower()}: {value}")
        print()
    if report["CachesDeleted"]:
        print(f"Deleted build cache objects: {report['CachesDeleted']}\n")
    print(f"Total reclaimed space: {size(report['SpaceReclaimed'])}")
    return 0


def cmd_check(args) -> int:
    """One line per finding, then a summary; exit 1 while problems remain."""
    report = _engine(args).check(repair=args.repair)
    for finding in report.findings:
        print(f"{'repaired' if finding.repaired else 'problem'}: {finding.area}: {finding.text}")
    counts = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    left = sum(not f.repaired for f in report.findings)
    print(f"checked {counts}: " + (f"{left} problem(s) left" + ("" if args.repair else
                                   " (--repair fixes what is safe to fix)") if left else "ok"))
    return 0 if report.ok else 1


def cmd_start(args) -> int:
    """Bring back, after a reboot, what the restart policies say (see engine/autostart.py);
    any engine use does the same, this verb is for boot scripts. Prints the names started."""
    engine = Engine(args.data_root)
    engine.containers           # noqa: B018 - its first use is the check
    for container in engine.started_after_reboot:
        print(container.name)
    return 0
