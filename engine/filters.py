"""Docker's list filters (`--filter key=value`, the API's `filters`), with the daemon's rules:
values of one key are alternatives, different keys must all match; `name` and `id` match as
unanchored regular expressions, `label` as `key` or `key=value`, `reference` as a path glob.

    Filters.of(["name=web", "label=env=prod"]).match("name", "myweb1")  -> True
"""
import re

from .errors import InvalidArgument

TRUE, FALSE = ("true", "1"), ("false", "0")


class Filters:
    """Filter values by key: {"name": ["web", "db"], "label": ["env=prod"]}."""

    def __init__(self, values: dict[str, list[str]] | None = None):
        self.values = {k: list(v) for k, v in (values or {}).items() if v}

    @classmethod
    def of(cls, spec) -> "Filters":
        """From `--filter` strings, a docker-py dict ({"name": "web"} or lists), or Filters."""
        if isinstance(spec, Filters):
            return spec
        if not spec:
            return cls()
        if isinstance(spec, dict):
            return cls({k: [_text(v)] if isinstance(v, (str, bool, int)) else
                        [_text(x) for x in v] for k, v in spec.items()})
        values: dict[str, list[str]] = {}
        for item in spec:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            values.setdefault(key.strip().lower(), []).append(value)
        return cls(values)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str) -> list[str]:
        return self.values.get(key, [])

    def validate(self, accepted) -> "Filters":
        for key in self.values:
            if key not in accepted:
                raise InvalidArgument(f"invalid filter '{key}'")
        return self

    def match(self, key: str, source: str) -> bool:
        """Any value equals `source` or finds it as an unanchored regex; true without values."""
        values = self.values.get(key)
        if not values or source in values:
            return True
        for pattern in values:
            try:
                if re.search(pattern, source):
                    return True
            except re.error:
                continue
        return False

    def exact(self, key: str, source: str) -> bool:
        values = self.values.get(key)
        return not values or source in values

    def match_labels(self, key: str, labels: dict) -> bool:
        """Every `k` or `k=v` value is among `labels` (and `k!=v` is not)."""
        for value in self.values.get(key, ()):
            if "!=" in value:
                name, _, wanted = value.partition("!=")
                if labels.get(name) == wanted:
                    return False
                continue
            name, sep, wanted = value.partition("=")
            if name not in labels or (sep and labels[name] != wanted):
                return False
        return True

    def boolean(self, key: str) -> bool | None:
        """A true/false filter such as dangling: None when absent."""
        values = self.values.get(key)
        if not values:
            return None
        if any(v.lower() not in TRUE + FALSE for v in values):
            raise InvalidArgument(f"invalid filter '{key}={values[0]}'")
        return values[-1].lower() in TRUE


def _text(value) -> str:
    """A docker-py filter value as the API sends it: True -> "true"."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` and `?` stop at '/', `[...]` classes, `\\` escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("^", "]") else i + 1)
            if end < 0:
                raise InvalidArgument(f"syntax error in pattern: {pattern}")
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(out), name) is not None


def port_range(spec: str, key: str) -> tuple[int, int, str]:
    """A publish/expose filter value, "80", "80/udp" or "8000-8080/tcp": (first, last, proto)."""
    ports, _, proto = spec.partition("/")
    first, _, last = ports.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise InvalidArgument(f"invalid filter '{key}={spec}'") from None
    return low, high, proto or "tcp"


def until(value: str, now: float) -> float:
    """An `until` filter's time: unix seconds, RFC 3339, or a Go duration before now (10m)."""
    from .image.model import parse_time
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value)
    if parts and "".join(a + b for a, b in parts) == value:
        return now - sum(float(n) * units[u] for n, u in parts)
    try:
        return float(value)
    except ValueError:
        pass
    stamp = parse_time(value if "T" in value else value + "T00:00:00Z")
    if not stamp:
        raise InvalidArgument(f"invalid filter 'until={value}'")
    return stamp


