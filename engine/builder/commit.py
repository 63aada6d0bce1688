"""docker commit: a container's writable layer on top of its image becomes a new image.

    image = commit(engine, container, "me/app", "v2", message="fixed", author="me",
                   changes=['CMD ["serve"]'])

The new config is the container's (Cmd, Entrypoint, Env, WorkingDir, User, Labels, ports,
volumes), then docker-py's `conf` dict, then the `-c` Dockerfile changes. The container keeps
its upper dir (it may be running): the layer is written from a copy of it.
"""
from __future__ import annotations

import copy
import time

from ..dockerfile.changes import apply_changes
from ..errors import InvalidArgument

_CONFIG_KEYS = ("Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "ExposedPorts",
                "Volumes", "StopSignal", "Healthcheck", "Shell", "OnBuild")


def _reference(repository: str | None, tag: str | None) -> list[str]:
    if not repository:
        if tag:
            raise InvalidArgument("a tag needs a repository: commit CONTAINER REPOSITORY[:TAG]")
        return []
    last = repository.rsplit("/", 1)[-1]
    if tag:
        return [f"{repository}:{tag}"]
    return [repository if ":" in last or "@" in last else f"{repository}:latest"]


def container_config(image_config: dict, record_config: dict) -> dict:
    """The committed config: the image's, overridden by what the container ran with."""
    config = copy.deepcopy(image_config or {})
    for key in _CONFIG_KEYS:
        if key in record_config and record_config[key] is not None:
            config[key] = copy.deepcopy(record_config[key])
    # The engine adds HOSTNAME for each container; it is not part of the image.
    if config.get("Env"):
        config["Env"] = [e for e in config["Env"] if not e.startswith("HOSTNAME=")]
    return config


def commit(engine, container, repository=None, tag=None, *, message=None, author=None,
           changes=None, conf=None):
    """Make an image from `container` (a Container, name or id); returns the Image."""
    from ..image.model import host_architecture, rfc3339
    if isinstance(container, str):
        container = engine.containers.get(container)
    tags = _reference(repository, tag)
    image = engine.store.get(container.record["Image"])
    record = container.record.get("Config") or {}
    config = container_config(image.config.get("config") or {}, record)
    if conf:
        config.update(copy.deepcopy(conf))
    config = apply_changes(config, changes)
    upper = container.bundle / "upper"
    layers = list(image.layers)
    layer = engine.store.add_layer_from_upper(upper, layers[-1] if layers else None,
                                              move=False)
    layers.append(layer)
    now = rfc3339(time.time())
    argv = [container.record.get("Path", "")] + list(container.record.get("Args") or [])
    entry = {"created": now, "created_by": " ".join(a for a in argv if a)}
    if message:
        entry["comment"] = message
    if author:
        entry["author"] = author
    image_config = {"architecture": image.config.get("architecture") or host_architecture(),
                    "os": image.config.get("os", "linux"), "created": now, "config": config,
                    "container": container.id}
    if author:
        image_config["author"] = author
    history = list(image.config.get("history") or []) + [entry]
    return engine.store.create_image(image_config, layers, tags=tags, history=history)
