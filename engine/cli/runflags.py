"""The flags of `docker run` / `docker create`, and their meaning as engine RunOptions.

The CLI and the magics parse with the same parser, then call `run_options(args)`, so
`%container run -d -p 8080:80 web` means exactly what `dockyard run -d -p 8080:80 web` does.
"""
import contextlib
import os

from .. import RunOptions
from ..errors import InvalidArgument


def add_run_flags(p, detach=True) -> None:
    """The flags of `docker run` / `docker create`."""
    if detach:
        p.add_argument("-d", "--detach", action="store_true", help="run in the background, print the id")
        p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    else:
        p.set_defaults(detach=False, rm=False)
    p.add_argument("--name")
    p.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-e", "--env", action="append", default=[], help="set an environment variable")
    p.add_argument("--env-file", action="append", default=[])
    p.add_argument("-w", "--workdir")
    p.add_argument("-u", "--user", help="uid[:gid] or name[:group]")
    p.add_argument("-h", "--hostname")
    p.add_argument("-l", "--label", action="append", default=[])
    p.add_argument("--entrypoint")
    p.add_argument("--network", "--net", dest="network")
    p.add_argument("--ip")
    p.add_argument("--network-alias", "--net-alias", action="append", default=[], dest="network_alias")
    p.add_argument("-p", "--publish", action="append", default=[])
    p.add_argument("-P", "--publish-all", action="store_true")
    p.add_argument("-v", "--volume", action="append", default=[])
    p.add_argument("--mount", action="append", default=[])
    p.add_argument("--tmpfs", action="append", default=[])
    p.add_argument("--volumes-from", action="append", default=[])
    p.add_argument("-m", "--memory")
    p.add_argument("--memory-swap")
    p.add_argument("--cpus")
    p.add_argument("--pids-limit", type=int)
    p.add_argument("--cap-add", action="append", default=[])
    p.add_argument("--cap-drop", action="append", default=[])
    p.add_argument("--privileged", action="store_true")
    p.add_argument("--security-opt", action="append", default=[],
                   help="seccomp=unconfined|PROFILE.json, no-new-privileges")
    p.add_argument("--device", action="append", default=[], help="HOST[:CONTAINER[:rwm]]")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--init", action="store_true")
    p.add_argument("--stop-signal")
    p.add_argument("--stop-timeout", type=int)
    p.add_argument("--ulimit", action="append", default=[])
    p.add_argument("--pull", choices=("missing", "always", "never"), default="missing",
                   help="pull the image before creating (default: when it is missing)")
    p.add_argument("--add-host", action="append", default=[], metavar="HOST:IP",
                   help="add a line to /etc/hosts (IP may be host-gateway)")
    p.add_argument("--dns", action="append", default=[], help="a nameserver for resolv.conf")
    p.add_argument("--dns-search", action="append", default=[], help="a search domain")
    p.add_argument("--dns-option", "--dns-opt", action="append", default=[], dest="dns_option")
    p.add_argument("--link", action="append", default=[], metavar="CONTAINER[:ALIAS]",
                   help="another container's name as ALIAS (DNS on user networks, /etc/hosts "
                        "on the default bridge)")
    p.add_argument("--expose", action="append", default=[], help="a port or range to expose")
    p.add_argument("--shm-size", help="size of /dev/shm (default 64m)")
    p.add_argument("--cidfile", help="write the container id to this file")
    p.add_argument("--platform", help="os/arch[/variant] the image must be for")
    p.add_argument("--label-file", action="append", default=[], help="read labels from a file")
    p.add_argument("--log-driver", default="json-file", help="json-file or none")
    p.add_argument("--sysctl", action="append", default=[], metavar="KEY=VALUE",
                   help="a namespaced kernel parameter (net.*, kernel.shm*, fs.mqueue.*)")
    p.add_argument("--group-add", action="append", default=[], help="an additional group")
    p.add_argument("--oom-kill-disable", action="store_true")
    p.add_argument("--cpu-shares", "-c", type=int, help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    p.add_argument("--memory-reservation", help="memory soft limit")
    p.add_argument("--restart", help="no | on-failure[:max-retries] | always | unless-stopped")
    p.add_argument("--log-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="json-file: max-size=10m, max-file=3")
    p.add_argument("--health-cmd", help="command to run to check health")
    for name, what in (("interval", "time between checks"), ("timeout", "longest a check may run"),
                       ("start-period", "start-up time before failures count"),
                       ("start-interval", "time between checks during the start period")):
        p.add_argument(f"--health-{name}", help=f"{what} (ms|s|m|h)")
    p.add_argument("--health-retries", type=int, help="failures in a row before unhealthy")
    p.add_argument("--no-healthcheck", action="store_true", help="disable any HEALTHCHECK")


def run_options(args):
    """argparse Namespace of run/create -> engine RunOptions."""
    env = list(args.env)
    for path in args.env_file:
        env += _read_lines(path, "--env-file")
    entrypoint = None
    if args.entrypoint is not None:
        entrypoint = (args.entrypoint,) if args.entrypoint else ()
    labels = {}
    for path in args.label_file:
        labels.update(item.partition("=")[::2] for item in _read_lines(path, "--label-file"))
    labels.update(item.partition("=")[::2] for item in args.label)
    if args.rm and args.restart not in (None, "", "no"):
        raise InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    return RunOptions(
        image=args.image, command=tuple(args.command) or None, entrypoint=entrypoint,
        name=args.name, environment=tuple(env), working_dir=args.workdir, user=args.user,
        hostname=args.hostname, labels=labels, tty=args.tty, stdin_open=args.interactive,
        # Only a detached run is removed by its monitor; an attached client reads the last of
        # the output first and removes the container itself.
        auto_remove=args.rm and args.detach, network=args.network, ip=args.ip,
        network_aliases=tuple(args.network_alias), ports=tuple(args.publish),
        publish_all=args.publish_all, volumes=tuple(args.volume), mounts=tuple(args.mount),
        tmpfs=tuple(args.tmpfs), volumes_from=tuple(args.volumes_from), memory=args.memory,
        memory_swap=args.memory_swap, cpus=args.cpus, pids_limit=args.pids_limit,
        cap_add=tuple(args.cap_add), cap_drop=tuple(args.cap_drop), privileged=args.privileged,
        security_opt=tuple(args.security_opt), devices=tuple(args.device), read_only=args.read_only, init=args.init,
        stop_signal=args.stop_signal, stop_timeout=args.stop_timeout, ulimits=tuple(args.ulimit),
        pull=args.pull, extra_hosts=tuple(args.add_host), dns=tuple(args.dns),
        dns_search=tuple(args.dns_search), dns_opt=tuple(args.dns_option),
        links=tuple(args.link),
        expose=tuple(args.expose), shm_size=args.shm_size, platform=args.platform,
        log_driver=args.log_driver, sysctls=_sysctls(args.sysctl), group_add=tuple(args.group_add),
        oom_kill_disable=args.oom_kill_disable, cpu_shares=args.cpu_shares,
        cpuset_cpus=args.cpuset_cpus, memory_reservation=args.memory_reservation,
        restart_policy=args.restart, log_opts=_log_opts(args.log_opt),
        healthcheck=_healthcheck(args))


def _healthcheck(args) -> dict | None:
    """--health-* and --no-healthcheck as docker-py's healthcheck dict (None: the image's)."""
    given = {key: value for key, value in (
        ("test", args.health_cmd and ["CMD-SHELL", args.health_cmd]),
        ("interval", args.health_interval), ("timeout", args.health_timeout),
        ("start_period", args.health_start_period), ("start_interval", args.health_start_interval),
        ("retries", args.health_retries)) if value not in (None, "")}
    if args.no_healthcheck:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"test": ["NONE"]}
    return given or None


def _read_lines(path, flag: str) -> list[str]:
    """The non-empty, non-comment lines of an --env-file or --label-file."""
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise InvalidArgument(f"{flag} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"{flag} {path}: not UTF-8 text") from None


def _log_opts(items) -> dict:
    """["max-size=10m", ...] (--log-opt) -> {"max-size": "10m"}."""
    opts = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise InvalidArgument(f"invalid log opt '{item}': KEY=VALUE expected")
        opts[key] = value
    return opts


def _sysctls(items) -> dict:
    """["net.ipv4.ip_forward=1"] -> {"net.ipv4.ip_forward": "1"}, Docker's KEY=VALUE check."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise InvalidArgument(f'invalid argument "{item}" for "--sysctl" flag: '
                                  f"sysctl '{item}' is not allowed")
        out[key] = value
    return out


@contextlib.contextmanager
def cidfile(path):
    """--cidfile: refused if the file exists (Docker's words); yields a function that writes
    the id once created; the file is removed again if the create fails."""
    if not path:
        yield lambda cid: None
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise InvalidArgument("container ID file found, make sure the other container isn't "
                              f"running or delete {path}") from None
    except OSError as exc:
        raise InvalidArgument(f"failed to create the container ID file {path}: "
                              f"{exc.strerror}") from None
    try:
        yield lambda cid: os.write(fd, cid.encode())
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
