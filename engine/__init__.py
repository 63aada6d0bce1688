"""dockyard's engine: images, containers, networks and volumes, in-process and daemonless.

    from dockyard.engine import Engine
    engine = Engine()                      # /var/lib/dockyard, or $DOCKYARD_DATA_ROOT
    print(engine.containers.run("busybox", ["echo", "hi"], remove=True))

This package's names, `dockyard.engine.errors`, `dockyard.engine.units` and
`dockyard.engine.dockerfile` are the public API: the front ends (the CLI, the magics, the kernel)
use nothing else (tests/unit/test_import_graph.py checks that).
"""
import importlib

from .errors import DockyardError

# Public name -> (module, attribute). Loaded on first use, so that `import dockyard.engine`
# (and the CLI's start-up) costs only errors.py.
_LAZY = {
    "Engine": (".engine", "Engine"),
    "RunOptions": (".options", "RunOptions"),                 # what run/create accept
    "parse_reference": (".image.reference", "parse"),         # an image reference, normalized
    # A notebook's environment cells as the lock reads them (no code runs), and the flags of
    # `%%dockerfile` and `%dockyard use`, one parser each for the magic and the lock; a
    # notebook's lock, read quickly.
    "environment_cells": (".notebook.cells", "environment_cells"),
    "dockerfile_parser": (".notebook.cells", "dockerfile_parser"),
    "use_parser": (".notebook.cells", "use_parser"),
    "build_args": (".notebook.cells", "build_args"),
    "peek_lock": (".notebook.lockfile", "peek"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(name)
    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(module, __name__), attribute)


__all__ = ["DockyardError", *_LAZY]
