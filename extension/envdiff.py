"""Two environments side by side in a notebook: `%image diff A B`, and what one layer holds.

    %image diff busybox env:1        # layers, config, files, Debian and Python packages
    env = _                          # the ImageDiffView; env.result is the engine's dict

Both widgets carry their HTML as a static copy. Long lists show the first `cap` rows and a
"Show all" button; a layer's contents are read only when its button is clicked.
"""
from __future__ import annotations

from html import escape

import ipywidgets as widgets
from traitlets import Int, Unicode

from dockyard.engine.cli.main import ArgumentParser

from .commandline import split
from .htmlkit import code, human_size, short_digest, table
from .static import StaticSnapshot

CAP = 100          # rows of a long list shown before "Show all"
MARK = {"added": "+", "removed": "−", "changed": "~"}
COLOURS = {"added": "#2e7d32", "removed": "#c62828", "changed": "#ef6c00"}


def diff_parser():
    p = ArgumentParser(prog="%image diff", add_help=False)
    p.add_argument("first", metavar="IMAGE1")
    p.add_argument("second", metavar="IMAGE2")
    return p


def image_diff(magics, line: str):
    """`%image diff A B`: the engine's comparison as an ImageDiffView."""
    args = diff_parser().parse_args(split(line)[1:])
    return ImageDiffView(magics.engine.images.diff(args.first, args.second))


def _change(kind: str) -> str:
    return (f"<span class='dy-diff-{kind}' style='color:{COLOURS[kind]};font-weight:bold'>"
            f"{MARK[kind]} {kind}</span>")


def file_rows(files: list[dict]) -> list[list[str]]:
    rows = []
    for f in files:
        size = (f"{human_size(f['old_size'])} → {human_size(f['size'])}"
                if f["change"] == "changed" else human_size(f["size"]) if f["type"] == "file"
                else f["type"])
        rows.append([_change(f["change"]), code(f["path"]), escape(size),
                     escape(f.get("what", ""))])
    return rows


def files_html(files: list[dict], limit: int | None) -> str:
    shown = files if limit is None else files[:limit]
    more = (f"<div class='dy-diff-more'>… and {len(files) - len(shown)} more</div>"
            if len(shown) < len(files) else "")
    return table(["", "path", "size", "what"], file_rows(shown), "dy-diff-files") + more


def packages_html(title: str, changes: list[dict]) -> str:
    if not changes:
        return f"<div class='dy-diff-none'><b>{escape(title)}</b>: no change</div>"
    rows = [[_change(c["change"]), escape(c["name"]), escape(c["old"] or "-"),
             escape(c["new"] or "-")] for c in changes]
    return f"<b>{escape(title)}</b>" + table(["", "name", "before", "after"], rows,
                                            "dy-diff-packages")


def config_html(changes: list[dict]) -> str:
    if not changes:
        return "<div class='dy-diff-none'><b>Config</b>: no change</div>"
    rows = [[escape(c["field"] + (f" {c['key']}" if c["key"] else "")),
             code(str(c["old"]) if c["old"] is not None else "-"),
             code(str(c["new"]) if c["new"] is not None else "-")] for c in changes]
    return "<b>Config</b>" + table(["field", "before", "after"], rows, "dy-diff-config")


def layers_html(result: dict) -> str:
    a, b, layers = result["a"]["name"], result["b"]["name"], result["layers"]
    rows = [[escape(name), f"#{l['index']}", human_size(l["size"]), code(short_digest(l["diff_id"])),
             code(l["created_by"][:80])]
            for side, name in (("only_a", a), ("only_b", b)) for l in layers[side]]
    head = (f"<b>Layers</b>: {len(layers['shared'])} shared, {len(layers['only_a'])} only in "
            f"{escape(a)}, {len(layers['only_b'])} only in {escape(b)}")
    return head + (table(["image", "layer", "size", "diff id", "step"], rows, "dy-diff-layers")
                   if rows else "")


