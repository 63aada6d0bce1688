"""`%dockyard info`'s result: the engine's info dict, shown as a table of features."""
from html import escape


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
            rows.append(f"<tr><th style='text-align:left'>{escape(key)}</th>"
                        f"<td style='text-align:left'>{value}</td></tr>")
        return f"<table class='dy-info'>{''.join(rows)}</table>"
