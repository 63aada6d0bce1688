"""Engine: the one facade every front end uses (CLI, magics, kernel, API server).

    engine = Engine()                       # $DOCKYARD_DATA_ROOT, else /var/lib/dockyard
    engine.images.bootstrap("busybox")
    engine.containers.run("busybox", ["echo", "hi"], remove=True)   # b"hi\\n"

Any number of processes may open one data root at once; all state is on disk, written atomically
under a lock. Collections are made on first use, so opening an engine costs nothing.
"""
import os
from functools import cached_property
from pathlib import Path

DEFAULT_ROOT = "/var/lib/dockyard"


class Engine:
    def __init__(self, data_root: str | os.PathLike | None = None):
        root = data_root or os.environ.get("DOCKYARD_DATA_ROOT") or DEFAULT_ROOT
        self.root = Path(root).absolute()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self):
        return f"<Engine {self.root}>"

    @cached_property
    def store(self):
        from .image.store import ImageStore
        return ImageStore(self.root)

    @cached_property
    def images(self):
        from .images import Images
        return Images(self)

    @cached_property
    def containers(self):
        from .containers import Containers
        from .recovery import recover
        containers = self.__dict__["containers"] = Containers(self)
        # What a killed process (or a killed exit command) left is settled on first use:
        # two listdirs when there is nothing.
        recover(self)
        return containers

    @cached_property
    def networks(self):
        from .network.networks import Networks
        from .recovery import holding
        # An address or host port is taken over from a container that can't hold it any more.
        return Networks(self.root, holder=lambda cid: holding(self, cid))

    @cached_property
    def volumes(self):
        from .volumes import Volumes
        return Volumes(self.root, engine=self)

    def default_network(self) -> str:
        """Where a container goes without --network: Docker's default bridge."""
        return "bridge"

    def has_networks(self, container) -> bool:
        return bool(container.record.get("Endpoints"))

    def info(self) -> dict:
        from .hostinfo import host_info
        return host_info(self)
