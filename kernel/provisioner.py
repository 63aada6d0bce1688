"""A Jupyter kernel provisioner: the kernel runs inside a container of an image.

A kernelspec written by `dockyard kernel install --image IMAGE` names it:

    "metadata": {"kernel_provisioner": {"provisioner_name": "dockyard-provisioner",
                                        "config": {"image": "python:3.11", "data_root": ...}}}

so JupyterLab, nbclient and `jupyter execute` start kernels with the same launch code as
`%dockyard use` (dockyard.kernel.inside.launch): the notebook's directory mounted at its path
and the working directory, ZMQ over unix sockets only, SIGINT (interrupt) and the other
signals sent to the launcher inside, which passes them on; the container removed at shutdown
and restart, and ended by its launcher if the process holding this provisioner dies.
"""
import asyncio
import os
import signal
from typing import Any

from jupyter_client.connect import port_names
from jupyter_client.provisioning import KernelProvisionerBase
from traitlets import List, Unicode

from dockyard.engine import Engine
from dockyard.engine.errors import ContainerNotFound

from .inside.launch import new_session, start

NAME = "dockyard-provisioner"


class DockyardProvisioner(KernelProvisionerBase):
    """Starts, signals and removes one kernel container per kernel."""

    image = Unicode(help="The image whose python3 runs the kernel.").tag(config=True)
    data_root = Unicode("", help="The engine's data root ('' for the default).").tag(config=True)
    network = Unicode("", help="The container's network ('' for the default bridge).").tag(
        config=True)
    volumes = List(Unicode(), help="More -v SRC:DST[:ro] mounts.").tag(config=True)

    kernel = None                     # the InsideKernel while one runs
    _session = None
    _exit_code = None

    @property
    def has_process(self) -> bool:
        return self.kernel is not None

    def _engine(self):
        return Engine(self.data_root or None)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Make the session (unix socket paths, key) and give the manager its connection info.

        A restart keeps the session, so clients connected before it (Jupyter Server's
        channels, a KernelClient) reach the new kernel at the same paths with the same key.
        """
        if self._session is None or not os.path.isdir(self._session[0]):
            self._session = new_session()
        info = self._session[1]
        # jupyter_client compares this with its own view, where the key is bytes.
        self.connection_info = dict(info, key=info["key"].encode())
        km = self.parent
        if km is not None:
            for name in port_names:
                setattr(km, name, 0)        # load_connection_info keeps ports already set
            km.load_connection_info(self.connection_info)
        kwargs.pop("extra_arguments", None)
        return await super().pre_launch(cmd=list(self.kernel_spec.argv), **kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        env = kwargs.get("env") or {}
        passed = [f"{k}={v}" for k, v in env.items() if k.startswith("JPY_")]
        cwd = kwargs.get("cwd") or os.getcwd()
        self._exit_code = None
        self.kernel = await asyncio.to_thread(
            start, self._engine(), self.image, cwd=str(cwd), volumes=self.volumes,
            environment=passed, network=self.network or None, purpose="provisioner",
            session=self._session)
        return self.connection_info

    async def poll(self) -> int | None:
        if self.kernel is None:
            return self._exit_code if self._exit_code is not None else 0
        if self.kernel.alive():
            return None
        self._exit_code = self.kernel.exit_code()
        return self._exit_code if self._exit_code is not None else 0

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.05)
        return code

    async def send_signal(self, signum: int) -> None:
        if self.kernel is not None:
            self.kernel.signal(signal.Signals(signum).name)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        """Remove the container and the session directory."""
        kernel, self.kernel = self.kernel, None
        if kernel is not None:
            try:
                await asyncio.to_thread(kernel.stop, restart)
            except ContainerNotFound:
                pass
        if not restart:
            self._session = None

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info.update(image=self.image, data_root=self.data_root)
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.image = provisioner_info.get("image", self.image)
        self.data_root = provisioner_info.get("data_root", self.data_root)
