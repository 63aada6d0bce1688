"""HTML reprs for the engine's objects, registered as IPython formatters.

They render as tables wherever the notebook is read (nbconvert HTML, GitHub), with no live
kernel and no widgets. Formatters are registered by class *name*, so nothing here imports the
engine until IPython meets one of its objects.
"""
from datetime import datetime, timezone
from html import escape

from . import container_info as info
from .htmlkit import code, human_size, local_time, short_digest, state_badge, table
from .layers import Provenance, created_words, layer_rows, short_names, stack_html

# (module, class name) -> kind; the engine's object classes as they are laid out today.
CLASSES = {
    ("dockyard.engine.image.model", "Image"): "image",
    ("dockyard.engine.containers", "Container"): "container",
    ("dockyard.engine.volumes", "Volume"): "volume",
    ("dockyard.engine.network.networks", "Network"): "network",
}
KINDS = {name: kind for (_module, name), kind in CLASSES.items()}


def kind_of(obj) -> str | None:
    """'image', 'container', 'network' or 'volume' for an engine object, else None."""
    cls = type(obj)
    if not cls.__module__.startswith("dockyard.engine"):
        return None
    return KINDS.get(cls.__name__)


def image_html(image, provenance: Provenance | None = None) -> str:
    return stack_html(image, layer_rows(image, provenance))


def _attrs(obj) -> dict:
    try:
        return obj.attrs or {}
    except Exception:       # a container removed under us still gets a row
        return {}


class Snapshot(list):
    """Engine objects as they were at `taken` (`%container ps`): the table says when."""

    def __init__(self, items, taken: datetime | None = None):
        super().__init__(items)
        self.taken = taken or datetime.now(timezone.utc)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"{len(self)} containers as of {local_time(self.taken)}: "
                     + ", ".join(f"{c.name} ({info.state(_attrs(c))})" for c in self))


def container_rows(containers) -> list[list[str]]:
    rows = []
    for c in containers:
        attrs = _attrs(c)
        running = info.state(attrs) == "running"
        ports = ", ".join(f"<a href='{escape(url)}'>{escape(port)}→{escape(url)}</a>"
                          for port, url in info.published_ports(attrs)) if running else ""
        rows.append([code(c.short_id), f"<b>{escape(c.name)}</b>", code(info.image_name(attrs)),
                     state_badge(info.state(attrs)), escape(info.uptime(attrs)),
                     escape(", ".join(info.ip_addresses(attrs).values())), ports])
    return rows


def containers_html(containers) -> str:
    taken = getattr(containers, "taken", None)
    when = (f"<div class='dy-taken' style='color:#616161'>as of {local_time(taken)}</div>"
            if taken else "")
    return when + table(["id", "name", "image", "state", "up", "IP", "ports"],
                        container_rows(containers), "dy-containers")


def images_html(images) -> str:
    rows = [[code(i.short_id), escape(", ".join(short_names(i.tags)) or "<none>"),
             str(sum(1 for _ in i.layers)), human_size(i.size), escape(created_words(i.created).removeprefix("created "))]
            for i in images]
    return table(["id", "tags", "layers", "size", "created"], rows, "dy-images")


def _network_fields(n) -> list[str]:
    attrs = n.attrs if hasattr(n, "attrs") else (n.inspect() if hasattr(n, "inspect") else {})
    subnets = ", ".join(c.get("Subnet", "") for c in (attrs.get("IPAM") or {}).get("Config") or [])
    return [code(short_digest(getattr(n, "id", "") or attrs.get("Id", ""))),
            f"<b>{escape(getattr(n, 'name', '') or attrs.get('Name', ''))}</b>",
            escape(attrs.get("Driver", "")), escape(subnets),
            str(len(attrs.get("Containers") or {}))]


def networks_html(networks) -> str:
    return table(["id", "name", "driver", "subnet", "containers"],
                 [_network_fields(n) for n in networks], "dy-networks")


def volumes_html(volumes) -> str:
    rows = [[f"<b>{escape(v.name)}</b>", escape(v.driver), code(str(v.mountpoint)),
             escape(str(v.created)[:19])] for v in volumes]
    return table(["name", "driver", "mountpoint", "created"], rows, "dy-volumes")


MANY = {"image": images_html, "container": containers_html, "network": networks_html,
        "volume": volumes_html}


def one_html(obj) -> str | None:
    kind = kind_of(obj)
    if kind == "image":
        return image_html(obj)
    return MANY[kind]([obj]) if kind else None


def list_html(items) -> str | None:
    """A table for a non-empty list of engine objects of one kind; None lets IPython go on."""
    if isinstance(items, Snapshot) and not items:
        return f"<div class='dy-taken'>no containers as of {local_time(items.taken)}</div>"
    if not items or not isinstance(items, (list, tuple)):
        return None
    kinds = {kind_of(item) for item in items}
    if len(kinds) != 1 or None in kinds:
        return None
    return MANY[kinds.pop()](items)


def register(shell) -> None:
    """Register the formatters with this IPython shell."""
    html = shell.display_formatter.formatters["text/html"]
    for (module, name), _kind in CLASSES.items():
        html.for_type_by_name(module, name, one_html)
    html.for_type(list, list_html)
    html.for_type(tuple, list_html)


def unregister(shell) -> None:
    html = shell.display_formatter.formatters["text/html"]
    for (module, name), _kind in CLASSES.items():
        html.deferred_printers.pop((module, name), None)
        html.type_printers = {t: f for t, f in html.type_printers.items()
                              if not (t.__module__ == module and t.__name__ == name)}
    for cls in (list, tuple):
        if html.type_printers.get(cls) is list_html:
            del html.type_printers[cls]
