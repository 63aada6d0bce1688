"""An image's layer stack: rows from its history and layers, as HTML and as a widget.

Bottom row = the base image's first layer, top row = the newest step. A total bar on top
shows each layer's share of the image, in the colour of its row; hovering a row shows its
full digest and creation time. Which notebook cell built a layer, and whether it came from the
cache, is known only for builds this kernel ran: `Provenance` remembers that from the build
events, along with each instruction as it was written in the cell.
"""
import re
from dataclasses import dataclass, field
from html import escape

import ipywidgets as widgets
from traitlets import Int, Unicode

from dockyard.engine import parse_reference

from .container_info import parse_time
from .htmlkit import NOWRAP, code, human_size, instruction_html, short_digest
from .static import StaticSnapshot

NOP = "/bin/sh -c #(nop) "
# BuildKit's history line for RUN: `RUN |2 A=1 B=2 /bin/sh -c make # buildkit`.
_RUN_SHELL = re.compile(r"^RUN (?:\|\d+(?: [^ =]+=\S*)* )?/bin/sh -c ")
_BOOTSTRAP = re.compile(r"^dockyard image bootstrap (\S+)(?: \(BusyBox v(\d+\.\d+))?")
PALETTE = ("#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00acc1", "#e53935", "#6d4c41")
FIXED_DATE = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class LayerRow:
    """One step of an image: a filesystem layer, or a config-only step (`empty`)."""

    instruction: str
    size: int = 0
    digest: str | None = None
    empty: bool = False
    cached: bool | None = None
    cell: int | None = None
    cell_id: str | None = None
    created: str = ""


@dataclass
class StepNote:
    """What a build told us about one step: the cell it ran in and whether it hit the cache."""

    instruction: str
    cell: int | None = None
    cached: bool | None = None
    digest: str | None = None
    cell_id: str | None = None


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


def plain_instruction(created_by: str, comment: str = "") -> str:
    """A history entry in a newcomer's words (the CLI keeps Docker's exact text).

    'RUN /bin/sh -c echo hi # buildkit' -> 'RUN echo hi';
    'dockyard image bootstrap busybox (BusyBox v1.35.0 (Debian ...) ...)'
        -> 'base image: busybox 1.35 (made on this machine)'
    """
    text = clean_instruction(created_by)
    bootstrap = _BOOTSTRAP.match(text)
    if bootstrap:
        version = f" {bootstrap[2]}" if bootstrap[2] else ""
        return f"base image: {bootstrap[1]}{version} (made on this machine)"
    if not text and comment:
        return comment[:1].lower() + comment[1:]          # "imported from app.tar"
    return _RUN_SHELL.sub("RUN ", text.removesuffix(" # buildkit"))


def created_words(created: str) -> str:
    """When a layer was made, for its tooltip; a zero date is a deliberate, fixed one."""
    if not created:
        return "creation time unknown"
    if created.startswith("1970-01-01T00:00:00"):
        return "created with a fixed date, for reproducibility"
    moment = parse_time(created)
    return f"created {moment.astimezone():%Y-%m-%d %H:%M:%S}" if moment else f"created {created}"


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


def short_names(tags) -> list[str]:
    """Tags as the user typed them: 'docker.io/library/hello:1' -> 'hello:1'."""
    return [parse_reference(tag, default_tag=False).familiar for tag in tags or ()]


def layer_rows(image, provenance: Provenance | None = None) -> list[LayerRow]:
    """Rows bottom first: each history entry paired with its layer, annotated from provenance."""
    layers = list(_get(image, "layers") or [])
    raw: list[dict] = []
    for entry in image_history(image):
        empty = bool(_get(entry, "empty_layer", False))
        row = {"instruction": plain_instruction(_get(entry, "created_by", ""),
                                                _get(entry, "comment", "") or ""),
               "empty": empty, "created": _get(entry, "created", "") or ""}
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
            _credit(row, note)
    # FROM and ARG steps make no history entry of their own, and steps of other stages land in
    # other images: pair only steps whose instruction keyword matches the history entry's.
    steps = [n for n in provenance.by_image.get(image_id or "", [])
             if _keyword(n.instruction) not in ("FROM", "ARG")]
    for row, note in zip(reversed(raw), reversed(steps)):
        if row.get("cell") is None and _keyword(row["instruction"]) == _keyword(note.instruction):
            _credit(row, note)


def _credit(row: dict, note: StepNote) -> None:
    row.update(cell=note.cell, cell_id=note.cell_id, cached=note.cached,
               instruction=note.instruction or row["instruction"])


def _keyword(instruction: str) -> str:
    return (instruction or "").split(None, 1)[0].upper() if (instruction or "").strip() else ""


def cell_link(row: LayerRow) -> str:
    """'In [2]', linked to the cell by its id (stable when cells move or run again)."""
    if row.cell is None:
        return ""
    if not row.cell_id:
        return f"In [{row.cell}]"
    return (f"<a class='dy-cell-link' href='#cell-id={escape(row.cell_id)}' "
            f"style='color:#1565c0;text-decoration:underline' "
            f"title='go to the cell that built this layer'>In [{row.cell}]</a>")


