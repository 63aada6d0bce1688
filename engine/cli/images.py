"""Image verbs: images, rmi, tag, history, import, and the `image` group (ls, rm, inspect, prune,
tag, history, import, bootstrap, and build, pull, push, save, load)."""
import sys

from .. import Engine, parse_reference
from . import build
from .registry import register_image_verbs
from .render import ago_seconds, confirm, for_each, inspect_each, size, table


def register(sub) -> None:
    _ls(sub.add_parser("images", help="List images"))
    _rm(sub.add_parser("rmi", help="Remove one or more images"))
    _tag(sub.add_parser("tag", help="Create a tag TARGET that refers to SOURCE"))
    _history(sub.add_parser("history", help="Show the history of an image"))
    _import(sub.add_parser("import", help="Import a rootfs tarball as an image"))
    image = sub.add_parser("image", help="Manage images")
    image.set_defaults(func=lambda args: image.print_help() or 0)   # `docker image`: the verbs
    group = image.add_subparsers(dest="image_command", metavar="COMMAND",
                                 parser_class=sub._parser_class)
    _ls(group.add_parser("ls", aliases=["list"], help="List images"))
    _rm(group.add_parser("rm", aliases=["remove"], help="Remove one or more images"))
    _tag(group.add_parser("tag", help="Tag an image"))
    _history(group.add_parser("history", help="Show the history of an image"))
    _import(group.add_parser("import", help="Import a rootfs tarball as an image"))
    p = group.add_parser("inspect", help="Display detailed information on images")
    p.add_argument("-f", "--format")
    p.add_argument("images", nargs="+")
    p.set_defaults(func=cmd_inspect)
    p = group.add_parser("prune", help="Remove unused images")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-f", "--force", action="store_true")
    p.set_defaults(func=cmd_prune)
    register_image_verbs(group)
    build.register(group)
    p = group.add_parser("bootstrap", help="Make a base image on this host, without a registry")
    p.add_argument("name", choices=("busybox", "debian", "python"),
                   help="busybox: from the host's busybox-static; debian, python: with "
                        "mmdebstrap from the host's apt sources")
    p.add_argument("-t", "--tag", help="name it (default busybox:latest, debian:SUITE, python:X.Y)")
    p.add_argument("--suite", default="bookworm", help="the Debian suite (default bookworm)")
    p.add_argument("--include", action="append", default=[], metavar="PKG,...",
                   help="more Debian packages (debian, python)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.set_defaults(func=cmd_bootstrap)


def _ls(p):
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("--digests", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--format", help="'table', 'table TEMPLATE', 'json' or a Go template")
    p.add_argument("repository", nargs="?")
    p.set_defaults(func=cmd_ls)


def _rm(p):
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("images", nargs="+")
    p.set_defaults(func=cmd_rm)


def _tag(p):
    p.add_argument("source")
    p.add_argument("target")
    p.set_defaults(func=cmd_tag)


def _history(p):
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("image")
    p.set_defaults(func=cmd_history)


def _import(p):
    p.add_argument("-c", "--change", action="append", default=[])
    p.add_argument("-m", "--message")
    p.add_argument("file", help="a rootfs tarball, or - for stdin")
    p.add_argument("reference", nargs="?")
    p.set_defaults(func=cmd_import)


def _engine(args):
    return Engine(args.data_root)


def cmd_ls(args) -> int:
    from .format import render_rows  # ~30 ms with the rows: list output only
    from .rows import ImageRow
    engine = _engine(args)
    images = engine.images.list(name=args.repository, all=args.all, filters=args.filter)
    source = args.format or "table"
    if source == "table":
        template = ("{{.ID}}" if args.quiet else
                    ImageRow.DIGEST_TABLE if args.digests else ImageRow.TABLE)
    elif source.startswith("table") and args.digests and "{{.Digest}}" not in source:
        template = source + "\t{{.Digest}}"
    else:
        template = source
    rows = []
    for image in images:
        shown = engine.images.summary(image)
        for repo, tag, digest in image_rows(shown, args.digests or "{{.Digest}}" in template,
                                            args.digests):
            rows.append(ImageRow(shown, repo, tag, digest, trunc=not args.no_trunc))
    sys.stdout.write(render_rows(template, rows, ImageRow.HEADERS))
    return 0


def image_rows(summary: dict, digests: bool,
               digest_rows: bool | None = None) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) rows of `docker images` for one image (its summary), by
    Docker's rules.

    A tag's row shows its repository's digest when `digests` (else `<none>`); a repository
    the image has only a digest in gets `<none>` tag rows, one per digest with `digest_rows`
    (--digests), else one with no digest; an image with neither is `<none> <none>`.
    """
    digest_rows = digests if digest_rows is None else digest_rows
    tags: dict[str, list[str]] = {}
    pinned: dict[str, list[str]] = {}
    for text in summary["RepoTags"]:            # familiar "name:tag": the tag follows the last :
        repo, _, tag = text.rpartition(":")
        tags.setdefault(repo, []).append(tag)
    for text in summary["RepoDigests"]:         # familiar "name@sha256:..."
        repo, _, digest = text.partition("@")
        pinned.setdefault(repo, []).append(digest)
    if not tags and not pinned:
        return [("<none>", "<none>", "<none>")]
    rows = []
    for repo, repo_tags in tags.items():
        found = pinned.pop(repo, [])          # shown on the tag's rows, not as rows of their own
        if not digests:
            found = []
        for tag in repo_tags:
            rows += [(repo, tag, d) for d in found] or [(repo, tag, "<none>")]
    for repo, found in pinned.items():        # known by digest only
        rows += [(repo, "<none>", d) for d in found] if digest_rows else [(repo, "<none>", "")]
    return rows


def cmd_rm(args) -> int:
    engine = _engine(args)

    def remove(ref):
        for event in engine.images.remove(ref, force=args.force):
            for key, value in event.items():
                print(f"{key}: {value}")
    return 1 if for_each(args.images, remove) else 0


def cmd_tag(args) -> int:
    _engine(args).images.tag(args.source, args.target)
    return 0


def cmd_history(args) -> int:
    rows = []
    for entry in _engine(args).images.history(args.image):
        created_by = entry["CreatedBy"]
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        shown = entry["Id"] if args.no_trunc or entry["Id"] == "<missing>" else entry["Id"][7:19]
        rows.append([shown, ago_seconds(entry["Created"]), created_by, size(entry["Size"]),
                     entry.get("Comment", "")])
    if args.quiet:
        for row in rows:
            print(row[0])
        return 0
    table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows)
    return 0


def cmd_import(args) -> int:
    engine = _engine(args)
    source = sys.stdin.buffer if args.file == "-" else args.file

    def note(event):
        print(f"note: {event['message']}", file=sys.stderr)
    image = engine.images.import_image(source, args.reference, changes=args.change,
                                       message=args.message, on_event=note)
    print(image.id)
    return 0


def cmd_inspect(args) -> int:
    return inspect_each(args.images, _engine(args).images.inspect, args.format)


def cmd_prune(args) -> int:
    if not args.force and not confirm(
            "WARNING! This will remove all images without at least one container associated "
            "to them." if args.all else "WARNING! This will remove all dangling images."):
        return 0
    result = _engine(args).images.prune(all=args.all)
    for event in result.get("ImagesDeleted") or []:
        for key, value in event.items():
            print(f"{key}: {value}")
    print(f"Total reclaimed space: {size(result.get('SpaceReclaimed', 0))}")
    return 0


def cmd_bootstrap(args) -> int:
    include = [name for value in args.include for name in value.split(",") if name]

    def progress(event):
        if event["type"] == "bootstrap-step":
            print(f"  {event['text']}", file=sys.stderr, flush=True)
        elif event["type"] == "bootstrap-start":
            extra = f" with {', '.join(event['packages'])}" if event["packages"] else ""
            print(f"Bootstrapping {event['kind']} ({event['suite']}){extra}", file=sys.stderr,
                  flush=True)

    image = _engine(args).images.bootstrap(args.name, args.tag, suite=args.suite, include=include,
                                           on_event=None if args.quiet else progress)
    if not args.quiet:
        tags = (parse_reference(t).familiar for t in image.tags)
        print(f"Tagged {', '.join(tags)}", file=sys.stderr)
    print(image.id)
    return 0
