"""dockyard's engine: images, containers, networks and volumes, in-process and daemonless.

    from dockyard.engine import Engine
    engine = Engine()                      # /var/lib/dockyard, or $DOCKYARD_DATA_ROOT
    print(engine.containers.run("busybox", ["echo", "hi"], remove=True))
"""

from .errors import DockyardError


def __getattr__(name):
    # Lazy, so that `import dockyard.engine.errors` (and the CLI's start-up) stays cheap.
    if name == "Engine":
        from .engine import Engine
        return Engine
    raise AttributeError(name)


__all__ = ["Engine", "DockyardError"]
