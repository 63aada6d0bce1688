"""Container verbs: run, create, start, stop, kill, restart, wait, rm, ps, logs, exec, inspect,
top, stats, diff, commit, cp, export, port, and the `container` group with all of them (and
prune). The flags of run/create are in runflags.py; pause, unpause, rename and update are in
changes.py, attach in attach.py.
"""
import argparse
import contextlib
import sys
import time
from dataclasses import replace

from .. import Engine
from ..errors import InvalidArgument, StartError
from . import attach, changes
from . import container_views as views
from .attach import follow_until_exit, pump_stdin, run_attached
from .render import (binary, binary_stdout, confirm, for_each, for_each_container,
                     print_deleted, size)
from .runflags import add_run_flags, cidfile, run_options
from .terminal import raw_mode, size as terminal_size


def register(sub) -> None:
    """The container verbs, at the top level and again under `dockyard container`."""
    _register_verbs(sub)
    group = sub.add_parser("container", help="Manage containers")
    verbs = group.add_subparsers(dest="container_command", metavar="COMMAND",
                                 parser_class=sub._parser_class)
    _register_verbs(verbs, group=True)
    p = verbs.add_parser("prune", help="Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=cmd_prune)
    group.set_defaults(func=cmd_group_help, group_parser=group)


def _register_verbs(sub, group=False) -> None:
    for verb, help_ in (("run", "Create and run a new container from an image"),
                        ("create", "Create a new container")):
        p = sub.add_parser(verb, help=help_, add_help=False)   # -h is --hostname, as in Docker
        p.add_argument("--help", action="help")
        add_run_flags(p, detach=verb == "run")
        p.add_argument("image")
        p.add_argument("command", nargs=argparse.REMAINDER)
        # Docker: 125 when run/create fails (126/127: the command couldn't be run)
        p.set_defaults(func=cmd_run if verb == "run" else cmd_create, failure_status=125)

    p = sub.add_parser("start", help="Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true")
    p.add_argument("-i", "--interactive", action="store_true", help="attach stdin")
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
    p = sub.add_parser("rm", aliases=["remove"] if group else [],
                       help="Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-v", "--volumes", action="store_true")
    p.add_argument("containers", nargs="+")
    p.set_defaults(func=cmd_rm)
    p = sub.add_parser("ps", aliases=["ls", "list"] if group else [], help="List containers")
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
    p.add_argument("--since", help="only entries since a time (2013-01-02T13:23:37Z) or a "
                                   "duration before now (42m)")
    p.add_argument("--until", help="only entries before a time or a duration before now")
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
    p.add_argument("--type", choices=("container", "image", "network", "volume"),
                   default="container" if group else None)
    p.add_argument("objects", nargs="+")
    p.set_defaults(func=views.cmd_inspect)
    p = sub.add_parser("top", help="Display the running processes of a container")
    p.add_argument("container")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="[ps OPTIONS]")
    p.set_defaults(func=views.cmd_top)
    p = sub.add_parser("diff", help="Inspect changes to files on a container's filesystem, "
                       "or compare two images (IMAGE1 IMAGE2)")
    p.add_argument("container", metavar="CONTAINER|IMAGE1")
    p.add_argument("other", nargs="?", metavar="IMAGE2", help="compare two images")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="with two images: json prints the whole comparison")
    p.set_defaults(func=views.cmd_diff)
    p = sub.add_parser("port", help="List port mappings or a specific mapping for the container")
    p.add_argument("container")
    p.add_argument("private_port", nargs="?", metavar="PRIVATE_PORT[/PROTO]")
    p.set_defaults(func=views.cmd_port)
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
    p.add_argument("-a", "--archive", action="store_true", help="keep uid/gid of the source")
    p.add_argument("-L", "--follow-link", action="store_true", help="follow a symlink SRC")
    p.add_argument("-q", "--quiet", action="store_true", help="no 'Successfully copied' line")
    p.add_argument("source", metavar="SRC_PATH|-")
    p.add_argument("dest", metavar="DEST_PATH|-")
    p.set_defaults(func=cmd_cp)
    p = sub.add_parser("export", help="Export a container's filesystem as a tar archive")
    p.add_argument("-o", "--output")
    p.add_argument("container")
    p.set_defaults(func=cmd_export)
    changes.register(sub)
    attach.register(sub)


def _engine(args):
    return Engine(args.data_root)


def _with_image(engine, options):
    """Pull first when --pull says so, showing Docker's progress lines once the registry
    answers (a pull that can't start stays one error line); options then say never."""
    from .registry import PullProgress      # ~4 ms: run and create only
    if options.pull == "never":
        return options
    progress, started = PullProgress(sys.stderr), []

    def on_event(event):
        if not started:
            started.append(True)
            if options.pull == "missing":
                print(f"Unable to find image '{options.image}' locally", file=sys.stderr)
        progress(event)
    engine.images.get_or_pull(options.image, options.pull, platform=options.platform,
                              on_event=on_event)
    return replace(options, pull="never")


def cmd_create(args) -> int:
    engine = _engine(args)
    with cidfile(args.cidfile) as write_id:
        container = engine.containers.create_from(_with_image(engine, run_options(args)))
        write_id(container.id)
    _warn(container)
    print(container.id)
    return 0


