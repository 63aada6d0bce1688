"""The dockyard magics: %%dockerfile, %container / %%container, %image, %network, %volume, %dockyard.

Container, image, network and volume verbs are parsed by the `dockyard` CLI's own parser, so
`%container run -d -p 8080:80 --name web img` means what `dockyard run ...` means. Verbs with a
notebook rendering (run, logs, ps, ls) are done here; the rest call the CLI's handler, whose
printed output lands in the cell.
"""
import argparse
import os
import sys
import weakref

from IPython.core.magic import (Magics, cell_magic, line_cell_magic, line_magic, magics_class,
                                no_var_expand)
from IPython.display import display

from dockyard.engine.errors import ContainerError, InvalidArgument, NotFound
# One parser for `%%dockerfile` lines, shared with the notebook lock (which reads them headless).
from dockyard.engine.notebook.cells import build_args, dockerfile_parser

from . import commandline, lock, running
from .build_widget import BuildProgress
from .layers import Provenance
from .settings import DockyardSettings


@magics_class
class DockyardMagics(Magics):
    """Magics bound to one shell; the engine opens lazily on the configured data root."""

    def __init__(self, shell):
        super().__init__(shell)
        self.settings = DockyardSettings(parent=shell)
        self.provenance = Provenance()
        self.views = weakref.WeakSet()       # live container widgets, closed on unload
        self._engine = None

    @property
    def engine(self):
        """The Engine on settings.data_root, reopened if that setting changes."""
        from dockyard.engine import Engine

        root = self.settings.data_root or None
        if self._engine is None or self._engine_root != root:
            self._engine, self._engine_root = Engine(root), root
        return self._engine

    # -- %%dockerfile ---------------------------------------------------------------------
    @cell_magic
    def dockerfile(self, line, cell):
        """Build an image from the cell's Dockerfile; returns the Image (`img = _`)."""
        args = dockerfile_parser().parse_args(commandline.split(line))
        progress = BuildProgress(cell=self.shell.execution_count, quiet=args.quiet)
        if not args.quiet:
            display(progress)
        try:
            image = self.engine.images.build(
                cell, context=args.context or os.getcwd(), tag=args.tag,
                buildargs=build_args(args.build_arg), target=args.target,
                nocache=args.no_cache, on_event=progress.on_event, **lock.build_options(self))
        except Exception as exc:
            if progress.status == "building":
                progress.on_event({"type": "build-failed", "error": str(exc)})
            raise
        if progress.status == "building":
            progress.on_event({"type": "build-done", "image": image.id})
        self.provenance.record(image.id, progress.notes())
        return image

    # -- %container ---------------------------------------------------------------------------
    @line_cell_magic
    @no_var_expand          # Go templates such as {{.State.Status}} are not Python
    def container(self, line, cell=None):
        """`%container <verb> ...` as `dockyard <verb>`; `%%container run|exec` runs the cell."""
        words = commandline.split(line)
        if cell is not None:
            return self._container_cell(words, cell)
        argv = commandline.argv_for("container", words)
        verb = argv[1] if argv[0] == "container" else argv[0]
        args = commandline.parse(argv, self.settings.data_root)
        if verb == "run":
            return self._run(args)
        if verb == "logs":
            return self._logs(args)
        if verb == "ps" and not args.quiet:
            return self.engine.containers.list(all=args.all)
        return self._cli(args, verb)

    def _run(self, args):
        container = running.create(self.engine, args, self.settings.default_network)
        if args.detach:
            try:
                self.engine.containers.start(container)
            except BaseException:
                self.engine.containers.remove(container, force=True)
                raise
            return container            # displayed as a live ContainerView
        code = running.run_foreground(self.engine, container, remove=args.rm,
                                      stop_timeout=self.settings.stop_timeout)
        running.check_exit(container.name, code)

    def _logs(self, args):
        container = self.engine.containers.get(args.container)
        tail = None if args.tail == "all" else int(args.tail)
        chunks = container.logs(stream=True, follow=args.follow, tail=tail,
                                timestamps=args.timestamps)
        for chunk in chunks:
            sys.stdout.write(chunk.decode(errors="replace"))
        sys.stdout.flush()

    def _container_cell(self, words, cell):
        python = "--python" in words
        words = [w for w in words if w != "--python"]
        if not words or words[0] not in ("run", "exec"):
            raise InvalidArgument("%%container: the cell form is `%%container run IMAGE [flags]` "
                                  "or `%%container exec NAME [flags]`")
        verb, rest = words[0], words[1:]
        root = self.settings.data_root
        if verb == "run":
            args = running.parse_with_body("run", rest, "image", root)
            args.command, args.rm, args.detach = running.body_command(cell, python), True, False
            return self._run(args)
        args = running.parse_with_body("exec", rest, "container", root)
        container = self.engine.containers.get(args.container)
        code = running.exec_script(container, args, cell, python)
        if code:
            raise ContainerError(f"script in {container.name} exited with code {code}", code)

    def _cli(self, args: argparse.Namespace, verb: str):
        """Call the CLI's handler; its printed output is the cell's output."""
        code = args.func(args) or 0
        sys.stdout.flush()
        if code:
            raise ContainerError(f"{verb} exited with code {code}", code)

    # -- %image, %network, %volume ------------------------------------------------------------
    @line_magic
    @no_var_expand
    def image(self, line):
        """`%image ls|history|inspect|rm|tag|prune|...` as `dockyard image ...`; `%image diff
        A B` compares two images (extension/envdiff.py)."""
        if line.split()[:1] == ["diff"]:
            from .envdiff import image_diff
            return image_diff(self, line)
        return self._group("image", line, lambda: self.engine.images.list())

    @line_magic
    @no_var_expand
    def network(self, line):
        """`%network ls|create|rm|inspect|connect|...` as `dockyard network ...`."""
        return self._group("network", line, lambda: self.engine.networks.list())

    @line_magic
    @no_var_expand
    def volume(self, line):
        """`%volume ls|create|rm|inspect|prune` as `dockyard volume ...`."""
        return self._group("volume", line, lambda: self.engine.volumes.list())

    def _group(self, group: str, line: str, lister):
        argv = commandline.argv_for(group, line)
        args = commandline.parse(argv, self.settings.data_root)
        if argv[1] in ("ls", "list") and not getattr(args, "quiet", False):
            return lister()
        return self._cli(args, f"{group} {argv[1]}")

    # -- %dockyard ------------------------------------------------------------------------------
    @line_magic
    def dockyard(self, line):
        """`%dockyard info`: what the host gives the engine, and so which features are on."""
        words = commandline.split(line)
        if words[:1] == ["lock"]:
            return lock.lock_magic(self, words[1:])
        if words != ["info"]:
            raise InvalidArgument(f"%dockyard: unknown command {line.strip()!r} "
                                  "(try: %dockyard info, %dockyard lock)")
        from .hostinfo import HostInfo
        return HostInfo(self.engine.info())

    # -- widgets for returned objects ---------------------------------------------------------
    def show_container(self, container) -> None:
        """Display a Container as a live ContainerView (the IPython display hook for it)."""
        from .container_widget import ContainerView

        try:
            view = ContainerView(container, log_tail=self.settings.log_tail,
                                 refresh_seconds=self.settings.refresh_seconds,
                                 stop_timeout=self.settings.stop_timeout)
        except NotFound:
            display({"text/plain": repr(container)}, raw=True)
            return
        self.views.add(view)
        display(view)

    def show_image(self, image) -> None:
        """Display an Image as its LayerStack widget, annotated with this kernel's builds."""
        from .layers import LayerStack

        from .envdiff import with_layer_browser
        display(with_layer_browser(LayerStack(image, self.provenance), image, self.engine))

    def close_views(self) -> None:
        for view in list(self.views):
            view.close()
