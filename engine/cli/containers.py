"""Container verbs: run, create, start, stop, kill, restart, wait, rm, ps, logs, exec, inspect,
top, stats, diff, commit, cp, export, port. The flags of run/create are in runflags.py.
"""
import argparse
import contextlib

from .render import binary, binary_stdout
from .runflags import add_run_flags, run_options


def register(sub) -> None:
    for verb, help_ in (("run", "Create and run a new container from an image"),
                        ("create", "Create a new container")):
        p = sub.add_parser(verb, help=help_, add_help=False)   # -h is --hostname, as in Docker
        p.add_argument("--help", action="help")
        add_run_flags(p, detach=verb == "run")
        p.add_argument("image")
        p.add_argument("command", nargs=argparse.REMAINDER)
        p.set_defaults(func=cmd_run if verb == "run" else cmd_create)

    p = sub.add_parser("start", help="Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_start)
    for verb in ("stop", "restart"):
        p = sub.add_parser(verb, help=f"{verb.title()} one or more containers")
        p.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time")
        p.add_argument("-s", "--signal")
        p.add_argument("containers", nargs="+")
        p.set_defaults(func=cmd_stop if verb == "stop" else cmd_restart)
    p = sub.add_parser("kill", help="Kill one or more running containers")
    p.add_argument("-s", "--signal", default="KILL")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_kill)
    p = sub.add_parser("wait", help="Block until containers stop, then print their exit codes")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_wait)
    p = sub.add_parser("rm", help="Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-v", "--volumes", action="store_true")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_rm)
    p = sub.add_parser("ps", help="List containers")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--format", help="'table', 'table TEMPLATE', 'json' or a Go template")
    p.add_argument("-n", "--last", type=int, default=-1, help="the N last created (any state)")
    p.add_argument("-l", "--latest", action="store_true", help="the last created (any state)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-s", "--size", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.set_defaults(func=cmd_ps)
    p = sub.add_parser("logs", help="Fetch the logs of a container")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-t", "--timestamps", action="store_true")
    p.add_argument("-n", "--tail", default="all")
    p.add_argument("container")
    p.set_defaults(func=cmd_logs)
    p = sub.add_parser("exec", help="Execute a command in a running container")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("-i", "--interactive", action="store_true")
    p.add_argument("-t", "--tty", action="store_true")
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("-u", "--user")
    p.add_argument("-w", "--workdir")
    p.add_argument("container")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_exec)
    p = sub.add_parser("inspect", help="Return low-level information on containers or images")
    p.add_argument("-f", "--format")
    p.add_argument("-s", "--size", action="store_true", help="containers: add SizeRw, SizeRootFs")
    p.add_argument("--type", choices=("container", "image", "network", "volume"))
    p.add_argument("objects", nargs="+")
    p.set_defaults(func=cmd_inspect)
    for verb, help_ in (("top", "Display the running processes of a container"),
                        ("diff", "Inspect changes to files on a container's filesystem"),
                        ("port", "List port mappings of the container")):
        p = sub.add_parser(verb, help=help_)
        p.add_argument("container")
        p.set_defaults(func={"top": cmd_top, "diff": cmd_diff, "port": cmd_port}[verb])
    p = sub.add_parser("stats", help="Display a live stream of containers' resource usage")
    p.add_argument("-a", "--all", action="store_true", help="all containers, not just running")
    p.add_argument("--format", help="'table', 'table TEMPLATE', 'json' or a Go template")
    p.add_argument("--no-stream", action="store_true", help="one table, not a live one")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("containers", nargs="*")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("commit", help="Create a new image from a container's changes")
    p.add_argument("-m", "--message")
    p.add_argument("-a", "--author")
    p.add_argument("-c", "--change", action="append", default=[])
    p.add_argument("container")
    p.add_argument("repository", nargs="?")
    p.set_defaults(func=cmd_commit)
    p = sub.add_parser("cp", help="Copy files between a container and the local filesystem")
    p.add_argument("source")
    p.add_argument("dest")
    p.set_defaults(func=cmd_cp)
    p = sub.add_parser("export", help="Export a container's filesystem as a tar archive")
    p.add_argument("-o", "--output")
    p.add_argument("container")
    p.set_defaults(func=cmd_export)