def _colours(rows: list[LayerRow]) -> dict[int, str]:
    """Row index -> colour, bottom layer first, for the layers that hold files."""
    filled = [i for i, r in enumerate(rows) if not r.empty]
    return {i: PALETTE[n % len(PALETTE)] for n, i in enumerate(filled)}


def _hover(row: LayerRow) -> str:
    return escape(f"{row.digest or 'no layer: this step only changes settings'}\n"
                  f"{created_words(row.created)}")


def share_bar(rows: list[LayerRow]) -> str:
    """One bar for the whole image, a segment per layer as wide as its share of the total."""
    total = sum(r.size for r in rows) or 1
    colours = _colours(rows)
    segments = "".join(
        f"<div class='dy-share' style='width:{100 * r.size / total:.1f}%;background:{colours[i]};"
        f"height:14px' title='{escape(r.instruction)}: {human_size(r.size)} "
        f"({100 * r.size / total:.1f}%)'></div>"
        for i, r in enumerate(rows) if not r.empty and r.size)
    return (f"<div class='dy-total-bar' style='display:flex;width:100%;max-width:640px;"
            f"background:#eceff1;margin:4px 0'>{segments}</div>")


def stack_html(image, rows: list[LayerRow]) -> str:
    """The layer stack, newest on top, under a summary line and the image's total bar."""
    total = sum(r.size for r in rows) or 1
    colours = _colours(rows)
    body = []
    for i in reversed(range(len(rows))):
        row = rows[i]
        share = 0 if row.empty else 100 * row.size / total
        bar = ("" if row.empty else
               f"<div class='dy-layer-bar' style='height:12px;width:{max(share, 0.5):.1f}%;"
               f"background:{colours[i]}'></div>")
        cache = "" if row.cached is None else ("cached" if row.cached else "built")
        body.append(
            f"<tr class='dy-layer{' dy-layer-empty' if row.empty else ''}' title='{_hover(row)}'>"
            f"<td style='width:160px'>{bar}</td>"
            f"<td style='text-align:left'>{instruction_html(row.instruction)}</td>"
            f"<td class='dy-layer-size' style='{NOWRAP}'>{'' if row.empty else human_size(row.size)}</td>"
            f"<td class='dy-layer-share' style='{NOWRAP}'>{'' if row.empty else f'{share:.1f}%'}</td>"
            f"<td>{code(short_digest(row.digest))}</td><td>{cache}</td>"
            f"<td style='{NOWRAP}'>{cell_link(row)}</td></tr>")
    return (f"<div class='dy-image'>{summary_html(image, rows)}{share_bar(rows)}"
            "<table class='dy-layers'><thead><tr><th>layer</th><th>instruction</th><th>size</th>"
            "<th>share</th><th>digest</th><th>cache</th><th>cell</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _total(image, rows: list[LayerRow]) -> int:
    total = _get(image, "size")
    return sum(r.size for r in rows) if total is None else total


def summary_html(image, rows: list[LayerRow]) -> str:
    tags = ", ".join(short_names(_get(image, "tags"))) or "<untagged>"
    labels = image_labels(image)
    count = sum(1 for r in rows if not r.empty)
    label_text = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in labels.items())
    return (f"<div class='dy-image-summary'><b>{escape(tags)}</b> "
            f"{code(str(_get(image, 'short_id') or short_digest(_get(image, 'id'))))} · "
            f"<span class='dy-layer-count'>{count} layers</span> · "
            f"<span class='dy-total-size'>{human_size(_total(image, rows))}</span>"
            + (f" · labels: {label_text}" if label_text else "") + "</div>")


class LayerStack(StaticSnapshot, widgets.VBox):
    """A widget showing an image's layer stack; its HTML is also its static copy."""

    image_id = Unicode(help="The image's id (sha256:...).").tag(sync=True)
    layer_count = Int(help="Filesystem layers in the image.").tag(sync=True)
    total_size = Int(help="Sum of the layer sizes in bytes.").tag(sync=True)

    def __init__(self, image, provenance: Provenance | None = None, **kwargs):
        rows = layer_rows(image, provenance)
        self.html = stack_html(image, rows)
        self.tags = short_names(_get(image, "tags"))
        super().__init__(children=[widgets.HTML(value=self.html)], **kwargs)
        self.add_class("dy-layer-stack")
        self.image_id = str(_get(image, "id") or "")
        self.layer_count = sum(1 for r in rows if not r.empty)
        self.total_size = int(sum(r.size for r in rows))

    def static_html(self) -> str:
        return self.html

    def summary(self) -> str:
        name = ", ".join(self.tags) or self.image_id[:19]
        return f"Image {name}: {self.layer_count} layers, {human_size(self.total_size)}"
