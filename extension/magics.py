"""The dockyard magics: %%dockerfile, %container / %%container, %image, %network, %volume, %dockyard.

Container, image, network and volume verbs are parsed by the `dockyard` CLI's own parser, so
`%container run -d -p 8080:80 --name web img` means what `dockyard run ...` means. Verbs with a
notebook rendering (run, logs, ps, ls, image history, image bootstrap, network create) are done
here, in plain words; the rest call the CLI's handler, whose printed output lands in the cell.
An interrupted magic cleans up and ends with one line (`Interrupted: ...`), never a traceback.
"""
import argparse
import contextlib
import functools
import io
import os
import sys
import weakref

from IPython.core.magic import (Magics, cell_magic, line_cell_magic, line_magic, magics_class,
                                no_var_expand)
from IPython.display import display

# One parser for `%%dockerfile` lines, shared with the notebook lock (which reads them headless).
from dockyard.engine import Engine, build_args, dockerfile_parser
from dockyard.engine.errors import BuildError, ContainerError, Interrupted, InvalidArgument, NotFound

from . import commandline, interrupts, lock, reprs, running, views
from .bootstrap_widget import BootstrapProgress
from .build_widget import BuildProgress
from .container_widget import ContainerView
from .envdiff import image_diff, with_layer_browser
from .hostinfo import HostInfo
from .layers import LayerStack, Provenance
from .settings import DockyardSettings
from .transfer_widget import TransferProgress
from .use import use


