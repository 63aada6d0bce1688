"""Fakes of the engine's collaborators with the kernel, for unit tests of the logic above them.

Each records what it was asked; the real ones (runtime/process.py, network/links.py,
network/firewall.py) are tested in tests/host/ against a real kernel.

    engine = Engine(root, runtime=FakeRuntime(), links=FakeLinks(), firewall=FakeFirewall())
"""
import os
import shutil
from contextlib import nullcontext
from ipaddress import IPv4Network

from dockyard.engine.errors import Conflict, ContainerNotFound
from dockyard.engine.runtime.process import STOPPED_MARK, State, signal_number


class FakeRuntime:
    """runtime/process.py without a shim: a container runs from start() until stop() or
    kill() (or exits at once with `exit_on_start`); its bundle is a plain directory with an
    empty upper/; `specs` keeps what create() was given, `created` every spec ever."""

    def __init__(self):
        self.specs: dict[str, object] = {}
        self.created: list = []
        self.states: dict[str, State] = {}
        self.fail_create: Exception | None = None
        self.exit_on_start: int | None = None

    def create(self, spec) -> None:
        if self.fail_create:
            raise self.fail_create
        os.makedirs(os.path.join(spec.bundle, "upper"))
        self.specs[spec.bundle], self.states[spec.bundle] = spec, State("created")
        self.created.append(spec)

    def start(self, bundle) -> State:
        if self.exit_on_start is not None:
            self.states[str(bundle)] = State("exited", exit_code=self.exit_on_start)
        else:
            self.states[str(bundle)] = State("running", pid=4242, monitor=4243,
                                             started_at="2024-05-01T12:00:00Z")
        return self.states[str(bundle)]

    def logs(self, bundle, follow=False, **kwargs) -> list:
        return []

    def state(self, bundle) -> State:
        try:
            return self.states[str(bundle)]
        except KeyError:
            raise ContainerNotFound(f"No such container: {os.path.basename(bundle)}") from None

    def paused(self, bundle) -> bool:
        return False

    def wait(self, bundle, timeout=None, exit_of=None) -> State:
        return self.state(bundle)

    def kill(self, bundle, sig=9) -> None:
        if self.state(bundle).status != "running":
            raise Conflict("not running")
        self.states[str(bundle)] = State("exited", exit_code=128 + signal_number(sig),
                                         finished_at="2024-05-01T12:00:01Z")

    def stop(self, bundle, timeout=10) -> State:
        if self.state(bundle).status == "running":
            self.kill(bundle, "TERM")
        return self.state(bundle)

    signal_number = staticmethod(signal_number)
    STOPPED_MARK = STOPPED_MARK

    def boot_id(self) -> str:
        return "this-boot"

    def mark_stopped(self, bundle) -> None:
        open(os.path.join(bundle, STOPPED_MARK), "w").close()

    def start_lock(self, bundle):
        return nullcontext()

    def attach_lock(self, bundle):
        self.state(bundle)
        return nullcontext()

    def wait_exit_command(self, bundle, timeout=10) -> None:
        pass

    def remove(self, bundle) -> None:
        if self.state(bundle).status == "running":
            raise Conflict("running")
        shutil.rmtree(bundle)
        del self.states[str(bundle)], self.specs[str(bundle)]


class FakeLinks:
    """Records what Networks asks of the kernel."""

    def __init__(self, routed=()):
        self.links: dict[str, int] = {}
        self.netns: set[str] = set()
        self.routed = [IPv4Network(r) for r in routed]
        self.fail_endpoint = False
        self.aliases: dict[str, str] = {}

    def routed_subnets(self):
        return list(self.routed)

    def ensure_bridge(self, name, address, prefixlen, alias=None):
        self.links[name] = 1500
        if alias:
            self.aliases[name] = alias
        return 1500

    def bridges_with_alias(self, prefix):
        return [(n, a) for n, a in self.aliases.items() if a.startswith(prefix) and n in self.links]

    def mtu(self, name):
        return self.links.get(name)

    def index(self, name):
        return 1 if name in self.links else None

    def delete_link(self, name):
        return self.links.pop(name, None) is not None

    def create_netns(self, path):
        open(path, "x").close()
        self.netns.add(path)

    def remove_netns(self, path):
        self.netns.discard(path)
        if os.path.exists(path):
            os.unlink(path)
            return True
        return False

    def add_endpoint(self, **kw):
        self.links[kw["host_ifname"]] = kw["mtu"]
        if self.fail_endpoint:
            raise OSError(17, "boom")


class FakeFirewall:
    def __init__(self):
        self.tables: dict[str, tuple] = {}

    def apply(self, table, bridges, forwards):
        self.tables[table] = (bridges, forwards)

    def delete(self, table):
        self.tables.pop(table, None)

    def enable_forwarding(self):
        pass

    def prepare_bridge(self, bridge):
        pass
