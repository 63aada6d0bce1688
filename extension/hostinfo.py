"""`%dockyard info`'s result: the engine's info dict, shown as a table of features.

The dict keeps `docker info`'s keys (code may read them); the table speaks plainly.
"""
from html import escape

PLAIN = {
    "Docker Root Dir": "Data root (where images and containers are kept)",
    "Storage Driver": "Storage (how layers are stacked)",
}


class HostInfo(dict):
    """engine.info() as a dict that renders as an HTML table (features coloured yes/no)."""

    def _repr_html_(self) -> str:
        rows = []
        for key, value in self.items():
            if isinstance(value, dict):
                value = " ".join(
                    f"<span class='dy-feature dy-feature-{escape(str(v))}' style='color:"
                    f"{'#2e7d32' if v in ('yes', True) else '#c62828'}'>{escape(k)}</span>"
                    for k, v in value.items())
            else:
                value = escape(str(value))
            rows.append(f"<tr><th style='text-align:left'>{escape(PLAIN.get(key, key))}</th>"
                        f"<td style='text-align:left'>{value}</td></tr>")
        return f"<table class='dy-info'>{''.join(rows)}</table>"

    def _repr_pretty_(self, printer, cycle) -> None:
        for key, value in self.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            printer.text(f"{PLAIN.get(key, key)}: {value}")
            printer.break_()