# -- what each list accepts, as Docker's daemon applies it --------------------------------------
CONTAINER_FILTERS = {"ancestor", "before", "expose", "exited", "health", "id", "isolation",
                     "is-task", "label", "name", "network", "publish", "since", "status",
                     "volume"}
STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")


def select_containers(engine, containers: list, filters, all: bool = False,
                      limit: int = -1) -> list:
    """`docker ps`: of `containers` (newest first) those the filters, --all and --last keep."""
    f = Filters.of(filters).validate(CONTAINER_FILTERS)
    for key, allowed in (("status", STATES), ("health", HEALTH), ("is-task", TRUE + FALSE)):
        for value in f.get(key):
            if value not in allowed:
                raise InvalidArgument(f"invalid filter '{key}={value}'")
    try:
        exited = {int(v) for v in f.get("exited")}
    except ValueError:
        raise InvalidArgument(f"invalid filter 'exited={f.get('exited')[0]}'") from None
    before = [engine.containers.get(v).record["Created"] for v in f.get("before")]
    since = [engine.containers.get(v).record["Created"] for v in f.get("since")]
    ancestors = _image_family(engine, f.get("ancestor")) if "ancestor" in f else None
    publish = _ports(f, "publish")
    expose = _ports(f, "expose")
    all = all or "status" in f or limit > 0
    out = []
    for c in containers:
        record, created = c.record, c.record["Created"]
        if any(created >= b for b in before) or any(created <= s for s in since):
            continue
        try:
            state = c.state
        except LookupError:         # removed while we looked
            continue
        if not (all or state.status in ("running", "restarting")):   # as Docker ps
            continue
        if not (f.match("name", record["Name"]) or f.match("name", c.name)) \
                or not f.match("id", c.id) or not f.match_labels("label", c.labels) \
                or not f.match("status", state.status) or not f.match("isolation", ""):
            continue
        if exited and not (state.status != "running" and state.started_at
                           and (state.exit_code or 0) in exited):
            continue
        health = (getattr(state, "health", None) or {}).get("Status", "none")
        if not f.exact("health", health) or f.get("is-task") and f.boolean("is-task"):
            continue
        if ancestors is not None and record["Image"] not in ancestors:
            continue
        if not _on_networks(engine, c, f.get("network")) or not _has_volume(c, f.get("volume")):
            continue
        if publish and not publish & _published(c) or expose and not expose & _exposed(c):
            continue
        out.append(c)
        if limit > 0 and len(out) == limit:
            break
    return out


def _image_family(engine, refs: list[str]) -> set[str]:
    """Ids of the images `refs` name and of the images built on them (their layers first)."""
    from .errors import NotFound
    bases = []
    for ref in refs:
        try:
            bases.append(engine.images.get(ref))
        except NotFound:            # Docker ignores an ancestor it doesn't know
            continue
    family = {b.id for b in bases}
    for image in engine.store.list():
        chain = [layer.diff_id for layer in image.layers]
        if any(b.layers and chain[:len(b.layers)] == [x.diff_id for x in b.layers] for b in bases):
            family.add(image.id)
    return family


def _ports(f: Filters, key: str) -> set[str]:
    ports = set()
    for value in f.get(key):
        low, high, proto = port_range(value, key)
        ports.update(f"{p}/{proto}" for p in range(low, high + 1))
    return ports


def _published(container) -> set[str]:
    from .container_inspect import port_bindings
    bindings = (container.record.get("HostConfig") or {}).get("PortBindings") or {}
    return set(bindings if isinstance(bindings, dict) else port_bindings(bindings))


def _exposed(container) -> set[str]:
    return set((container.record.get("Config") or {}).get("ExposedPorts") or {}) | \
        _published(container)


