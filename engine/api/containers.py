"""Container routes: create, list, inspect, start/stop/restart/kill, remove, top, changes,
rename, update, resize, prune (attach, logs and wait are in streams.py, exec in exec.py)."""
import time
from dataclasses import fields

from ..errors import Conflict, InvalidArgument, NotFound
from .http import Reply, json_reply

ROUTES = [
    ("GET", "/containers/json", "list_containers"),
    ("POST", "/containers/create", "create"),
    ("POST", "/containers/prune", "prune"),
    ("GET", "/containers/{id}/json", "inspect"),
    ("GET", "/containers/{id}/top", "top"),
    ("GET", "/containers/{id}/changes", "changes"),
    ("POST", "/containers/{id}/start", "start"),
    ("POST", "/containers/{id}/stop", "stop"),
    ("POST", "/containers/{id}/restart", "restart"),
    ("POST", "/containers/{id}/kill", "kill"),
    ("POST", "/containers/{id}/pause", "pause"),
    ("POST", "/containers/{id}/unpause", "pause"),
    ("POST", "/containers/{id}/rename", "rename"),
    ("POST", "/containers/{id}/update", "update"),
    ("POST", "/containers/{id}/resize", "resize"),
    ("DELETE", "/containers/{id}", "remove"),
]

def get(api, request):
    return api.engine.containers.get(request.params["id"])


# -- list, inspect -------------------------------------------------------------------------------
def filters_of(request, accepted=None):
    """The `filters` parameter as the engine's Filters (old clients' {"k": {"v": true}} too)."""
    from ..filters import Filters
    found = Filters.of(request.json_arg("filters", {}))
    return found.validate(accepted) if accepted is not None else found


def list_containers(api, request):
    from ..container_inspect import container_summary
    limit = request.number("limit", -1) or -1
    entries = []
    for container in api.engine.containers.list(all=request.flag("all"),
                                                filters=filters_of(request), limit=limit):
        try:
            entries.append(container_summary(container, size=request.flag("size")))
        except NotFound:            # removed while we looked
            continue
    return entries


def inspect(api, request):
    return get(api, request).attrs


# -- create --------------------------------------------------------------------------------------
def create(api, request):
    from ..endpoints import connect
    from .hostconfig import create_plan
    plan = create_plan(request.json(), request.arg("name"), request.arg("platform"))
    options = plan.options
    kwargs = {f.name: getattr(options, f.name) for f in fields(options)}
    # --rm: the daemon removes the container when it sees the exit (lifecycle.py), as dockerd
    # does; the monitor's own reaper (a Python process per exit) would cost ~150 ms of CPU.
    kwargs["auto_remove"] = False
    container = api.engine.containers.create(**kwargs)
    if options.auto_remove:
        container.record["HostConfig"]["AutoRemove"] = True
        api.engine.containers.save(container)
    try:
        for network, aliases, ip in plan.connect:
            connect(api.engine, network, container.id, aliases=aliases, ip=ip)
    except BaseException:
        container.remove(force=True)
        raise
    if plan.console_size:
        api.console_sizes[container.id] = plan.console_size
    return json_reply({"Id": container.id, "Warnings": []}, 201)


# -- life ----------------------------------------------------------------------------------------
def start(api, request):
    container = get(api, request)
    if container.status == "running":
        return Reply(304)
    # A client attached now gets the output even with the `none` log driver.
    api.lifecycle.start(container, lambda: api.engine.containers.start(
        container, attach=api.is_attached(container.id)))
    size = api.console_sizes.pop(container.id, None)
    if size:
        try:
            container.resize(*size)
        except Conflict:                # it has exited already
            pass
    return Reply(204)


def stop(api, request):
    container = get(api, request)
    if container.status != "running":
        return Reply(304)
    timeout = request.number("t", None)
    if timeout is None:
        timeout = request.number("timeout", None)
    container.stop(timeout=None if timeout is None or timeout < 0 else timeout)
    api.lifecycle.changed()
    return Reply(204)


def restart(api, request):
    container = get(api, request)
    api.lifecycle.start(container, lambda: container.restart(timeout=request.number("t", None)))
    return Reply(204)


def kill(api, request):
    container = get(api, request)
    sig = request.arg("signal") or "KILL"
    container.kill(sig)
    return Reply(204)


def pause(api, request):
    container = get(api, request)
    if request.path.endswith("/unpause"):
        container.unpause()
    else:
        container.pause()
    return Reply(204)


def remove(api, request):
    container = get(api, request)
    with api.lifecycle.exclusive(container.id):
        container.remove(force=request.flag("force"), v=request.flag("v"))
    api.console_sizes.pop(container.id, None)
    api.lifecycle.removed(container)
    return Reply(204)


def prune(api, request):
    import time

    from ..filters import until
    wanted = filters_of(request, ("label", "until"))
    limits = [until(v, time.time()) for v in wanted.get("until")]
    deleted = []
    for container in api.engine.containers.list(all=True):
        try:
            if container.status == "running" or not wanted.match_labels("label",
                                                                       container.labels):
                continue
            if any(_created(container) >= limit for limit in limits):
                continue
            with api.lifecycle.exclusive(container.id):
                container.remove()
        except (NotFound, Conflict):        # removed or started meanwhile
            continue
        api.lifecycle.removed(container)
        deleted.append(container.id)
    return {"ContainersDeleted": deleted, "SpaceReclaimed": 0}


def _created(container) -> float:
    from ..image.model import parse_time
    return parse_time(container.record["Created"])


# -- views and small changes ---------------------------------------------------------------------
def top(api, request):
    return get(api, request).top(request.arg("ps_args") or None)


def changes(api, request):
    return get(api, request).diff()


def rename(api, request):
    container = get(api, request)
    name = request.arg("name")
    if not name:
        raise InvalidArgument("rename needs a new name (?name=)")
    container.rename(name)
    return Reply(204)


# docker update's body (Resources) -> the engine's update keywords
UPDATE_FIELDS = {"Memory": "memory", "MemorySwap": "memory_swap",
                 "MemoryReservation": "memory_reservation", "NanoCpus": "nano_cpus",
                 "CpuShares": "cpu_shares", "CpusetCpus": "cpuset_cpus", "PidsLimit": "pids_limit"}


def update(api, request):
    from .hostconfig import check_supported
    body = request.json()
    check_supported("HostConfig", body)
    limits = {ours: body[theirs] for theirs, ours in UPDATE_FIELDS.items() if body.get(theirs)}
    quota, period = body.get("CpuQuota") or 0, body.get("CpuPeriod") or 100000
    if quota > 0 and "nano_cpus" not in limits:
        limits["cpus"] = quota / period
    warnings = get(api, request).update(**limits)
    return {"Warnings": warnings or []}


def resize(api, request):
    container = get(api, request)
    height, width = request.number("h", 0), request.number("w", 0)
    if container.status != "running":
        api.console_sizes[container.id] = (height, width)      # applied at start
        return Reply(200)
    container.resize(height, width)
    return Reply(200)
