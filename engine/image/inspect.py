"""Docker-shaped views of an image: `image inspect` JSON and `history` rows (Engine API keys)."""
from .model import Image, parse_time
from .reference import familiar


def inspect(image: Image) -> dict:
    """The JSON `docker image inspect` prints for `image` (one object, not the list)."""
    config = image.config
    diffs = [str(layer.snapshot) for layer in reversed(image.layers)]
    graph = {"Name": "overlay2", "Data": {}}
    if diffs:
        graph["Data"] = {"UpperDir": diffs[0], "MergedDir": "", "WorkDir": ""}
        if len(diffs) > 1:
            graph["Data"]["LowerDir"] = ":".join(diffs[1:])
    return {
        "Id": image.id,
        "RepoTags": [familiar(t) for t in image.tags],
        "RepoDigests": [familiar(d) for d in image.repo_digests],
        "Parent": "",
        "Comment": config.get("comment", ""),
        "Created": image.created,
        "Container": "",
        "DockerVersion": "",
        "Author": config.get("author", ""),
        "Config": config.get("config", {}),
        "Architecture": config.get("architecture", ""),
        **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Os": config.get("os", ""),
        "Size": image.size,
        "VirtualSize": image.size,
        "GraphDriver": graph,
        "RootFS": {"Type": "layers", "Layers": [layer.diff_id for layer in image.layers]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        "Descriptor": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": image.manifest_digest},
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
