"""Registry and archive verbs: pull, push, save, load, login, logout, with Docker's plain output."""
import sys

from .. import Engine, parse_reference
from ..errors import InvalidArgument
from .progress import pull_progress, push_progress
from .render import binary_stdout, table


def register(sub) -> None:
    register_image_verbs(sub)
    p = sub.add_parser("login", help="Log in to a registry")
    p.add_argument("-u", "--username")
    p.add_argument("-p", "--password")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("server", nargs="?", default="docker.io")
    p.set_defaults(func=cmd_login)
    p = sub.add_parser("search", help="Search Docker Hub (or a named index) for images")
    p.add_argument("--limit", type=int, default=25, help="max number of results")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("term", metavar="TERM")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("logout", help="Log out from a registry")
    p.add_argument("server", nargs="?", default="docker.io")
    p.set_defaults(func=cmd_logout)


def register_image_verbs(sub) -> None:
    """pull, push, save and load: top-level verbs, and again under `dockyard image`."""
    p = sub.add_parser("pull", help="Download an image from a registry")
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform image")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image name")
    p.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    p.set_defaults(func=cmd_pull)
    p = sub.add_parser("push", help="Upload an image to a registry")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the digest line")
    p.add_argument("--compression", choices=("gzip", "zstd"),
                   help="how layers made here are compressed (default: gzip, or the setting)")
    p.add_argument("--platform", help="os/arch[/variant] the image must be for")
    p.add_argument("name", metavar="NAME[:TAG]")
    p.set_defaults(func=cmd_push)
    p = sub.add_parser("save", help="Save images to a tar archive (stdout by default)")
    p.add_argument("-o", "--output", help="write to a file instead of stdout")
    p.add_argument("--format", choices=("docker-archive", "oci-archive"),
                   help="docker-archive (default: Docker's layout, also an OCI layout) or "
                        "oci-archive (the OCI layout alone, full names as Podman writes them)")
    p.add_argument("images", nargs="+")
    p.set_defaults(func=cmd_save)
    p = sub.add_parser("load", help="Load images from a tar archive or stdin")
    p.add_argument("-i", "--input", help="read from a tar archive file instead of stdin")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_load)


def _engine(args):
    return Engine(args.data_root)


def cmd_pull(args) -> int:
    ref = parse_reference(args.name)
    if not args.quiet and not ref.digest and ":" not in args.name.rsplit("/", 1)[-1]:
        print("Using default tag: latest", flush=True)
    show = None if args.quiet else pull_progress(args.name, sys.stdout)

    def on_event(event):
        if event["type"] == "note":
            print(f"note: {event['message']}", file=sys.stderr, flush=True)
        elif show is not None:
            show(event)
    _engine(args).images.pull(args.name, platform=args.platform, on_event=on_event)
    print(str(ref))
    return 0


def cmd_push(args) -> int:
    ref = parse_reference(args.name)
    show = None if args.quiet else push_progress(args.name, sys.stdout)
    result = _engine(args).images.push(args.name, compression=args.compression,
                                       platform=args.platform, on_event=show)
    if args.quiet:
        print(f"{ref.tag}: digest: {result['digest']} size: {result['size']}")
    return 0


def cmd_save(args) -> int:
    engine = _engine(args)
    if args.output:
        engine.images.save(args.images, args.output, format=args.format)
        return 0
    if sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or "
                              "redirect")
    out = binary_stdout("save")
    engine.images.save(args.images, out, format=args.format)
    out.flush()
    return 0


def cmd_load(args) -> int:
    engine = _engine(args)
    source = args.input or sys.stdin.buffer

    def note(event):
        print(f"note: {event['message']}", file=sys.stderr)
    for loaded in engine.images.load(source, note):
        if args.quiet:
            continue
        for tag in loaded.tags:
            print(f"Loaded image: {tag}")
        if not loaded.tags:
            print(f"Loaded image ID: {loaded.image.id}")
    return 0


def cmd_search(args) -> int:
    rows = []
    for hit in _engine(args).images.search(args.term, limit=args.limit):
        text = (hit.get("description") or "").replace("\n", " ")
        if not args.no_trunc and len(text) > 45:
            text = text[:44] + "…"
        rows.append([hit.get("name", ""), text, hit.get("star_count", 0),
                     "[OK]" if hit.get("is_official") else ""])
    table(["NAME", "DESCRIPTION", "STARS", "OFFICIAL"], rows)
    return 0


def cmd_login(args) -> int:
    import getpass  # ~1 ms: login only

    password = args.password
    if args.password_stdin:
        if password:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        if not args.username:
            raise InvalidArgument("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
              file=sys.stderr)
    username = args.username or input("Username: ").strip()
    if not password:
        password = getpass.getpass("Password: ")
    if not username or not password:
        raise InvalidArgument("login needs a username and a password")
    _engine(args).images.login(args.server, username, password)
    print("Login Succeeded")
    return 0


def cmd_logout(args) -> int:
    if _engine(args).images.logout(args.server):
        print(f"Removing login credentials for {args.server}")
    else:
        print(f"Not logged in to {args.server}")
    return 0
