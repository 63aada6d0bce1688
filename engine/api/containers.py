"""Container routes: create, list, inspect, start/stop/restart/kill, remove, top, changes,
rename, update, resize, prune (attach, logs and wait are in streams.py, exec in exec.py)."""
import time
from dataclasses import fields

from ..errors import Conflict, InvalidArgument, NotFound, Unsupported
from .filters import label_matches, parse as parse_filters
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

LIST_FILTERS = ("id", "name", "label", "status", "ancestor", "network", "volume", "exited",
                "before", "since", "is-task", "health", "publish", "expose")


def get(api, request):
    return api.engine.containers.get(request.params["id"])


# -- list, inspect -------------------------------------------------------------------------------
def summary(container, size: bool = False) -> dict:
    """One entry of `GET /containers/json` (docker ps)."""
    from ..cli.render import ago, duration, parse_time
    record, state = container.record, container.state
    if state.status == "running":
        status = "Up " + duration(time.time() - parse_time(state.started_at))
    elif state.status == "exited":
        status = f"Exited ({state.exit_code}) {ago(state.finished_at)}"
    else:
        status = state.status.title()
    entry = {
        "Id": container.id, "Names": [record["Name"]],
        "Image": record["Config"].get("Image") or record["Image"], "ImageID": record["Image"],
        "Command": " ".join([record["Path"], *record["Args"]]),
        "Created": int(parse_time(record["Created"])), "Ports": _ports(record),
        "Labels": container.labels, "State": state.status, "Status": status,
        "HostConfig": {"NetworkMode": record["HostConfig"].get("NetworkMode") or "default"},
        "NetworkSettings": {"Networks": record.get("Endpoints") or {}},
        "Mounts": record.get("Mounts") or [],
    }
    if size:
        from ..volumes import tree_size
        entry["SizeRw"] = tree_size(container.bundle / "upper")
        entry["SizeRootFs"] = entry["SizeRw"] + container.image.size
    return entry


def _ports(record) -> list[dict]:
    ports = []
    for key, bindings in (record.get("Ports") or {}).items():
        port, _, proto = key.partition("/")
        for b in bindings or []:
            ports.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": int(port),
                          "PublicPort": int(b["HostPort"]), "Type": proto or "tcp"})
    return ports


def list_containers(api, request):
    filters = parse_filters(request.json_arg("filters", {}), LIST_FILTERS)
    everything = request.flag("all") or bool({"status", "exited"} & set(filters))
    entries = []
    limit = request.number("limit", -1)
    for container in api.engine.containers.list(all=everything):
        try:
            if _matches(api, container, filters):
                entries.append(summary(container, size=request.flag("size")))
        except NotFound:            # removed while we looked
            continue
        if limit and 0 < limit <= len(entries):
            break
    return entries


def _matches(api, container, filters: dict) -> bool:
    import re
    record = container.record
    checks = {
        "id": lambda v: any(container.id.startswith(x) for x in v),
        "name": lambda v: any(re.search(x, container.name) for x in v),
        "label": lambda v: label_matches(container.labels, v),
        "status": lambda v: container.status in v,
        "ancestor": lambda v: any(_is_image(api, record, x) for x in v),
        "network": lambda v: any(n in (record.get("Endpoints") or {}) or any(
            ep.get("NetworkID") == n for ep in (record.get("Endpoints") or {}).values())
            for n in v),
        "volume": lambda v: any(m.get("Name") in v or m.get("Destination") in v
                                for m in record.get("Mounts") or ()),
        "exited": lambda v: container.status == "exited" and str(container.state.exit_code) in v,
        "before": lambda v: all(record["Created"] < _created(api, x) for x in v),
        "since": lambda v: all(record["Created"] > _created(api, x) for x in v),
        "is-task": lambda v: "false" in [x.lower() for x in v],
    }
    return all(checks.get(key, lambda v: True)(values) for key, values in filters.items())


def _is_image(api, record, ref: str) -> bool:
    if record["Config"].get("Image") == ref:
        return True
    try:
        return api.engine.images.get(ref).id == record["Image"]
    except NotFound:
        return False


def _created(api, ref: str) -> str:
    return api.engine.containers.get(ref).record["Created"]


def inspect(api, request):
    return get(api, request).attrs


# -- create --------------------------------------------------------------------------------------
def create(api, request):
    from ..endpoints import connect
    from .hostconfig import create_plan
    plan = create_plan(request.json(), request.arg("name"))
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
    api.events.publish("container", "create", container.id,
                       {**container.labels, "image": options.image, "name": container.name})
    return json_reply({"Id": container.id, "Warnings": []}, 201)