def _engine(args):
    from .. import Engine
    return Engine(args.data_root)


def _with_image(engine, options):
    """Pull first when --pull says so, showing Docker's progress lines once the registry
    answers (a pull that can't start stays one error line); options then say never."""
    import sys
    from dataclasses import replace
    from ..create import resolve_image
    from .registry import PullProgress
    if options.pull == "never":
        return options
    progress, started = PullProgress(sys.stderr), []

    def on_event(event):
        if not started:
            started.append(True)
            if options.pull == "missing":
                print(f"Unable to find image '{options.image}' locally", file=sys.stderr)
        progress(event)
    resolve_image(engine, options.image, options.pull, on_event=on_event)
    return replace(options, pull="never")


def cmd_create(args) -> int:
    from ..create import create_container
    engine = _engine(args)
    container = create_container(engine, _with_image(engine, run_options(args)))
    print(container.id)
    return 0


def cmd_run(args) -> int:
    from ..create import create_container
    from .attach import run_attached
    engine = _engine(args)
    options = _with_image(engine, run_options(args))
    if args.tty:        # the pty starts with our terminal's size, as Docker's ConsoleSize
        from dataclasses import replace
        from .terminal import size
        options = replace(options, console_size=size())
    container = create_container(engine, options)
    if args.detach:
        engine.containers.start(container)
        print(container.id)
        return 0
    return run_attached(engine, container, remove=args.rm, stdin=args.interactive)


def cmd_start(args) -> int:
    engine = _engine(args)
    for ref in args.containers:
        container = engine.containers.get(ref)
        engine.containers.start(container)
        if args.attach:
            from .attach import follow_until_exit
            return follow_until_exit(container)
        print(ref)
    return 0


def _each(args, action) -> int:
    engine = _engine(args)
    for ref in args.containers:
        action(engine.containers.get(ref))
        print(ref)
    return 0


def cmd_stop(args) -> int:
    return _each(args, lambda c: c.stop(args.time))


def cmd_restart(args) -> int:
    return _each(args, lambda c: c.restart(args.time))


def cmd_kill(args) -> int:
    return _each(args, lambda c: c.kill(args.signal))


def cmd_rm(args) -> int:
    return _each(args, lambda c: c.remove(force=args.force, v=args.volumes))


def cmd_wait(args) -> int:
    engine = _engine(args)
    for ref in args.containers:
        print(engine.containers.get(ref).wait()["StatusCode"])
    return 0


def cmd_ps(args) -> int:
    import sys
    from ..container_inspect import container_summary
    from .format import render_rows
    from .rows import ContainerRow
    engine = _engine(args)
    containers = engine.containers.list(all=args.all, filters=args.filter,
                                        limit=1 if args.latest else args.last)
    source = args.format or "table"
    if args.quiet:
        template = "{{.ID}}"
    elif source == "table":
        template = ContainerRow.TABLE + ("\t{{.Size}}" if args.size else "")
    else:
        template = source
    size = args.size or (not args.quiet and ".Size" in template)   # sizes cost a tree walk
    ids = ({n.name: n.id for n in engine.networks.list()}
           if any(c.record.get("Endpoints") for c in containers) else {})
    rows = [ContainerRow(container_summary(c, ids, size=size), trunc=not args.no_trunc)
            for c in containers]
    sys.stdout.write(render_rows(template, rows, ContainerRow.HEADERS))
    return 0


def cmd_logs(args) -> int:
    import sys
    container = _engine(args).containers.get(args.container)
    tail = None if args.tail == "all" else int(args.tail)
    for entry in container.log_entries(follow=args.follow, tail=tail):
        out = binary(sys.stdout if entry.stream == "stdout" else sys.stderr)
        if args.timestamps:
            out.write(entry.time.encode() + b" ")
        out.write(entry.data)
        out.flush()
    return 0


