"""Volume routes: create, list, inspect, remove, prune."""
from .containers import filters_of
from .http import Reply, json_reply

ROUTES = [
    ("GET", "/volumes", "list_volumes"),
    ("POST", "/volumes/create", "create"),
    ("POST", "/volumes/prune", "prune"),
    ("GET", "/volumes/{name}", "inspect"),
    ("DELETE", "/volumes/{name}", "remove"),
]

def list_volumes(api, request):
    from ..filters import VOLUME_FILTERS
    volumes = api.engine.volumes.list(filters=filters_of(request, VOLUME_FILTERS))
    return {"Volumes": [v.inspect() for v in volumes], "Warnings": []}


def create(api, request):
    body = request.json()
    volume = api.engine.volumes.create(body.get("Name") or None,
                                       driver=body.get("Driver") or "local",
                                       labels=body.get("Labels") or {},
                                       options=body.get("DriverOpts") or None)
    return json_reply(volume.inspect(), 201)


def inspect(api, request):
    return api.engine.volumes.get(request.params["name"]).inspect()


def remove(api, request):
    name = request.params["name"]
    api.engine.volumes.remove(name, force=request.flag("force"))
    return Reply(204)


def prune(api, request):
    wanted = filters_of(request, ("label", "all"))
    volumes = api.engine.volumes
    everything = wanted.boolean("all") is True
    if wanted.get("label"):
        in_use = set(volumes.in_use())
        deleted = []
        for volume in volumes.list():
            if volume.name in in_use or not (everything or volume.anonymous) or \
                    not wanted.match_labels("label", volume.labels):
                continue
            volumes.remove(volume.name)
            deleted.append(volume.name)
        result = {"VolumesDeleted": deleted, "SpaceReclaimed": 0}
    else:
        result = volumes.prune(all=everything)
    return result
