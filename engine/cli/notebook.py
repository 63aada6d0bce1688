"""`dockyard notebook lock|build|verify|run|diff|image|pull`: the notebook as an environment spec.

    dockyard notebook lock analysis.ipynb          # build the environment cells, write the lock
    dockyard notebook verify analysis.ipynb        # exit 0 when every cell matches, else 1
    dockyard notebook run analysis.ipynb -o out.ipynb

Build progress goes to stderr (BuildKit's plain lines, under a header per cell); the drift
table to stdout. Exit statuses: 0 done (verify: everything matches), 1 drift (verify) or any
failure, 125 a bad command line.
"""
import json
import sys

from .. import Engine
from .build import PlainProgress
from .imagediff import print_lock_diff
from .render import table


def register(sub) -> None:
    group = sub.add_parser("notebook", help="Lock, build, verify, run, diff and ship notebooks")
    verbs = group.add_subparsers(dest="notebook_command", metavar="COMMAND", required=True)
    p = verbs.add_parser("lock", help="Build the environment cells and write the lock")
    _common(p)
    p.add_argument("--sidecar", action="store_true",
                   help="write NAME.dockyard-lock.json beside the notebook instead")
    p.set_defaults(func=cmd_lock)
    p = verbs.add_parser("build", help="Build the environment cells by the lock")
    _common(p)
    p.set_defaults(func=cmd_build)
    p = verbs.add_parser("verify", help="Check that the environment cells build as locked")
    _common(p)
    p.add_argument("--update", action="store_true", help="rewrite the lock from this build")
    p.set_defaults(func=cmd_verify)
    p = verbs.add_parser("run", help="Build by the lock, then execute the notebook headless")
    p.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    p.add_argument("-o", "--output", help="the executed copy (default NAME.executed.ipynb)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds each cell may run (default: no limit)")
    p.add_argument("--kernel", default="dockyard", help="the kernel to run on (default dockyard)")
    p.add_argument("-q", "--quiet", action="store_true", help="no build progress")
    p.set_defaults(func=cmd_run)
    p = verbs.add_parser("diff", help="Compare the locks (and environments) of two notebooks")
    p.add_argument("first", metavar="A.ipynb")
    p.add_argument("second", metavar="B.ipynb")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_diff)
    p = verbs.add_parser("image", help="An image holding the notebook on its environment")
    p.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    p.add_argument("-t", "--tag", required=True, help="name the image")
    p.add_argument("--jupyter", action="store_true",
                   help="add JupyterLab when the environment lacks it")
    p.add_argument("-q", "--quiet", action="store_true", help="no build progress")
    p.set_defaults(func=cmd_image)
    p = verbs.add_parser("pull", help="Take a notebook and its lock out of an image")
    p.add_argument("ref", metavar="IMAGE")
    p.add_argument("directory", nargs="?", default=".", metavar="DIR")
    p.set_defaults(func=cmd_pull)


def _common(p) -> None:
    p.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    p.add_argument("--no-cache", action="store_true", help="build every step again")
    p.add_argument("-q", "--quiet", action="store_true", help="no build progress")


def _engine(args):
    # jsonschema (under nbformat) imports rfc3987_syntax, when installed, for its "iri" format
    # check, which no notebook or lock schema uses; building its grammar costs seconds per
    # command. This is our own process, so leave it out.
    sys.modules.setdefault("rfc3987_syntax", None)
    return Engine(args.data_root)


def progress(quiet: bool):
    """The on_event printing each cell's header and its build as `docker build` does (only
    warnings with `quiet`)."""
    plain = PlainProgress(sys.stderr)

    def on_event(event: dict) -> None:
        if event["type"] == "warning":            # even with -q
            print(f"Warning: {event['text']}", file=sys.stderr, flush=True)
        elif quiet:
            return
        elif event["type"] == "cell-start":
            print(f"==> {event['cell']}", file=sys.stderr, flush=True)
        elif event["type"] not in ("cell-done", "build-done"):
            plain(event)
    return on_event


def cmd_lock(args) -> int:
    engine = _engine(args)
    lock = engine.notebooks.lock(args.notebook, sidecar=args.sidecar, nocache=args.no_cache,
                                 on_event=progress(args.quiet))
    rows = [[f"cell {c['index'] + 1}", c["magic"], short(c["image"])] for c in lock["cells"]]
    table(["CELL", "MAGIC", "IMAGE"], rows)
    return 0


def drift_table(rows) -> None:
    table(["CELL", "STATUS", "LOCKED", "CURRENT", "STEP", "WHY"],
          [[r.cell, r.status, short(r.locked), short(r.current), r.step or "-", r.reason or "-"]
           for r in rows])


def cmd_build(args) -> int:
    rows = _engine(args).notebooks.build(args.notebook, nocache=args.no_cache,
                                         on_event=progress(args.quiet))
    drift_table(rows)
    return 0


def cmd_verify(args) -> int:
    rows = _engine(args).notebooks.verify(args.notebook, nocache=args.no_cache,
                                          update=args.update, on_event=progress(args.quiet))
    drift_table(rows)
    if args.update:
        return 0
    return 0 if rows.ok else 1


def cmd_run(args) -> int:
    out = _engine(args).notebooks.run(args.notebook, output=args.output, timeout=args.timeout,
                                      kernel=args.kernel, on_event=progress(args.quiet))
    print(out)
    return 0


def cmd_diff(args) -> int:
    result = _engine(args).notebooks.diff(args.first, args.second)
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print_lock_diff(result)
    return 0


def cmd_image(args) -> int:
    image = _engine(args).notebooks.image(args.notebook, args.tag, jupyter=args.jupyter,
                                          on_event=progress(args.quiet))
    print(image.id)
    return 0


def cmd_pull(args) -> int:
    for path in _engine(args).notebooks.pull(args.ref, args.directory):
        print(path)
    return 0


def short(digest: str | None) -> str:
    """sha256:0123456789ab (12 hex digits), or "-"."""
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]