def cmd_run(args) -> int:
    engine = _engine(args)
    options = _with_image(engine, run_options(args))
    if args.tty:        # the pty starts with our terminal's size, as Docker's ConsoleSize
        options = replace(options, console_size=terminal_size())
    with cidfile(args.cidfile) as write_id:
        container = engine.containers.create_from(options)
        write_id(container.id)
    _warn(container)
    if args.detach:
        engine.containers.start(container)
        print(container.id)
        return 0
    return run_attached(engine, container, remove=args.rm, stdin=args.interactive)


def _warn(container) -> None:
    for warning in container.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)


def cmd_start(args) -> int:
    engine = _engine(args)
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        container = engine.containers.get(args.containers[0])
        since = time.time()
        engine.containers.start(container, attach=True)
        if args.interactive:
            pump_stdin(container)
        return follow_until_exit(container, since=since)

    def start(ref):
        engine.containers.start(engine.containers.get(ref))
        print(ref)
    failed = for_each(args.containers, start)
    if failed:
        print(f"Error: failed to start containers: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _each(args, action) -> int:
    return for_each_container(_engine(args), args.containers, action)


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
    failed = for_each(args.containers, lambda ref: print(
        engine.containers.get(ref).wait()["StatusCode"], flush=True))
    return 1 if failed else 0


def cmd_prune(args) -> int:
    if not args.force and not confirm("WARNING! This will remove all stopped containers."):
        return 0
    report = _engine(args).containers.prune()
    print_deleted(report, [("Deleted Containers", "ContainersDeleted")])
    print(f"Total reclaimed space: {size(report['SpaceReclaimed'])}")
    return 0


def cmd_group_help(args) -> int:
    args.group_parser.print_help()
    return 0


def cmd_ps(args) -> int:
    # ~30 ms: the Go template engine and the row types, for list output only
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
    rows = [ContainerRow(c.summary(ids, size=size), trunc=not args.no_trunc)
            for c in containers]
    sys.stdout.write(render_rows(template, rows, ContainerRow.HEADERS))
    return 0


def cmd_logs(args) -> int:
    from .timestamps import parse_ns, rfc3339_ns    # ~5 ms (datetime, calendar): logs only
    container = _engine(args).containers.get(args.container)
    try:
        tail = None if args.tail == "all" else int(args.tail)
    except ValueError:
        raise InvalidArgument(f'invalid value for "--tail": {args.tail!r}') from None
    since = rfc3339_ns(parse_ns(args.since, flag="--since")) if args.since else None
    until = rfc3339_ns(parse_ns(args.until, flag="--until")) if args.until else None
    for entry in container.log_entries(follow=args.follow, tail=tail if tail is None or tail >= 0
                                       else None, since=since, until=until):
        out = binary(sys.stdout if entry.stream == "stdout" else sys.stderr)
        if args.timestamps:
            out.write(entry.time.encode() + b" ")
        out.write(entry.data)
        out.flush()
    return 0


def cmd_exec(args) -> int:
    container = _engine(args).containers.get(args.container)
    if not args.command:
        raise InvalidArgument("exec needs a command")
    if args.tty and not args.detach and (sys.stdin.isatty() or sys.stdout.isatty()):
        return _exec_in_terminal(container, args)
    try:
        proc = container.exec_process(args.command, environment=args.env, user=args.user,
                                      workdir=args.workdir, tty=args.tty,
                                      stdin=args.interactive, detach=args.detach)
    except StartError as exc:       # Docker: 126 when the command can't be started
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_status
    if args.detach:
        return 0
    data = sys.stdin.buffer.read() if args.interactive else None
    out, err = proc.communicate(data)
    container.exec_done(proc)
    binary(sys.stdout).write(out or b"")
    binary(sys.stderr).write(err or b"")
    container.emit("exec_die", execID=proc.exec_id, exitCode=proc.returncode)
    return proc.returncode


def _exec_in_terminal(container, args) -> int:
    """exec -t from a terminal: the shim copies between it and the pty (raw with -i), sizes the
    pty like it and follows its SIGWINCH; Ctrl-C without -i goes to the command."""
    with raw_mode(0) if args.interactive else contextlib.nullcontext():
        try:
            proc = container.exec_process(args.command, environment=args.env, user=args.user,
                                          workdir=args.workdir, tty=True, stdin=args.interactive,
                                          winsize=terminal_size(), terminal=True)
        except StartError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return exc.exit_status
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:     # the shim, in our process group, passed it on
                continue
    container.exec_done(proc)
    container.emit("exec_die", execID=proc.exec_id, exitCode=code)
    return code


def cmd_stats(args) -> int:
    from . import stats             # ~30 ms: templates and rows, stats only
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
    from .cp import copy            # ~9 ms (tarfile, tempfile): cp only
    copied = copy(_engine(args), args.source, args.dest, archive=args.archive,
                  follow_link=args.follow_link)
    if not args.quiet and "-" not in (args.source, args.dest):
        print(f"Successfully copied {size(copied)} to {args.dest}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from .cp import export          # ~9 ms (tarfile, tempfile): export only
    container = _engine(args).containers.get(args.container)
    if args.output:
        with open(args.output, "wb") as f:
            export(container, f)
    else:
        export(container, binary_stdout("export"))
    return 0