def _on_networks(engine, container, wanted: list[str]) -> bool:
    if not wanted:
        return True
    endpoints = container.record.get("Endpoints") or {}
    if any(name in endpoints for name in wanted):
        return True
    ids = {n.id for n in engine.networks.list() if n.name in endpoints} if endpoints else set()
    return any(i.startswith(w) for w in wanted for i in ids)


def _has_volume(container, wanted: list[str]) -> bool:
    if not wanted:
        return True
    mounts = container.record.get("Mounts") or ()
    names = {m.get("Name") or m.get("Source") for m in mounts} | {m.get("Destination")
                                                                  for m in mounts}
    return any(w in names for w in wanted)


IMAGE_FILTERS = {"before", "dangling", "label", "reference", "since", "until"}


def select_images(engine, images: list, filters, name: str | None = None) -> list:
    """`docker images [REPOSITORY[:TAG]]`: the images the filters keep; with a reference
    filter (or `name`) each keeps only the tags and digests that match it."""
    import time
    from dataclasses import replace
    from .image.model import parse_time
    f = Filters.of(filters).validate(IMAGE_FILTERS)
    patterns = f.get("reference") + ([name] if name else [])
    dangling = f.boolean("dangling")
    before = [parse_time(engine.images.get(v).created) for v in f.get("before")]
    since = [parse_time(engine.images.get(v).created) for v in f.get("since")]
    limits = [until(v, time.time()) for v in f.get("until")]
    out = []
    for image in images:
        created = parse_time(image.created)
        if any(created >= b for b in before + limits) or any(created <= s for s in since):
            continue
        if not f.match_labels("label", (image.config.get("config") or {}).get("Labels") or {}):
            continue
        if patterns:
            tags = tuple(t for t in image.tags if _reference_match(patterns, t))
            digests = tuple(d for d in image.repo_digests if _reference_match(patterns, d))
            if not tags and not digests:
                continue
            image = replace(image, tags=tags, repo_digests=digests)
        if dangling is True and image.tags or dangling is False and not (
                image.tags or image.repo_digests):
            continue
        out.append(image)
    return out


def _reference_match(patterns: list[str], ref: str) -> bool:
    """reference.FamiliarMatch: the pattern against "name:tag", then against "name"."""
    from .image.reference import familiar, familiar_name, parse
    shown, short = familiar(ref), familiar_name(parse(ref))
    return any(path_match(p, shown) or path_match(p, short) for p in patterns)


NETWORK_FILTERS = {"dangling", "driver", "id", "label", "name", "scope", "type"}


def select_networks(networks: list, filters) -> list:
    """`docker network ls`: the networks the filters keep."""
    f = Filters.of(filters).validate(NETWORK_FILTERS)
    for value in f.get("type"):
        if value not in ("custom", "builtin"):
            raise InvalidArgument(f"invalid filter 'type={value}'")
    dangling = f.boolean("dangling")
    out = []
    for n in networks:
        builtin = n.default or n.name in ("bridge", "host", "none")
        if dangling is not None and dangling != (not builtin and not n.endpoints):
            continue
        kinds = f.get("type")
        if kinds and ("builtin" if builtin else "custom") not in kinds:
            continue
        if f.exact("driver", n.driver) and f.match("name", n.name) and f.match("id", n.id) \
                and f.match_labels("label", n.labels) and f.exact("scope", "local"):
            out.append(n)
    return out


VOLUME_FILTERS = {"dangling", "driver", "label", "name"}


def select_volumes(volumes: list, filters, in_use) -> list:
    """`docker volume ls`: the volumes the filters keep; `in_use()` names those mounted."""
    f = Filters.of(filters).validate(VOLUME_FILTERS)
    dangling = f.boolean("dangling")
    used = in_use() if dangling is not None else frozenset()
    return [v for v in volumes
            if (dangling is None or dangling == (v.name not in used))
            and f.match("name", v.name) and f.exact("driver", v.driver)
            and f.match_labels("label", v.labels)]
