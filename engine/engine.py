"""Engine: the one facade every front end uses (CLI, magics, kernel, API server).

    engine = Engine()                       # $DOCKYARD_DATA_ROOT, else /var/lib/dockyard
    engine.images.bootstrap("busybox")
    engine.containers.run("busybox", ["echo", "hi"], remove=True)   # b"hi\\n"

The engine's collaborators with the kernel and the network are passed in, the real ones by
default: `runtime` (what runtime/process.py offers: create, start, state, wait, stop, kill,
remove, logs, exec, ... over the shim), `links` and `firewall` (network/links.py: netlink,
network/firewall.py: nftables) and `registry_transport` (registry/transport.py: HTTP). A unit
test passes fakes: `Engine(root, runtime=FakeRuntime(), links=FakeLinks(), firewall=...)`.

Any number of processes may open one data root at once; all state is on disk, written atomically
under a lock. Collections are made on first use, so opening an engine costs nothing: each
imports its modules then (the figures below: CPU time of the import on top of this module).
"""
import os
from functools import cached_property
from pathlib import Path

from .errors import HostError, NotFound

DEFAULT_ROOT = "/var/lib/dockyard"


class Engine:
    started_after_reboot: list = []     # what the first use after a reboot started (autostart)

    def __init__(self, data_root: str | os.PathLike | None = None, *, runtime=None, links=None,
                 firewall=None, registry_transport=None):
        if runtime is not None:
            self.runtime = runtime          # else the cached property below: the real one
        self.links, self.firewall = links, firewall     # None: network/'s real ones
        self.registry_transport = registry_transport    # None: a new HTTP transport per client
        root = data_root or os.environ.get("DOCKYARD_DATA_ROOT") or DEFAULT_ROOT
        self.root = Path(root).absolute()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HostError(f"data root {self.root}: {exc.strerror}") from None

    def __repr__(self):
        return f"<Engine {self.root}>"

    @cached_property
    def runtime(self):
        """The container runtime: runtime/process.py's functions, over the shim."""
        from .runtime import process                     # ~46 ms, on first use
        return process

    @cached_property
    def store(self):
        from .image.store import ImageStore              # ~36 ms, on first use
        return ImageStore(self.root)

    @cached_property
    def images(self):
        from .image_collection import Images             # ~2 ms, on first use
        return self._recovered("images", Images(self))

    @cached_property
    def notebooks(self):
        from .notebook_collection import Notebooks       # ~13 ms, notebook verbs only
        return Notebooks(self)

    @cached_property
    def containers(self):
        from .containers import Containers               # ~57 ms, on first use
        return self._recovered("containers", Containers(self))

    @cached_property
    def networks(self):
        from .network.networks import Networks           # ~42 ms, on first use
        from .endpoints import holding                   # ~13 ms, on first use
        # An address or host port is taken over from a container that can't hold it any more.
        return self._recovered("networks", Networks(
            self.root, links=self.links, firewall=self.firewall,
            holder=lambda cid: holding(self, cid)))

    @cached_property
    def volumes(self):
        from .volumes import Volumes                     # ~40 ms, on first use
        return self._recovered("volumes", Volumes(self.root, engine=self))

    def _recovered(self, name: str, collection):
        """`collection`, after what killed processes left was settled (once per engine, on
        the first use of any collection: two listdirs when there is nothing to do)."""
        self.__dict__[name] = collection
        if not self.__dict__.get("_recovery_done"):
            self.__dict__["_recovery_done"] = True
            from .autostart import after_reboot         # ~1 ms, on first use
            from .recovery import recover                # ~25 ms, on first use
            recover(self)
            # the first use after a reboot, once recovery settled what it left, starts what the
            # restart policies bring back
            self.started_after_reboot = after_reboot(self)
        return collection

    def default_network(self) -> str:
        """Where a container goes without --network: Docker's default bridge."""
        return "bridge"

    def has_networks(self, container) -> bool:
        """Whether the container has a network namespace of its own (it keeps it while
        disconnected from every network, until it is removed)."""
        mode = container.record["HostConfig"].get("NetworkMode") or "default"
        return mode not in ("none", "host") and not mode.startswith("container:")

    def info(self) -> dict:
        from .hostinfo import host_info                  # ~39 ms: only `info` needs it
        return host_info(self)

    def version(self) -> dict:
        """docker version's Server part: this engine's version, platform, kernel, data root."""
        from .hostinfo import engine_version             # ~39 ms: only `version` needs it
        return engine_version(self)

    def events(self, *, since: float | None = None, until: float | None = None,
               filters: dict | None = None, follow: bool = False, stop=lambda: False):
        """docker events: event dicts in Docker's shape, oldest first (follow: then live,
        until `until`). `filters` maps a key (container, image, event, type, label, network,
        volume) to the values allowed. A monitor's die/oom event gets the container's name and
        image from what was recorded before it, or from the container itself."""
        from .events import matches, read                # ~7 ms: only `events` needs it
        known: dict[str, dict] = {}
        for event in read(self.root, since=since, until=until, follow=follow, stop=stop):
            actor = event.setdefault("Actor", {})
            attrs = actor.setdefault("Attributes", {})
            if event.get("Type") == "container" and actor.get("ID"):
                if "name" in attrs:
                    known[actor["ID"]] = {k: v for k, v in attrs.items() if k != "exitCode"}
                else:
                    attrs.update({**self._container_attributes(actor["ID"], known), **attrs})
            if not filters or matches(event, filters):
                yield event

    def _container_attributes(self, cid: str, known: dict) -> dict:
        if cid not in known:
            try:
                container = self.containers.get(cid)
                known[cid] = {**container.labels, "image": container.record["ImageRef"],
                              "name": container.name}
            except (NotFound, OSError):
                known[cid] = {}
        return known[cid]

    def check(self, *, repair: bool = False):
        """dockyard system check: where the data root and the kernel disagree (with `repair`:
        fixed where that is safe); a Report of .findings, .checked, .ok (engine/check.py)."""
        from .check import check                         # ~3 ms: only `system check` needs it
        return check(self, repair=repair)

    def df(self) -> dict:
        """docker system df: the shape of Docker's GET /system/df."""
        from .usage import df                            # ~45 ms: only `system df` needs it
        return df(self)

    def prune(self, *, all: bool = False, volumes: bool = False) -> dict:
        """docker system prune: containers, networks, images (and volumes) nothing uses."""
        from .usage import prune                         # ~45 ms: only `system prune` needs it
        return prune(self, all=all, volumes=volumes)
