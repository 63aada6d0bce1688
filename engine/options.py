"""RunOptions: what `docker run` / `docker create` accept, as one plain value.

The CLI builds it from its flags, the Python API from docker-py style keyword arguments; the
create stage (engine/create.py) turns it and the image config into a record and a runtime spec.
"""
from dataclasses import dataclass, field, fields

from .errors import InvalidArgument


@dataclass(frozen=True)
class RunOptions:
    image: str
    command: tuple[str, ...] | None = None      # None: the image's Cmd
    entrypoint: tuple[str, ...] | None = None   # None: the image's; (): cleared (--entrypoint "")
    name: str | None = None
    environment: tuple[str, ...] = ()           # "K=V" or "K" (taken from the caller's environment)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    labels: dict = field(default_factory=dict)
    tty: bool = False
    stdin_open: bool = False
    auto_remove: bool = False
    network: str | None = None                  # None: the default bridge; "none", "host", NAME, container:X
    ip: str | None = None
    network_aliases: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()                 # -p specs
    publish_all: bool = False
    volumes: tuple[str, ...] = ()               # -v specs
    mounts: tuple[str, ...] = ()                # --mount specs
    tmpfs: tuple[str, ...] = ()                 # --tmpfs specs
    volumes_from: tuple[str, ...] = ()
    memory: str | int | None = None
    memory_swap: str | int | None = None
    cpus: str | float | None = None
    pids_limit: int | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security_opt: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()               # --device HOST[:CONTAINER[:rwm]]
    read_only: bool = False
    init: bool = False
    stop_signal: str | None = None
    stop_timeout: int | None = None
    ulimits: tuple[str, ...] = ()               # "nofile=1024:2048"
    pull: str = "missing"                       # docker run --pull: missing | always | never
    extra_hosts: tuple[str, ...] = ()           # --add-host "name:ip" (ip may be host-gateway)
    dns: tuple[str, ...] = ()                   # nameservers replacing the host's
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    links: tuple[str, ...] = ()                 # --link CONTAINER[:ALIAS]
    expose: tuple[str, ...] = ()                # "80", "53/udp", "8000-8002"
    shm_size: str | int | None = None           # /dev/shm size ("64m"); None: Docker's 64 MiB
    platform: str | None = None                 # "linux/amd64": the image must be for it
    log_driver: str = "json-file"               # json-file | none
    sysctls: dict = field(default_factory=dict)
    group_add: tuple[str, ...] = ()             # supplementary groups, names or ids
    oom_kill_disable: bool = False
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None              # "0-2,4"
    memory_reservation: str | int | None = None
    restart_policy: str | dict | None = None    # "on-failure:3" or {"Name": ..., "MaximumRetryCount": N}
    log_opts: dict = field(default_factory=dict)   # json-file: max-size, max-file
    healthcheck: dict | None = None             # docker-py's {"test", "interval", ...} (ns) or Docker's keys
    console_size: tuple[int, int] | None = None  # (rows, columns) of the client's terminal, for -t

    # docker-py's names for some of the fields above
    ALIASES = {"mem_limit": "memory", "memswap_limit": "memory_swap",
               "network_mode": "network", "remove": "auto_remove",
               "stdin": "stdin_open", "workdir": "working_dir", "env": "environment",
               "mem_reservation": "memory_reservation"}

    @classmethod
    def from_kwargs(cls, **kwargs) -> "RunOptions":
        """docker-py style keywords: lists or strings, dict environment/ports/volumes allowed."""
        known = {f.name for f in fields(cls)}
        values = {}
        for key, value in kwargs.items():
            if key == "nano_cpus":
                key, value = "cpus", value and value / 1e9
            if key == "log_config":         # docker-py: {"type": "json-file", "config": {...}}
                values["log_opts"] = dict((value or {}).get("config") or {})
                key, value = "log_driver", (value or {}).get("type") or "json-file"
            key = cls.ALIASES.get(key, key)
            if key not in known:
                raise InvalidArgument(f"unknown container option: {key}")
            values[key] = _normalize(key, value)
        return cls(**values)


def _normalize(key, value):
    if value is None:
        return None if key in ("command", "entrypoint") else _DEFAULTS.get(key)
    if key in ("command", "entrypoint"):
        if isinstance(value, str):
            import shlex
            return tuple(shlex.split(value))
        return tuple(value)
    if key == "environment" and isinstance(value, dict):
        return tuple(f"{k}={v}" for k, v in value.items())
    if key == "ports" and isinstance(value, dict):      # docker-py: {"80/tcp": 8080}
        return tuple(_port_item(c, h) for c, h in value.items())
    if key == "volumes" and isinstance(value, dict):    # docker-py: {"name": {"bind": "/x", "mode": "ro"}}
        return tuple(f"{src}:{v['bind']}:{v.get('mode', 'rw')}" for src, v in value.items())
    if key in ("extra_hosts", "links") and isinstance(value, dict):   # docker-py: {"a": "b"}
        return tuple(f"{k}:{v}" for k, v in value.items())
    if key == "ulimits" and isinstance(value, dict):    # {"nofile": (soft, hard) or n}
        return tuple(f"{k}={v[0]}:{v[1]}" if isinstance(v, (tuple, list)) else f"{k}={v}"
                     for k, v in value.items())
    if key == "tmpfs" and isinstance(value, dict):
        return tuple(f"{k}:{v}" if v else k for k, v in value.items())
    if key in _TUPLES:
        return (value,) if isinstance(value, str) else tuple(value)
    return value


def _port_item(container, host) -> str:
    port = str(container)
    if isinstance(host, tuple):
        return f"{host[0]}:{host[1]}:{port}"
    return f"{host}:{port}" if host else port


_TUPLES = {"environment", "network_aliases", "ports", "volumes", "mounts", "tmpfs", "volumes_from",
           "cap_add", "cap_drop", "security_opt", "ulimits", "devices", "extra_hosts", "dns",
           "dns_search", "dns_opt", "expose", "group_add", "links"}
_DEFAULTS = {k: () for k in _TUPLES} | {"labels": {}, "sysctls": {}, "log_opts": {},
                                        "log_driver": "json-file"}
