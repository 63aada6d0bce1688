"""Notebook views in plain words, where the CLI prints Docker's exact output for scripts.

    %image history hello:1    -> ImageHistory: the instruction as written, "fixed date"
    %image bootstrap busybox  -> "busybox: base image busybox 1.35, made on this machine (...)"
    %network create demo-net  -> "Created network demo-net: bridge, subnet 10.88.1.0/24 ..."
"""
from datetime import datetime, timezone
from html import escape

from .htmlkit import NOWRAP, code, human_size, instruction_html, short_digest, table
from .layers import layer_rows, plain_instruction, short_names

FIXED = "fixed date (for reproducibility)"


def _when(created) -> str:
    """Docker's history times are Unix seconds; 0 is the deliberate date of a reproducible layer."""
    if not created:
        return FIXED
    return datetime.fromtimestamp(created, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")


class ImageHistory:
    """`%image history` as a table: newest step first, each in plain words."""

    def __init__(self, name: str, entries: list[dict]):
        self.name, self.entries = name, list(entries)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(image id or '', instruction, size, created) per entry."""
        return [("" if e.get("Id") == "<missing>" else short_digest(e.get("Id")),
                 plain_instruction(e.get("CreatedBy", ""), e.get("Comment") or ""),
                 human_size(e.get("Size") or 0), _when(e.get("Created")))
                for e in self.entries]

    def _repr_html_(self) -> str:
        body = [[code(image), instruction_html(text), f"<span style='{NOWRAP}'>{size}</span>",
                 f"<span style='{NOWRAP}'>{escape(when)}</span>"]
                for image, text, size, when in self.rows()]
        return (f"<div class='dy-history'><b>{escape(self.name)}</b>, newest step first"
                + table(["image", "instruction", "size", "created"], body, "dy-history-table")
                + "</div>")

    def __repr__(self) -> str:
        return "\n".join(f"{size:>9}  {text}  ({when})" for _, text, size, when in self.rows())

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


def bootstrap_line(image) -> str:
    """One line after `%image bootstrap`: what was made, from what, how big."""
    rows = layer_rows(image)
    what = rows[0].instruction.removeprefix("base image: ") if rows else "base image"
    name = ", ".join(short_names(image.tags)) or image.short_id
    return (f"{name}: base image {what.replace(' (made on this machine)', '')}, made on this "
            f"machine ({len(image.layers)} layer, {human_size(image.size)}, id {image.short_id})")


def network_line(network) -> str:
    """One line after `%network create`: the name, driver, subnet and gateway."""
    internal = ", internal (no way out)" if network.internal else ""
    return (f"Created network {network.name}: {network.driver}, subnet {network.subnet}, "
            f"gateway {network.gateway}{internal} (id {network.id[:12]})")
