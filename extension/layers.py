"""An image's layer stack: rows from its history and layers, as HTML and as a widget.

Bottom row = the base image's first layer, top row = the newest step; bars are drawn to scale.
Which notebook cell built a layer, and whether it came from the cache, is known only for
builds this kernel ran: `Provenance` remembers that from the build events.
"""
from dataclasses import dataclass, field
from html import escape

import ipywidgets as widgets
from traitlets import Int, Unicode

from .htmlkit import code, human_size, short_digest

NOP = "/bin/sh -c #(nop) "


@dataclass(frozen=True)
class LayerRow:
    """One step of an image: a filesystem layer, or a config-only step (`empty`)."""

    instruction: str
    size: int = 0
    digest: str | None = None
    empty: bool = False
    cached: bool | None = None
    cell: int | None = None


@dataclass
class StepNote:
    """What a build told us about one step: the cell it ran in and whether it hit the cache."""

    instruction: str
    cell: int | None = None
    cached: bool | None = None
    digest: str | None = None


@dataclass
class Provenance:
    """Build notes kept for the kernel's life: by layer digest and by image id (steps in order)."""

    by_digest: dict[str, StepNote] = field(default_factory=dict)
    by_image: dict[str, list[StepNote]] = field(default_factory=dict)

    def record(self, image_id: str, steps: list[StepNote]) -> None:
        self.by_image[image_id] = list(steps)
        for step in steps:
            if step.digest:
                self.by_digest.setdefault(step.digest, step)


def _get(obj, name, default=None):
    """Attribute or key: the engine's layer/history records may be objects or dicts."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def clean_instruction(created_by: str) -> str:
    """'/bin/sh -c #(nop)  ENV A=1' -> 'ENV A=1' (Docker's classic builder wrote it that way)."""
    text = (created_by or "").strip()
    if text.startswith(NOP):
        text = text[len(NOP):].strip()
    return text


def image_history(image) -> list:
    """The image's history entries: an attribute where the engine has one, else the OCI config's."""
    history = _get(image, "history")
    if history is None:
        history = (_get(image, "config") or {}).get("history") or []
    return history


def image_labels(image) -> dict:
    labels = _get(image, "labels")
    if labels is None:
        labels = ((_get(image, "config") or {}).get("config") or {}).get("Labels") or {}
    return labels


def layer_rows(image, provenance: Provenance | None = None) -> list[LayerRow]:
    """Rows bottom first: each history entry paired with its layer, annotated from provenance."""
    layers = list(_get(image, "layers") or [])
    history = list(image_history(image))
    raw: list[dict] = []
    for entry in history:
        empty = bool(_get(entry, "empty_layer", False))
        row = {"instruction": clean_instruction(_get(entry, "created_by", "")), "empty": empty}
        if not empty and layers:
            layer = layers.pop(0)
            row.update(size=int(_get(layer, "size", 0) or 0), digest=_get(layer, "digest"))
        raw.append(row)
    for layer in layers:        # layers without history (a hand-made base image)
        raw.append({"instruction": "", "size": int(_get(layer, "size", 0) or 0),
                    "digest": _get(layer, "digest")})
    if provenance:
        _annotate(raw, provenance, _get(image, "id"))
    return [LayerRow(**row) for row in raw]


def _annotate(raw: list[dict], provenance: Provenance, image_id: str | None) -> None:
    """Digest matches first; then this image's own build steps, aligned from the top."""
    for row in raw:
        note = provenance.by_digest.get(row.get("digest"))
        if note:
            row.update(cell=note.cell, cached=note.cached)
    # FROM and ARG steps make no history entry of their own, and steps of other stages land in
    # other images: pair only steps whose instruction keyword matches the history entry's.
    steps = [n for n in provenance.by_image.get(image_id or "", [])
             if _keyword(n.instruction) not in ("FROM", "ARG")]
    for row, note in zip(reversed(raw), reversed(steps)):
        if row.get("cell") is None and _keyword(row["instruction"]) == _keyword(note.instruction):
            row.update(cell=note.cell, cached=note.cached)


def _keyword(instruction: str) -> str:
    return (instruction or "").split(None, 1)[0].upper() if (instruction or "").strip() else ""


def stack_html(image, rows: list[LayerRow]) -> str:
    """The layer stack, newest on top, with a summary line (tags, total size, labels)."""
    biggest = max([r.size for r in rows] + [1])
    body = []
    for row in reversed(rows):
        width = 0 if row.empty else max(100 * row.size / biggest, 0.5)
        bar = (f"<div class='dy-layer-bar' style='height:12px;width:{width:.1f}%;"
               f"background:{'#b0bec5' if row.cached else '#1e88e5'}'></div>")
        cache = "" if row.cached is None else ("cached" if row.cached else "built")
        cell = f"In [{row.cell}]" if row.cell is not None else ""
        body.append(
            f"<tr class='dy-layer{' dy-layer-empty' if row.empty else ''}'>"
            f"<td style='width:160px'>{bar}</td><td style='text-align:left'>{code(row.instruction)}</td>"
            f"<td class='dy-layer-size' style='white-space:nowrap'>"
            f"{'' if row.empty else human_size(row.size)}</td>"
            f"<td>{code(short_digest(row.digest))}</td><td>{cache}</td>"
            f"<td style='white-space:nowrap'>{cell}</td></tr>")
    return (f"<div class='dy-image'>{summary_html(image, rows)}"
            "<table class='dy-layers'><thead><tr><th>layer</th><th>instruction</th><th>size</th>"
            "<th>digest</th><th>cache</th><th>cell</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def summary_html(image, rows: list[LayerRow]) -> str:
    tags = ", ".join(_get(image, "tags") or []) or "&lt;untagged&gt;"
    labels = image_labels(image)
    total = _get(image, "size")
    total = sum(r.size for r in rows) if total is None else total
    count = sum(1 for r in rows if not r.empty)
    label_text = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in labels.items())
    return (f"<div class='dy-image-summary'><b>{escape(str(tags))}</b> "
            f"{code(str(_get(image, 'short_id') or short_digest(_get(image, 'id'))))} · "
            f"<span class='dy-layer-count'>{count} layers</span> · "
            f"<span class='dy-total-size'>{human_size(total)}</span>"
            + (f" · labels: {label_text}" if label_text else "") + "</div>")


class LayerStack(widgets.VBox):
    """A widget showing an image's layer stack; its HTML is also its fallback outside Jupyter."""

    image_id = Unicode(help="The image's id (sha256:...).").tag(sync=True)
    layer_count = Int(help="Filesystem layers in the image.").tag(sync=True)
    total_size = Int(help="Sum of the layer sizes in bytes.").tag(sync=True)

    def __init__(self, image, provenance: Provenance | None = None, **kwargs):
        rows = layer_rows(image, provenance)
        self.html = stack_html(image, rows)
        super().__init__(children=[widgets.HTML(value=self.html)], **kwargs)
        self.add_class("dy-layer-stack")
        self.image_id = str(_get(image, "id") or "")
        self.layer_count = sum(1 for r in rows if not r.empty)
        self.total_size = int(sum(r.size for r in rows))

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/html"] = self.html
        return bundle