def diff_html(result: dict, limit: int | None = CAP) -> str:
    files = result["files"]
    counts = {k: sum(f["change"] == k for f in files) for k in MARK}
    title = (f"<div class='dy-diff-head'><b>{escape(result['a']['name'])}</b> → "
             f"<b>{escape(result['b']['name'])}</b>: {counts['added']} files added, "
             f"{counts['changed']} changed, {counts['removed']} removed</div>")
    return (f"<div class='dy-diff'>{title}{layers_html(result)}{config_html(result['config'])}"
            f"{packages_html('Debian packages', result['debian'])}"
            f"{packages_html('Python distributions', result['python'])}"
            f"<b>Files</b>{files_html(files, limit)}</div>")


class ImageDiffView(StaticSnapshot, widgets.VBox):
    """The comparison of two images; "Show all" lists every changed file."""

    files_changed = Int(help="Files added, changed or removed.").tag(sync=True)
    first = Unicode(help="The first image, as named.").tag(sync=True)
    second = Unicode(help="The second image, as named.").tag(sync=True)

    def __init__(self, result: dict, **kwargs):
        self.result = result
        self.html = diff_html(result)
        self.body = widgets.HTML(value=self.html)
        children = [self.body]
        if len(result["files"]) > CAP:
            self.show_all = widgets.Button(description=f"Show all {len(result['files'])} files")
            self.show_all.on_click(self._show_all)
            children.append(self.show_all)
        super().__init__(children=children, **kwargs)
        self.add_class("dy-image-diff")
        self.files_changed = len(result["files"])
        self.first, self.second = result["a"]["name"], result["b"]["name"]

    def _show_all(self, _button=None) -> None:
        self.body.value = diff_html(self.result, limit=None)
        self.children = (self.body,)

    def static_html(self) -> str:
        return self.html

    def summary(self) -> str:
        counts = {k: sum(f["change"] == k for f in self.result["files"]) for k in MARK}
        return (f"{self.first} -> {self.second}: {counts['added']} files added, "
                f"{counts['changed']} changed, {counts['removed']} removed; "
                f"{len(self.result['debian'])} Debian and {len(self.result['python'])} Python "
                "package changes")


class LayerBrowser(widgets.VBox):
    """One button per filesystem layer; a click lists what that layer adds, changes and
    removes, read from the layer then (capped, with "Show all")."""

    selected = Int(-1, help="The layer whose contents are shown (0 = bottom), -1 none.").tag(sync=True)

    def __init__(self, image, engine, **kwargs):
        self.image, self.engine = image, engine
        self.contents: dict[int, list[dict]] = {}
        self.listing = widgets.HTML()
        self.more = widgets.Button(description="Show all", layout=widgets.Layout(display="none"))
        self.more.on_click(lambda _b: self.show(self.selected, limit=None))
        buttons = []
        for index, layer in enumerate(image.layers):
            button = widgets.Button(description=f"#{index} {human_size(layer.size)}",
                                    tooltip=f"What layer {index} adds, changes and removes")
            button.on_click(lambda _b, i=index: self.show(i))
            buttons.append(button)
        self.buttons = buttons
        super().__init__(children=[widgets.HBox(buttons, layout=widgets.Layout(flex_flow="row wrap")),
                                   self.listing, self.more], **kwargs)
        self.add_class("dy-layer-browser")

    def show(self, index: int, limit: int | None = CAP) -> None:
        """List layer `index`'s changes (read on first use)."""
        if index not in self.contents:
            self.contents[index] = self.engine.images.layer_contents(self.image.id, index)
        found = self.contents[index]
        self.selected = index
        self.listing.value = (f"<div class='dy-layer-contents'><b>Layer #{index}</b>: "
                              f"{len(found)} paths{files_html(found, limit)}</div>")
        self.more.layout.display = "" if limit is not None and len(found) > limit else "none"
        self.more.description = f"Show all {len(found)}"


def with_layer_browser(stack, image, engine):
    """The layer stack widget with a LayerBrowser under it (its static HTML unchanged)."""
    if getattr(image, "layers", None):
        stack.children = (*stack.children, LayerBrowser(image, engine))
    return stack