def cmd_exec(args) -> int:
    from ..errors import Conflict, InvalidArgument
    from ..runtime import process
    container = _engine(args).containers.get(args.container)
    if not args.command:
        raise InvalidArgument("exec needs a command")
    if container.status != "running":
        raise Conflict(f"container {container.name} is not running")
    import sys
    if args.tty and not args.detach and (sys.stdin.isatty() or sys.stdout.isatty()):
        return _exec_in_terminal(container, args)
    proc = process.exec(container.bundle, args.command, env=args.env, user=args.user,
                        cwd=args.workdir, tty=args.tty, stdin=args.interactive, detach=args.detach)
    if args.detach:
        return 0
    data = sys.stdin.buffer.read() if args.interactive else None
    out, err = proc.communicate(data)
    binary(sys.stdout).write(out or b"")
    binary(sys.stderr).write(err or b"")
    return proc.returncode


def _exec_in_terminal(container, args) -> int:
    """exec -t from a terminal: the shim copies between it and the pty (raw with -i), sizes the
    pty like it and follows its SIGWINCH; Ctrl-C without -i goes to the command."""
    from ..runtime import process
    from .terminal import raw_mode, size
    with raw_mode(0) if args.interactive else contextlib.nullcontext():
        proc = process.exec(container.bundle, args.command, env=args.env, user=args.user,
                            cwd=args.workdir, tty=True, stdin=args.interactive,
                            console_size=size(), terminal=True)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:     # the shim, in our process group, passed it on
                continue


def cmd_inspect(args) -> int:
    from .render import print_inspect
    from ..errors import NotFound
    engine = _engine(args)
    found = []
    for ref in args.objects:
        for kind in ([args.type] if args.type else ["container", "image", "network", "volume"]):
            try:
                found.append(_inspect_one(engine, kind, ref, size=args.size))
                break
            except NotFound:
                continue
        else:
            raise NotFound(f"No such object: {ref}")
    print_inspect(found, args.format)
    return 0


def _inspect_one(engine, kind, ref, size=False) -> dict:
    if kind == "container":
        from ..container_inspect import container_inspect
        return container_inspect(engine.containers.get(ref), size=size)
    if kind == "image":
        return engine.images.inspect(ref)
    if kind == "network":
        return engine.networks.get(ref).inspect()
    return engine.volumes.get(ref).inspect()


def cmd_top(args) -> int:
    from .render import table
    procs = _engine(args).containers.get(args.container).top()
    table(["UID", "PID", "PPID", "CMD"], [[p["user"], p["pid"], p.get("ppid", ""), p["cmd"]]
                                          for p in procs])
    return 0


def cmd_diff(args) -> int:
    for change in _engine(args).containers.get(args.container).diff():
        print("CAD"[change["Kind"]], change["Path"])
    return 0


def cmd_port(args) -> int:
    container = _engine(args).containers.get(args.container)
    for cport, bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).items():
        for b in bindings or []:
            print(f"{cport} -> {b['HostIp'] or '0.0.0.0'}:{b['HostPort']}")
    return 0


def cmd_stats(args) -> int:
    from . import stats
    return stats.run(_engine(args), args.containers, all=args.all, stream=not args.no_stream,
                     source=args.format, trunc=not args.no_trunc)


def cmd_commit(args) -> int:
    engine = _engine(args)
    container = engine.containers.get(args.container)
    image = container.commit(args.repository, message=args.message, author=args.author,
                             changes=args.change)
    print(image.id)
    return 0


def cmd_cp(args) -> int:
    from .cp import copy
    copy(_engine(args), args.source, args.dest)
    return 0


def cmd_export(args) -> int:
    from .cp import export
    container = _engine(args).containers.get(args.container)
    if args.output:
        with open(args.output, "wb") as f:
            export(container, f)
    else:
        export(container, binary_stdout("export"))
    return 0