def one_line_interrupts(magic):
    """An interrupt that reaches the magic's own code (between its steps) ends it in one line
    too; the steps that clean up after an interrupt say more precisely what they did."""
    @functools.wraps(magic)
    def wrapper(self, *args, **kwargs):
        try:
            return magic(self, *args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted(f"%{magic.__name__} interrupted") from None
    return wrapper


def shown_once(exc: BuildError, progress: BuildProgress) -> BuildError:
    """The cell's error line for a build whose widget already shows the step and its output."""
    step = f"step {progress.failed_step}/{progress.steps_total}: " if progress.failed_step else ""
    if exc.instruction and exc.exit_code:
        text = f"{step}{exc.instruction.splitlines()[0]} exited with code {exc.exit_code}"
    else:
        text = step + str(exc).splitlines()[0]
    return BuildError(text, exc.instruction, exc.exit_code, exc.log)


@magics_class
class DockyardMagics(Magics):
    """Magics bound to one shell; the engine opens lazily on the configured data root."""

    def __init__(self, shell):
        super().__init__(shell)
        self.settings = DockyardSettings(parent=shell)
        self.provenance = Provenance()
        self.views = weakref.WeakSet()       # live container widgets, closed on unload
        self.builds: set[BuildProgress] = set()
        self.busy = 0                        # magics that a kernel shutdown must interrupt
        self.shutdown_reason = ""
        self.cell_id: str | None = None
        self._engine = None

    @property
    def engine(self):
        """The Engine on settings.data_root, reopened if that setting changes."""
        root = self.settings.data_root or None
        if self._engine is None or self._engine_root != root:
            self._engine, self._engine_root = Engine(root), root
        return self._engine

    # -- the running cell ---------------------------------------------------------------------
    def pre_run_cell(self, info) -> None:
        """IPython event: note the cell's id (JupyterLab sends it) for links to the cell."""
        self.cell_id = getattr(info, "cell_id", None)

    def cell_number(self) -> int | None:
        """The running cell's `In [n]`: IPython stores a cell's input at index n before running
        it (and counts it before or after, depending on the version)."""
        history = self.shell.history_manager
        return len(history.input_hist_raw) - 1 if history is not None else None

    @contextlib.contextmanager
    def _interruptible(self):
        """Mark a long magic, so that a kernel shutdown interrupts it (and so cleans it up);
        only its first interrupt counts."""
        self.busy += 1
        try:
            with interrupts.interrupt_once():
                yield
        finally:
            self.busy -= 1

    def on_shutdown(self, restart: bool) -> None:
        """The kernel is going (restart or shutdown): finish every widget, stop running magics.

        Called from the kernel's control thread while a cell may still be building.
        """
        self.shutdown_reason = " because the kernel " + ("restarted" if restart else "shut down")
        for progress in list(self.builds):
            progress.interrupt(self.shutdown_reason)
            progress.publish()
        for view in list(self.views):
            view.stop_polling()
        if self.busy:
            interrupts.interrupt_main()

    # -- %%dockerfile ---------------------------------------------------------------------
    @cell_magic
    @one_line_interrupts
    def dockerfile(self, line, cell):
        """Build an image from the cell's Dockerfile; returns the Image (`img = _`)."""
        args = dockerfile_parser().parse_args(commandline.split(line))
        progress = BuildProgress(cell=self.cell_number(), cell_id=self.cell_id, quiet=args.quiet)
        self.builds.add(progress)
        try:
            if not args.quiet:
                progress.show()
            with self._interruptible():
                image = self.engine.images.build(
                    cell, context=args.context or os.getcwd(), tag=args.tag,
                    buildargs=build_args(args.build_arg), target=args.target,
                    nocache=args.no_cache, on_event=progress.on_event,
                    **lock.build_options(self))
        except KeyboardInterrupt:
            raise Interrupted(progress.interrupt(self.shutdown_reason)) from None
        except BuildError as exc:
            progress.fail(str(exc))
            if args.quiet:
                raise
            short = shown_once(exc, progress)
            progress.error = str(short)
            raise short from None
        except Exception as exc:
            progress.fail(str(exc))
            raise
        finally:
            self.builds.discard(progress)
            progress.publish()
        self.provenance.record(image.id, progress.notes())
        return image

    # -- %container ---------------------------------------------------------------------------
    @line_cell_magic
    @no_var_expand          # Go templates such as {{.State.Status}} are not Python
    @one_line_interrupts
    def container(self, line, cell=None):
        """`%container <verb> ...` as `dockyard <verb>`; `%%container run|exec` runs the cell."""
        words = commandline.split(line)
        try:
            if cell is not None:
                return self._container_cell(words, cell)
            argv = commandline.argv_for("container", words)
            verb = argv[1] if argv[0] == "container" else argv[0]
            args = commandline.parse(argv, self.settings.data_root)
            if verb == "run":
                return self._run(args)
            if verb == "logs":
                return self._logs(args)
            if verb == "ps" and not args.quiet and not getattr(args, "format", None):
                return reprs.Snapshot(self.engine.containers.list(all=args.all))
            return self._cli(args, verb)
        finally:
            self._sync_views()

    def _run(self, args):
        container = running.create(self.engine, args, self.settings.default_network)
        if args.detach:
            try:
                self.engine.containers.start(container)
            except BaseException:
                self.engine.containers.remove(container, force=True)
                raise
            return container            # displayed as a live ContainerView
        with self._interruptible():
            code = running.run_foreground(self.engine, container, remove=args.rm,
                                          interrupt_timeout=self.settings.interrupt_timeout,
                                          stopping=lambda: self._stopping_note(container.name))
        running.check_exit(container.name, code)

    @staticmethod
    @contextlib.contextmanager
    def _stopping_note(name: str):
        """Show "stopping NAME…" while the block runs; the cell's final line then replaces it."""
        note = display({"text/plain": f"stopping {name}…",
                        "text/html": f"<span class='dy-stopping'>stopping {name}…</span>"},
                       raw=True, display_id=True)
        try:
            yield
        finally:
            note.update({"text/plain": ""}, raw=True)

    def _logs(self, args):
        container = self.engine.containers.get(args.container)
        tail = None if args.tail == "all" else int(args.tail)
        chunks = container.logs(stream=True, follow=args.follow, tail=tail,
                                timestamps=args.timestamps)
        try:
            for chunk in chunks:
                sys.stdout.write(chunk.decode(errors="replace"))
        except KeyboardInterrupt:
            raise Interrupted(f"stopped following the logs of {container.name}") from None
        finally:
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
        try:
            code = running.exec_script(container, args, cell, python)
        except KeyboardInterrupt:
            raise Interrupted(f"script in {container.name} interrupted") from None
        if code:
            raise ContainerError(f"script in {container.name} exited with code {code}", code)

    def _cli(self, args: argparse.Namespace, verb: str):
        """Call the CLI's handler; its printed output is the cell's output."""
        try:
            code = args.func(args) or 0
        except KeyboardInterrupt:
            raise Interrupted(f"{verb} interrupted") from None
        finally:
            sys.stdout.flush()
        if code:
            raise ContainerError(f"{verb} exited with code {code}", code)

    # -- %image, %network, %volume ------------------------------------------------------------
    @line_magic
    @no_var_expand
    @one_line_interrupts
    def image(self, line):
        """`%image ls|history|inspect|rm|tag|prune|bootstrap|...` as `dockyard image ...`;
        `%image diff A B` compares two images (extension/envdiff.py)."""
        if line.split()[:1] == ["diff"]:
            return image_diff(self, line)
        return self._group("image", line, lambda: self.engine.images.list())

    @line_magic
    @no_var_expand
    @one_line_interrupts
    def network(self, line):
        """`%network ls|create|rm|inspect|connect|...` as `dockyard network ...`."""
        return self._group("network", line, lambda: self.engine.networks.list())

    @line_magic
    @no_var_expand
    @one_line_interrupts
    def volume(self, line):
        """`%volume ls|create|rm|inspect|prune` as `dockyard volume ...`."""
        return self._group("volume", line, lambda: self.engine.volumes.list())

    def _group(self, group: str, line: str, lister):
        argv = commandline.argv_for(group, line)
        args = commandline.parse(argv, self.settings.data_root)
        verb = argv[1]
        if verb in ("ls", "list") and not getattr(args, "quiet", False):
            return lister()
        if (group, verb) == ("image", "history") and not (args.quiet or args.no_trunc):
            return views.ImageHistory(args.image, self.engine.images.history(args.image))
        if (group, verb) == ("image", "bootstrap") and args.name != "busybox":
            return self._bootstrap(args)
        if (group, verb) in (("image", "pull"), ("image", "push")) and not args.quiet:
            return self._transfer(verb, args)
        if (group, verb) == ("image", "bootstrap"):
            self._quietly(args, f"{group} {verb}")
            print(views.bootstrap_line(self.engine.images.get(args.tag or "busybox:latest")))
            return None
        if (group, verb) == ("network", "create"):
            self._quietly(args, f"{group} {verb}")
            print(views.network_line(self.engine.networks.get(args.name)))
            return None
        return self._cli(args, f"{group} {verb}")

    def _transfer(self, verb: str, args) -> None:
        """`%image pull|push NAME` with a live table of its layers (transfer_widget.py)."""
        progress = TransferProgress(verb, args.name)
        progress.show()
        try:
            with self._interruptible():
                if verb == "pull":
                    self.engine.images.pull(args.name, platform=args.platform,
                                            on_event=progress.on_event)
                else:
                    self.engine.images.push(args.name, compression=args.compression,
                                            platform=args.platform, on_event=progress.on_event)
        except KeyboardInterrupt:
            progress.finish("interrupted", interrupted=True)
            raise Interrupted(f"{verb} of {args.name} stopped") from None
        except Exception as exc:
            progress.finish(str(exc))
            raise
        progress.finish()

    def _quietly(self, args, verb: str) -> None:
        """The CLI's handler without its Docker-style output (an id): a plain line follows."""
        with contextlib.redirect_stdout(io.StringIO()):
            self._cli(args, verb)

    def _bootstrap(self, args):
        """`%image bootstrap debian|python`: mmdebstrap's progress as a widget; the Image."""
        progress = BootstrapProgress()
        if not args.quiet:
            display(progress)
        include = [name for value in args.include for name in value.split(",") if name]
        try:
            return self.engine.images.bootstrap(args.name, args.tag, suite=args.suite,
                                                include=include, on_event=progress.on_event)
        except Exception as exc:
            progress.on_event({"type": "bootstrap-failed", "error": str(exc)})
            raise

    # -- %dockyard ------------------------------------------------------------------------------
    @line_magic
    def dockyard(self, line):
        """`%dockyard info`: what the host gives the engine; `%dockyard use IMAGE|host`: where
        the next cells run (extension/use.py)."""
        words = commandline.split(line)
        if words[:1] == ["use"]:
            return use(self, words[1:])
        if words[:1] == ["lock"]:
            return lock.lock_magic(self, words[1:])
        if words != ["info"]:
            raise InvalidArgument(f"%dockyard: unknown command {line.strip()!r} "
                                  "(try: %dockyard info, %dockyard use IMAGE, %dockyard lock)")
        return HostInfo(self.engine.info())

    # -- widgets for returned objects ---------------------------------------------------------
    def show_container(self, container) -> None:
        """Display a Container as a live ContainerView (the IPython display hook for it)."""
        try:
            view = ContainerView(container, log_tail=self.settings.log_tail,
                                 refresh_seconds=self.settings.refresh_seconds,
                                 stop_timeout=self.settings.stop_timeout)
        except NotFound:
            display({"text/plain": repr(container)}, raw=True)
            return
        self.views.add(view)
        view.show()

    def show_image(self, image) -> None:
        """Display an Image as its LayerStack widget, annotated with this kernel's builds."""
        with_layer_browser(LayerStack(image, self.provenance), image, self.engine).show()

    def _sync_views(self) -> None:
        """Redraw the live container widgets after a verb that may have stopped or removed one.

        From the cell, so that a headless run (nbclient) records their new state too.
        """
        for view in list(self.views):
            view.refresh()
            view.publish_if_changed(from_cell=True)

    def close_views(self) -> None:
        for view in list(self.views):
            view.close()

