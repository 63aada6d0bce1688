"""docker system df and docker system prune: what a data root holds, and removing what's unused.

    engine.df()       # {"LayersSize", "Images": [...], "Containers": [...], "Volumes": [...],
                      #  "BuildCache": [...]}, the shape of Docker's GET /system/df
    engine.prune(all=True, volumes=True)

Sizes are bytes on disk of unpacked layers, container layers and volume data; a layer shared
by several images counts once in LayersSize and in what pruning them would reclaim.
"""
import os

from .builder.cache import BuildCache
from .image.reference import familiar
from .volumes import tree_size


def df(engine) -> dict:
    containers = engine.containers.list(all=True)
    used_images: dict[str, int] = {}
    for c in containers:
        used_images[c.record["Image"]] = used_images.get(c.record["Image"], 0) + 1
    images = engine.images.list()
    layer_users: dict[str, int] = {}
    for image in images:
        for layer in image.layers:
            layer_users[layer.chain_id] = layer_users.get(layer.chain_id, 0) + 1
    sizes = {layer.chain_id: layer.size for image in images for layer in image.layers}
    in_use_volumes = engine.volumes.in_use()
    cache = BuildCache(engine.root)
    steps = sorted(os.listdir(cache.steps)) if cache.steps.is_dir() else []
    return {
        "LayersSize": sum(sizes.values()),
        "Images": [{
            "Id": image.id, "RepoTags": [familiar(t) for t in image.tags],
            "Created": image.created,
            "Size": image.size, "Containers": used_images.get(image.id, 0),
            "SharedSize": sum(layer.size for layer in image.layers
                              if layer_users[layer.chain_id] > 1)} for image in images],
        "Containers": [{
            "Id": c.id, "Names": ["/" + c.name], "Image": c.record["ImageRef"],
            "State": c.status, "SizeRw": tree_size(c.bundle / "upper")} for c in containers],
        "Volumes": [{
            "Name": v.name, "Mountpoint": str(v.mountpoint),
            "UsageData": {"Size": tree_size(v.mountpoint),
                          "RefCount": int(v.name in in_use_volumes)}}
            for v in engine.volumes.list()],
        "BuildCache": [{"ID": name.removesuffix(".json"), "Type": "regular", "InUse": False,
                        "Size": 0} for name in steps if name.endswith(".json")],
        "BuildCacheMountsSize": tree_size(cache.root / "mounts"),
    }


def prune(engine, *, all: bool = False, volumes: bool = False) -> dict:
    """docker system prune: stopped containers, unused networks, dangling (all=True: unused)
    images, the build cache's step records, and with volumes=True unused anonymous volumes."""
    report = {"ContainersDeleted": engine.containers.prune()["ContainersDeleted"],
              "NetworksDeleted": engine.networks.prune()}
    volume_report = engine.volumes.prune(in_use=engine.volumes.in_use()) if volumes else {}
    report["VolumesDeleted"] = volume_report.get("VolumesDeleted", [])
    images = engine.images.prune(all=all)
    report["ImagesDeleted"] = images.get("ImagesDeleted") or []
    report["CachesDeleted"] = BuildCache(engine.root).prune()    # step records
    report["SpaceReclaimed"] = (images.get("SpaceReclaimed", 0)
                                + volume_report.get("SpaceReclaimed", 0))
    return report
