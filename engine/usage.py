"""docker system df and docker system prune: what a data root holds, and removing what's unused.

    engine.df()       # {"LayersSize", "Images": [...], "Containers": [...], "Volumes": [...],
                      #  "BuildCache": [...]}, the shape of Docker's GET /system/df
    engine.prune(all=True, volumes=True)

Sizes are bytes on disk of unpacked layers, container layers and volume data; a layer shared
by several images counts once in LayersSize and in what pruning them would reclaim.
"""
import os

from .volumes import _tree_size


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
    from .builder.cache import BuildCache
    cache = BuildCache(engine.root)
    steps = sorted(os.listdir(cache.steps)) if cache.steps.is_dir() else []
    return {
        "LayersSize": sum(sizes.values()),
        "Images": [{
            "Id": image.id, "RepoTags": list(image.tags), "Created": image.created,
            "Size": image.size, "Containers": used_images.get(image.id, 0),
            "SharedSize": sum(layer.size for layer in image.layers
                              if layer_users[layer.chain_id] > 1)} for image in images],
        "Containers": [{
            "Id": c.id, "Names": ["/" + c.name], "Image": c.record["ImageRef"],
            "State": c.status, "SizeRw": _tree_size(c.bundle / "upper")} for c in containers],
        "Volumes": [{
            "Name": v.name, "Mountpoint": str(v.mountpoint),
            "UsageData": {"Size": _tree_size(v.mountpoint),
                          "RefCount": int(v.name in in_use_volumes)}}
            for v in engine.volumes.list()],
        "BuildCache": [{"ID": name.removesuffix(".json"), "Type": "regular", "InUse": False,
                        "Size": 0} for name in steps if name.endswith(".json")],
        "BuildCacheMountsSize": _tree_size(cache.root / "mounts"),
    }


def summary(report: dict) -> list[tuple[str, int, int, int, int]]:
    """docker system df's rows: (type, total, active, size, reclaimable), counted as Docker's
    CLI counts them (an image in use keeps its layers but those it shares)."""
    images, containers, volumes = report["Images"], report["Containers"], report["Volumes"]
    used = sum(i["Size"] - i["SharedSize"] for i in images if i["Containers"])
    alive = ("running", "paused")
    return [
        ("Images", len(images), sum(1 for i in images if i["Containers"]),
         report["LayersSize"], max(report["LayersSize"] - used, 0)),
        ("Containers", len(containers), sum(1 for c in containers if c["State"] in alive),
         sum(c["SizeRw"] for c in containers),
         sum(c["SizeRw"] for c in containers if c["State"] not in alive)),
        ("Local Volumes", len(volumes), sum(1 for v in volumes if v["UsageData"]["RefCount"]),
         sum(v["UsageData"]["Size"] for v in volumes),
         sum(v["UsageData"]["Size"] for v in volumes if not v["UsageData"]["RefCount"])),
        # RUN --mount=type=cache directories: kept by prune (a build may be using them)
        ("Build Cache", len(report["BuildCache"]), 0, report["BuildCacheMountsSize"], 0),
    ]


def prune(engine, *, all: bool = False, volumes: bool = False) -> dict:
    """docker system prune: stopped containers, unused networks, dangling (all=True: unused)
    images, the build cache's step records, and with volumes=True unused anonymous volumes."""
    from .builder.cache import BuildCache
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
