"""Docker-shaped views of an image: `image inspect` JSON, `images` summaries and `history` rows
(Engine API keys)."""
from .model import Image, parse_time
from .reference import familiar


_OMIT = object()
# Docker's container.Config (also an image's Config), field by field in Docker's order, with the
# value Docker shows when a field is unset; _OMIT: left out when unset (Go's omitempty).
CONFIG_FIELDS = (("Hostname", ""), ("Domainname", ""), ("User", ""), ("AttachStdin", False),
                 ("AttachStdout", False), ("AttachStderr", False), ("ExposedPorts", _OMIT),
                 ("Tty", False), ("OpenStdin", False), ("StdinOnce", False), ("Env", None),
                 ("Cmd", None), ("Healthcheck", _OMIT), ("ArgsEscaped", _OMIT), ("Image", ""),
                 ("Volumes", None), ("WorkingDir", ""), ("Entrypoint", None),
                 ("NetworkDisabled", _OMIT), ("MacAddress", _OMIT), ("OnBuild", None),
                 ("Labels", None), ("StopSignal", _OMIT), ("StopTimeout", _OMIT), ("Shell", _OMIT))
_CONFIG_KEYS = {key for key, _ in CONFIG_FIELDS}


def docker_config(config: dict) -> dict:
    """Docker's container.Config from an image's or a container's config: every field in
    Docker's order, omitempty ones only when set, fields Docker doesn't know kept at the end."""
    out = {}
    for key, default in CONFIG_FIELDS:
        value = config.get(key)
        if default is _OMIT:
            if value not in (None, "", {}, [], False):
                out[key] = value
        else:
            out[key] = default if value is None and key not in config else value
    out.update((k, v) for k, v in config.items() if k not in _CONFIG_KEYS)
    return out


def inspect(image: Image) -> dict:
    """The JSON `docker image inspect` prints for `image` (one object, not the list)."""
    config = image.config
    diffs = [str(layer.snapshot) for layer in reversed(image.layers)]
    graph = {"Data": {}, "Name": "overlay2"}
    if diffs:
        graph["Data"] = {**({"LowerDir": ":".join(diffs[1:])} if len(diffs) > 1 else {}),
                         "MergedDir": "", "UpperDir": diffs[0], "WorkDir": ""}
    return {
        "Id": image.id,
        "RepoTags": [familiar(t) for t in image.tags],
        "RepoDigests": [familiar(d) for d in image.repo_digests],
        "Parent": "",
        "Comment": comment(image),
        "Created": image.created,
        "DockerVersion": "",
        "Author": config.get("author", ""),
        "Config": docker_config(config.get("config") or {}),
        "Architecture": config.get("architecture", ""),
        **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Os": config.get("os", ""),
        "Size": image.size,
        "GraphDriver": graph,
        "RootFS": {"Type": "layers", "Layers": [layer.diff_id for layer in image.layers]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        "Descriptor": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": image.manifest_digest},
    }


def comment(image: Image) -> str:
    """The image's Comment: its config's, else its last history entry's (`commit -m`,
    `import -m`), as Docker shows it."""
    history = image.config.get("history") or [{}]
    return image.config.get("comment") or history[-1].get("comment", "")


def summary(image: Image) -> dict:
    """The image as `GET /images/json` lists it (what `docker images` shows)."""
    return {
        "Containers": -1,
        "Created": int(parse_time(image.created)),
        "Id": image.id,
        "Labels": ((image.config.get("config") or {}).get("Labels")) or {},
        "ParentId": "",
        "RepoDigests": [familiar(d) for d in image.repo_digests],
        "RepoTags": [familiar(t) for t in image.tags],
        "SharedSize": -1,
        "Size": image.size,
    }


def history(image: Image) -> list[dict]:
    """Rows of `docker history`, newest first: Id, Created (unix s), CreatedBy, Tags, Size, Comment.

    Each non-empty history entry owns the next layer; the top row carries the image id and
    tags, the others `<missing>` as in Docker for layers without an image of their own.
    """
    entries = image.config.get("history") or [{} for _ in image.layers]
    layers = iter(image.layers)
    rows = []
    for entry in entries:
        layer = None if entry.get("empty_layer") else next(layers, None)
        rows.append({
            "Id": "<missing>",
            "Created": int(parse_time(entry.get("created", image.created))),
            "CreatedBy": entry.get("created_by", ""),
            "Tags": None,
            "Size": layer.size if layer else 0,
            "Comment": entry.get("comment", ""),
        })
    rows.reverse()
    if rows:
        rows[0]["Id"] = image.id
        rows[0]["Tags"] = [familiar(t) for t in image.tags]
    return rows
