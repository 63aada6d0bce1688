"""Network routes: create, list, inspect, connect, disconnect, remove, prune."""
from ..errors import Conflict, InvalidArgument, NotFound
from .containers import filters_of
from .http import Reply, json_reply

ROUTES = [
    ("GET", "/networks", "list_networks"),
    ("GET", "/networks/json", "list_networks"),
    ("POST", "/networks/create", "create"),
    ("POST", "/networks/prune", "prune"),
    ("GET", "/networks/{id}", "inspect"),
    ("POST", "/networks/{id}/connect", "connect"),
    ("POST", "/networks/{id}/disconnect", "disconnect"),
    ("DELETE", "/networks/{id}", "remove"),
]

BUILTIN = ("bridge", "host", "none")


def builtin_views() -> list[dict]:
    """`host` and `none` exist in Docker as networks; here they are modes with no record."""
    return [{"Name": name, "Id": name, "Created": "0001-01-01T00:00:00Z", "Scope": "local",
             "Driver": "host" if name == "host" else "null", "EnableIPv6": False,
             "IPAM": {"Driver": "default", "Options": None, "Config": []}, "Internal": False,
             "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Containers": {}, "Options": {}, "Labels": {}}
            for name in ("host", "none")]


def _all(api) -> list[dict]:
    api.engine.networks.ensure_default()
    return [n.inspect() for n in api.engine.networks.list()] + builtin_views()


def list_networks(api, request):
    from ..filters import NETWORK_FILTERS
    wanted = filters_of(request, NETWORK_FILTERS)
    api.engine.networks.ensure_default()
    views = [n.inspect() for n in api.engine.networks.list(filters=wanted)]
    # host and none: builtin, driverless, label-less, never dangling
    for view in builtin_views():
        if wanted.match("name", view["Name"]) and wanted.match("id", view["Id"]) \
                and wanted.exact("driver", view["Driver"]) and wanted.exact("type", "builtin") \
                and not wanted.get("label") and wanted.boolean("dangling") is not True:
            views.append(view)
    return views


def _find(api, ref: str) -> dict:
    for view in _all(api):
        if ref in (view["Name"], view["Id"]):
            return view
    found = [v for v in _all(api) if v["Id"].startswith(ref)]
    if len(found) == 1:
        return found[0]
    raise NotFound(f"network {ref} not found")


def inspect(api, request):
    return _find(api, request.params["id"])


def create(api, request):
    body = request.json()
    name = body.get("Name")
    if not name:
        raise InvalidArgument("a network needs a Name")
    if name in BUILTIN:
        raise Conflict(f"network with name {name} already exists")
    if body.get("EnableIPv6"):
        raise InvalidArgument("EnableIPv6 is not supported by dockyard")
    for key in ("Options", "IPAM.Options"):
        if _dig(body, key):
            raise InvalidArgument(f"network {key} are not supported by dockyard")
    configs = (body.get("IPAM") or {}).get("Config") or []
    if len(configs) > 1:
        raise InvalidArgument("one IPAM config (subnet) per network is supported")
    config = configs[0] if configs else {}
    network = api.engine.networks.create(
        name, subnet=config.get("Subnet") or None, gateway=config.get("Gateway") or None,
        internal=bool(body.get("Internal")), labels=body.get("Labels") or {},
        driver=body.get("Driver") or "bridge")
    return json_reply({"Id": network.id, "Warning": ""}, 201)


def _dig(body: dict, dotted: str):
    for part in dotted.split("."):
        body = (body or {}).get(part) if isinstance(body, dict) else None
    return body


def connect(api, request):
    from ..endpoints import connect as connect_container
    body = request.json()
    view = _find(api, request.params["id"])
    endpoint = body.get("EndpointConfig") or {}
    ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or None
    connect_container(api.engine, view["Name"], body.get("Container") or "",
                      aliases=tuple(endpoint.get("Aliases") or ()), ip=ip)
    container = api.engine.containers.get(body["Container"])
    return Reply(200)


def disconnect(api, request):
    from ..endpoints import disconnect as disconnect_container
    body = request.json()
    view = _find(api, request.params["id"])
    container = api.engine.containers.get(body.get("Container") or "")
    disconnect_container(api.engine, view["Name"], container.id)
    return Reply(200)


def remove(api, request):
    view = _find(api, request.params["id"])
    if view["Name"] in BUILTIN:
        raise Conflict(f"{view['Name']} is a pre-defined network and cannot be removed")
    api.engine.networks.remove(view["Id"])
    return Reply(204)


def prune(api, request):
    wanted = filters_of(request, ("label", "until"))
    if wanted.get("label"):
        removed = []
        for network in api.engine.networks.list():
            if network.default or network.endpoints or not wanted.match_labels("label",
                                                                               network.labels):
                continue
            api.engine.networks.remove(network.id)
            removed.append(network.name)
    else:
        removed = api.engine.networks.prune()
    return {"NetworksDeleted": removed}
