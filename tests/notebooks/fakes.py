"""Plain stand-ins for engine objects, for widget tests that need no root and no engine."""
from types import SimpleNamespace

from dockyard.engine.errors import ContainerNotFound


def image(layers=(("sha256:aaa", 4_000_000), ("sha256:bbb", 1_000_000)), history=None,
          tags=("demo:1",), labels=None):
    layer_objs = tuple(SimpleNamespace(digest=d, diff_id=d.replace("sha256:", "sha256:d"), size=s)
                       for d, s in layers)
    if history is None:
        history = [{"created_by": f"RUN step {i}"} for i in range(len(layers))]
    config = {"history": history, "config": {"Labels": labels or {}}}
    return SimpleNamespace(id="sha256:" + "ab" * 32, short_id="abababababab", tags=tags,
                           config=config, layers=layer_objs, size=sum(s for _, s in layers),
                           created="2024-05-01T10:00:00Z")


class Container:
    """A container whose state the test drives; records the actions the widget takes."""

    id = "c0ffee" * 10 + "abcd"
    short_id = id[:12]
    name = "web"

    def __init__(self, status="running", stop_gate=None):
        self.status, self.removed, self.actions, self.cpu_ns = status, False, [], 0
        self.stop_gate = stop_gate          # a threading.Event stop() waits for, like a grace period

    @property
    def attrs(self):
        exited = self.status == "exited"
        return {
            "State": {"Status": self.status, "StartedAt": "2024-05-01T10:00:00.123456789Z",
                      "ExitCode": 137 if exited else 0,
                      "FinishedAt": "2024-05-01T10:05:00Z" if exited else "0001-01-01T00:00:00Z"},
            "Config": {"Hostname": "c0ffeec0ffee", "Image": "busybox"},
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}},
                                "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}},
        }

    def reload(self):
        if self.removed:
            raise ContainerNotFound(f"no such container: {self.name}")

    def stats(self, stream=False):
        self.cpu_ns += 50_000_000
        return {"cpu_stats": {"cpu_usage": {"total_usage": self.cpu_ns}},
                "memory_stats": {"usage": 2_500_000}}

    def logs(self, tail=None, **kw):
        return b"line 1\nline 2\n"

    def stop(self, timeout=None):
        self.actions.append("stop")
        if self.stop_gate is not None:
            self.stop_gate.wait(10)
        self.status = "exited"

    def restart(self, timeout=None):
        self.actions.append("restart")
        self.status = "running"

    def remove(self, force=False):
        self.actions.append("remove")
        self.removed = True
