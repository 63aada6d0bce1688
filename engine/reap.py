"""`python -m dockyard.engine.reap ROOT ID`: remove an auto-remove container after its exit.

The container's monitor execs this once the container has exited (`run -d --rm`), so the
container goes away even when no engine process is running.
"""
import sys


def main(root: str, cid: str) -> int:
    from . import Engine
    from .errors import NotFound
    engine = Engine(root)
    try:
        engine.containers.remove(engine.containers.get(cid), force=True)
    except NotFound:            # someone removed it first
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