# -- life ----------------------------------------------------------------------------------------
def start(api, request):
    container = get(api, request)
    if container.status == "running":
        return Reply(304)
    api.engine.containers.start(container)
    size = api.console_sizes.pop(container.id, None)
    if size:
        try:
            container.resize(*size)
        except Conflict:                # it has exited already
            pass
    api.lifecycle.started(container)
    return Reply(204)


def stop(api, request):
    container = get(api, request)
    if container.status != "running":
        return Reply(304)
    timeout = request.number("t", None)
    if timeout is None:
        timeout = request.number("timeout", None)
    container.stop(timeout=None if timeout is None or timeout < 0 else timeout)
    api.events.publish("container", "stop", container.id, _attrs(container))
    api.lifecycle.changed()
    return Reply(204)


def restart(api, request):
    container = get(api, request)
    timeout = request.number("t", None)
    container.stop(timeout=timeout)
    api.engine.containers.start(container)
    api.events.publish("container", "restart", container.id, _attrs(container))
    api.lifecycle.started(container)
    return Reply(204)


def kill(api, request):
    container = get(api, request)
    sig = request.arg("signal") or "KILL"
    container.kill(sig)
    api.events.publish("container", "kill", container.id, {**_attrs(container), "signal": sig})
    return Reply(204)


def pause(api, request):
    container = get(api, request)
    action = request.path.rsplit("/", 1)[1]
    method = getattr(container, action, None)
    if method is None:
        raise Unsupported(f"{action} is not supported by this engine (no freezer support yet)")
    method()
    api.events.publish("container", action, container.id, _attrs(container))
    return Reply(204)


def remove(api, request):
    container = get(api, request)
    container.remove(force=request.flag("force"), v=request.flag("v"))
    api.console_sizes.pop(container.id, None)
    api.lifecycle.removed(container)
    return Reply(204)


def prune(api, request):
    filters = parse_filters(request.json_arg("filters", {}), ("label", "until"))
    deleted = []
    for container in api.engine.containers.list(all=True):
        if container.status == "running" or not label_matches(container.labels,
                                                               filters.get("label", [])):
            continue
        if filters.get("until") and not _older_than(container, filters["until"]):
            continue
        try:
            container.remove()
        except (NotFound, Conflict):        # removed or started meanwhile
            continue
        api.lifecycle.removed(container)
        deleted.append(container.id)
    return {"ContainersDeleted": deleted, "SpaceReclaimed": 0}


def _older_than(container, untils) -> bool:
    from ..cli.render import parse_time
    from .system import _time_arg
    created = parse_time(container.record["Created"])
    return all(created < _time_arg(u) for u in untils)


def _attrs(container) -> dict:
    return {**container.labels, "image": container.record["Config"].get("Image") or "",
            "name": container.name}


# -- views and small changes ---------------------------------------------------------------------
def top(api, request):
    import pwd
    container = get(api, request)
    if container.status != "running":
        raise Conflict(f"container {container.name} is not running")
    rows = []
    for proc in container.top():
        try:
            user = pwd.getpwuid(int(proc["user"])).pw_name
        except (KeyError, ValueError):
            user = str(proc["user"])
        rows.append([user, str(proc["pid"]), proc["cmd"]])
    return {"Titles": ["UID", "PID", "CMD"], "Processes": rows}


def changes(api, request):
    return get(api, request).diff()


def rename(api, request):
    container = get(api, request)
    name = request.arg("name")
    if not name:
        raise InvalidArgument("rename needs a new name (?name=)")
    old = container.name
    api.engine.containers.rename(container, name)
    api.events.publish("container", "rename", container.id,
                       {**_attrs(container), "name": name.lstrip("/"), "oldName": "/" + old})
    return Reply(204)


def update(api, request):
    from .hostconfig import check_supported
    body = request.json()
    check_supported("HostConfig", body)
    if (body.get("RestartPolicy") or {}).get("Name") not in (None, "", "no"):
        raise InvalidArgument("HostConfig.RestartPolicy is not supported by dockyard")
    container = get(api, request)
    nano = body.get("NanoCpus") or 0
    quota, period = body.get("CpuQuota") or 0, body.get("CpuPeriod") or 100000
    container.update(memory=body.get("Memory") or None,
                     memory_swap=body.get("MemorySwap") or None,
                     cpus=nano / 1e9 if nano else (quota / period if quota > 0 else None),
                     pids_limit=body.get("PidsLimit") or None)
    api.events.publish("container", "update", container.id, _attrs(container))
    return {"Warnings": []}


def resize(api, request):
    container = get(api, request)
    height, width = request.number("h", 0), request.number("w", 0)
    if container.status != "running":
        api.console_sizes[container.id] = (height, width)      # applied at start
        return Reply(200)
    container.resize(height, width)
    return Reply(200)
