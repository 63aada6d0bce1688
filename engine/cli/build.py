"""`dockyard build`: build an image from a Dockerfile and a context, with BuildKit-like plain
progress on stderr (`#2 [2/6] RUN ...`, output lines, `CACHED`, `DONE 0.1s`, `writing image`)."""
import io
import os
import sys
import time

from .. import Engine, parse_reference
from ..errors import InvalidArgument


def register(sub) -> None:
    p = sub.add_parser("build", help="Build an image from a Dockerfile")
    p.add_argument("-t", "--tag", action="append", default=[], help="name:tag for the image")
    p.add_argument("-f", "--file", help="the Dockerfile (default CONTEXT/Dockerfile; - = stdin)")
    p.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--target", help="the stage to build")
    p.add_argument("--no-cache", action="store_true", help="build every step again")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--secret", action="append", default=[], metavar="id=ID,src=FILE")
    p.add_argument("--progress", default="plain", choices=("auto", "plain", "quiet", "tty"))
    p.add_argument("context", help="the build context directory (-: a tar of one, or a "
                                    "Dockerfile and no context, on stdin)")
    p.set_defaults(func=cmd_build)


def _pairs(items, what: str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {what}: {item!r} (want KEY=VALUE)")
        if not sep:                      # `--build-arg NAME` takes the caller's value
            if key not in os.environ:
                continue
            value = os.environ[key]
        out[key] = value
    return out


def _secrets(items) -> dict:
    out = {}
    for item in items:
        fields = dict(f.partition("=")[::2] for f in item.split(","))
        secret_id = fields.get("id")
        src = fields.get("src") or fields.get("source")
        if not secret_id or not src:
            raise InvalidArgument(f"invalid --secret {item!r}: want id=ID,src=FILE")
        out[secret_id] = src
    return out


class PlainProgress:
    """Renders builder events the way `docker build --progress=plain` does."""

    def __init__(self, stream):
        self.stream, self.started, self.labels = stream, {}, {}

    def __call__(self, event: dict) -> None:
        kind, step = event["type"], event.get("step")
        out = self.stream
        if kind == "step-start":
            self.started[step] = time.monotonic()
            stage = event["stage"]
            where = f"{stage} " if stage and not stage.isdigit() else ""
            print(f"#{step} [{where}{step}/{event['total']}] {event['instruction']}", file=out)
        elif kind == "cache-hit":
            print(f"#{step} CACHED\n", file=out)
        elif kind == "output":
            offset = time.monotonic() - self.started.get(step, time.monotonic())
            print(f"#{step} {offset:.3f} {event['line'].rstrip()}", file=out)
        elif kind == "step-done" and not event["cached"]:
            print(f"#{step} DONE {event['seconds']:.1f}s\n", file=out)
        elif kind == "build-done":
            n = len(self.started) + 1
            print(f"#{n} exporting to image", file=out)
            print(f"#{n} writing image {event['image']} done", file=out)
            for tag in event["tags"]:
                print(f"#{n} naming to {parse_reference(tag)} done", file=out)
            print(f"#{n} DONE {event['seconds']:.1f}s", file=out)
        elif kind == "build-failed":
            print(f"#{step} ERROR: {event['error']}", file=out)
        out.flush()


def _dockerfile_and_context(args) -> tuple:
    """(Dockerfile text or None, its path, the context: a dir, a tar stream, or None) as
    `docker build` reads them: `-f -` is the Dockerfile on stdin; a context of `-` is a tar
    of the context, or else a Dockerfile and no context, told apart by the bytes."""
    if args.context == "-":
        if args.file == "-":
            raise InvalidArgument("can't use stdin for both the build context and the Dockerfile")
        data = _stdin_bytes()
        if is_archive(data):
            return None, args.file or "Dockerfile", io.BytesIO(data)
        return _text(data), "Dockerfile", None
    if args.file == "-":
        return _text(_stdin_bytes()), "Dockerfile", args.context
    if not args.file:
        return None, "Dockerfile", args.context
    path = os.path.abspath(args.file)
    try:
        with open(path) as f:
            return f.read(), path, args.context
    except (FileNotFoundError, IsADirectoryError):
        raise InvalidArgument(f"no Dockerfile at {path}") from None


def is_archive(head: bytes) -> bool:
    """Whether bytes start a tar (plain, gzip, bzip2, xz or zstd), as docker build - decides."""
    import tarfile      # ~5 ms: only `build -` has bytes to tell apart
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        return True
    try:
        tarfile.TarInfo.frombuf(head[:512], "utf-8", "surrogateescape")
        return True
    except tarfile.TarError:
        return False


def _stdin_bytes() -> bytes:
    """All of stdin as bytes (a notebook's stdin is text only)."""
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read().encode()


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("stdin is neither a tar archive of a build context nor a "
                              "Dockerfile (it is not UTF-8 text)") from None


def cmd_build(args) -> int:
    dockerfile, dockerfile_path, context = _dockerfile_and_context(args)
    engine = Engine(args.data_root)
    quiet = args.quiet or args.progress == "quiet"
    progress = None if quiet else PlainProgress(sys.stderr)
    buildargs = _pairs(args.build_arg, "--build-arg")
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    image = engine.images.build(dockerfile, context=context, dockerfile_path=dockerfile_path,
                                tag=args.tag, buildargs=buildargs, target=args.target,
                                nocache=args.no_cache, quiet=quiet, on_event=progress,
                                labels=_pairs(args.label, "--label"),
                                source_date_epoch=epoch or None,
                                secrets=_secrets(args.secret))
    if quiet:
        print(image.id)
    return 0
