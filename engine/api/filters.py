"""Docker's `filters` query parameter: `{"label": ["a=b"], "status": ["running"]}`.

Old clients send `{"label": {"a=b": true}}`; both read as {key: [values]}. Values of one key
are alternatives (any may match); different keys must all match.
"""
from ..errors import InvalidArgument


def parse(raw, allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """{key: [values]} from the decoded parameter; InvalidArgument names an unknown key."""
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise InvalidArgument("filters must be a JSON object")
    out = {}
    for key, values in raw.items():
        if key not in allowed:
            raise InvalidArgument(f"invalid filter '{key}'")
        if isinstance(values, dict):
            values = [v for v, on in values.items() if on]
        elif isinstance(values, str):
            values = [values]
        out[key] = [str(v) for v in values]
    return out


def label_matches(labels: dict, wanted: list[str]) -> bool:
    """Every `key` or `key=value` (or `key!=value`) in `wanted` holds for `labels`."""
    for item in wanted:
        if "!=" in item:
            key, value = item.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in item:
            key, value = item.split("=", 1)
            if labels.get(key) != value:
                return False
        elif item not in labels:
            return False
    return True


def truthy(value: str) -> bool:
    return value.lower() in ("1", "true")


EVENT_KEYS = ("type", "event", "container", "image", "label", "network", "volume", "scope",
              "daemon", "plugin", "node", "service", "secret", "config")


def event_matcher(raw):
    """A predicate for events as `docker events --filter` asks."""
    filters = parse(raw, EVENT_KEYS)

    def matches(event: dict) -> bool:
        kind, actor = event["Type"], event["Actor"]
        attrs = actor["Attributes"]
        checks = {
            "type": lambda v: kind in v,
            "event": lambda v: event["Action"].split(":")[0] in v or event["Action"] in v,
            "container": lambda v: kind == "container" and any(
                actor["ID"].startswith(x) or attrs.get("name") == x for x in v),
            "image": lambda v: attrs.get("image") in v or (kind == "image" and any(
                actor["ID"].startswith(x) or attrs.get("name") == x for x in v)),
            "network": lambda v: kind == "network" and any(
                actor["ID"].startswith(x) or attrs.get("name") == x for x in v),
            "volume": lambda v: kind == "volume" and actor["ID"] in v,
            "label": lambda v: label_matches(attrs, v),
            "scope": lambda v: "local" in v,
        }
        return all(checks.get(key, lambda v: False)(values) for key, values in filters.items())
    return matches
