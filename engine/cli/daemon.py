"""`dockyard daemon`: serve Docker's Engine API over this engine, so the docker CLI, docker-py
and docker-compose drive it (DOCKER_HOST=unix:///run/dockyard.sock)."""
from .. import Engine
from ..errors import InvalidArgument


def register(sub) -> None:
    p = sub.add_parser("daemon", help="Serve the Docker Engine API (foreground)")
    p.add_argument("-H", "--host", action="append", default=[],
                   help="unix:///path or tcp://addr:port (TLS only); default "
                        "unix:///run/dockyard.sock")
    p.add_argument("--tlsverify", action="store_true",
                   help="require client certificates signed by --tlscacert (needed for tcp://)")
    p.add_argument("--tlscacert", help="CA certificate that signs the clients' certificates")
    p.add_argument("--tlscert", help="the server's certificate")
    p.add_argument("--tlskey", help="the server's key")
    p.add_argument("--registry-mirror", action="append", default=[], metavar="URL",
                   help="a Docker Hub mirror pulls try first (repeatable, in order)")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                   help="a registry reached without TLS verification (repeatable)")
    p.set_defaults(func=cmd_daemon)


def _tls(args):
    from ..api.server import TLS        # ~21 ms: the API server, for this command only
    given = [args.tlscacert, args.tlscert, args.tlskey]
    if not args.tlsverify:
        if any(given):
            raise InvalidArgument("--tlscacert/--tlscert/--tlskey need --tlsverify: the daemon "
                                  "serves TCP only to clients with certificates")
        return None
    if not all(given):
        raise InvalidArgument("--tlsverify needs --tlscacert, --tlscert and --tlskey")
    return TLS(cacert=args.tlscacert, cert=args.tlscert, key=args.tlskey)


def cmd_daemon(args) -> int:
    from ..api.server import serve      # ~21 ms: the API server, for this command only
    registries = {"registry-mirrors": args.registry_mirror,
                  "insecure-registries": args.insecure_registry}
    serve(Engine(args.data_root, registries=registries), args.host, tls=_tls(args))
    return 0
