"""`%dockyard use IMAGE [-v ...] [-e ...] [--network ...]`: where the notebook's cells run.

    %dockyard use python:3.11 -v /data:/data     # next cells run in a container of the image
    %dockyard use host                           # back on the host
    %dockyard use                                # says where cells run now

The work is the dockyard kernel's (dockyard.kernel.inside); this module parses the line, makes
the call and shows a one-line banner.
"""
import sys
from html import escape

from dockyard.engine import use_parser
from dockyard.engine.errors import InvalidArgument



def use(magics, words: list[str]):
    """Run `%dockyard use ...` (words after `use`) in the shell of `magics`."""
    args = use_parser().parse_args(words)
    kernel = getattr(magics.shell, "kernel", None)
    if not hasattr(kernel, "use_image"):
        raise InvalidArgument("%dockyard use needs the dockyard kernel "
                              "(`dockyard kernel install`, then choose \"Python 3 (dockyard)\")")
    if args.image is None:
        return Where(kernel.inside)
    if args.image == "host":
        if args.volume or args.env or args.network:
            raise InvalidArgument("%dockyard use host: -v, -e and --network are for an image")
        kernel.use_host()
        return Where(None)
    engine = magics.engine
    engine.images.get(args.image)            # ImageNotFound before anything starts
    kernel.use_image(engine, args.image, volumes=args.volume, environment=args.env,
                     network=args.network, on_event=_print_build_step)
    return Where(kernel.inside)


def _print_build_step(event: dict) -> None:
    if event.get("type") == "ipykernel-step":
        print(event["text"], flush=True)


class Where:
    """A one-line banner: where cells run (host, or image, container and Python)."""

    def __init__(self, inside):
        if inside is None:
            self.text = f"Cells run on the host ({sys.executable})."
        else:
            k = inside.kernel
            self.text = (f"Cells run in {k.image} (container {k.short_id}, Python {k.python}); "
                         "%dockyard use host switches back.")

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        return (f'<div style="border-left:3px solid #1e88e5;padding:2px 8px;'
                f'font-family:var(--jp-ui-font-family,sans-serif)">{escape(self.text)}</div>')
