"""Volume routes: create, list, inspect, remove, prune."""
from .filters import label_matches, parse as parse_filters, truthy
from .http import Reply, json_reply

ROUTES = [
    ("GET", "/volumes", "list_volumes"),
    ("POST", "/volumes/create", "create"),
    ("POST", "/volumes/prune", "prune"),
    ("GET", "/volumes/{name}", "inspect"),
    ("DELETE", "/volumes/{name}", "remove"),
]

LIST_FILTERS = ("name", "label", "driver", "dangling")


def list_volumes(api, request):
    filters = parse_filters(request.json_arg("filters", {}), LIST_FILTERS)
    volumes = api.engine.volumes
    in_use = volumes.in_use() if "dangling" in filters else frozenset()

    def matches(volume) -> bool:
        checks = {
            "name": lambda v: any(x in volume.name for x in v),
            "label": lambda v: label_matches(volume.labels, v),
            "driver": lambda v: volume.driver in v,
            "dangling": lambda v: (volume.name not in in_use) == truthy(v[0]),
        }
        return all(checks[k](v) for k, v in filters.items())
    return {"Volumes": [v.inspect() for v in volumes.list() if matches(v)], "Warnings": []}


def create(api, request):
    body = request.json()
    volume = api.engine.volumes.create(body.get("Name") or None,
                                       driver=body.get("Driver") or "local",
                                       labels=body.get("Labels") or {},
                                       options=body.get("DriverOpts") or None)
    api.events.publish("volume", "create", volume.name, {"driver": volume.driver})
    return json_reply(volume.inspect(), 201)


def inspect(api, request):
    return api.engine.volumes.get(request.params["name"]).inspect()


def remove(api, request):
    name = request.params["name"]
    api.engine.volumes.remove(name, force=request.flag("force"))
    api.events.publish("volume", "destroy", name, {"driver": "local"})
    return Reply(204)


def prune(api, request):
    filters = parse_filters(request.json_arg("filters", {}), ("label", "all"))
    volumes = api.engine.volumes
    everything = any(truthy(v) for v in filters.get("all", []))
    if filters.get("label"):
        in_use = set(volumes.in_use())
        deleted = []
        for volume in volumes.list():
            if volume.name in in_use or not (everything or volume.anonymous) or \
                    not label_matches(volume.labels, filters["label"]):
                continue
            volumes.remove(volume.name)
            deleted.append(volume.name)
        result = {"VolumesDeleted": deleted, "SpaceReclaimed": 0}
    else:
        result = volumes.prune(all=everything)
    for name in result["VolumesDeleted"]:
        api.events.publish("volume", "destroy", name, {"driver": "local"})
    return result
