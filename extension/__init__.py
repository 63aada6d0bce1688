"""IPython magics and widgets for dockyard: %%dockerfile, %container, %image, %network, %volume.

    %load_ext dockyard.extension        # the dockyard kernel does this at start

Importing this package does nothing; loading the extension registers the magics, the engine
settings (`%config DockyardSettings`), the HTML reprs and the one-line error display.
"""

_loaded = {}


def load_ipython_extension(ipython) -> None:
    """Register everything with `ipython` (an InteractiveShell)."""
    from . import failures, lock, reprs  # ~145 ms (ipywidgets): on load, not import
    from .magics import DockyardMagics  # ~165 ms (IPython, ipywidgets): on load, not import

    if ipython in _loaded:
        return
    magics = DockyardMagics(ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(magics.settings)
    reprs.register(ipython)
    _register_widget_displays(ipython, magics)
    failures.install(ipython)
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    lock.register(ipython, magics)
    _loaded[ipython] = magics


def shutdown(ipython, restart: bool) -> None:
    """The kernel is going away: put every live widget in a final state, end running magics."""
    magics = _loaded.get(ipython)
    if magics is not None:
        magics.on_shutdown(restart)


def unload_ipython_extension(ipython) -> None:
    """Undo load_ipython_extension; live container widgets stop polling."""
    from . import failures, lock, reprs  # ~145 ms (ipywidgets): on load, not import

    magics = _loaded.pop(ipython, None)
    if magics is None:
        return
    magics.close_views()
    ipython.events.unregister("pre_run_cell", magics.pre_run_cell)
    lock.unregister(ipython, magics)
    reprs.unregister(ipython)
    hook = ipython.display_formatter.ipython_display_formatter
    for (module, name) in reprs.CLASSES:
        hook.deferred_printers.pop((module, name), None)
        hook.type_printers = {t: f for t, f in hook.type_printers.items()
                              if not (t.__module__ == module and t.__name__ == name)}
    if magics.settings in ipython.configurables:
        ipython.configurables.remove(magics.settings)
    failures.uninstall(ipython)
    for kind in ("line", "cell"):
        for name in ("dockerfile", "container", "image", "network", "volume", "dockyard"):
            ipython.magics_manager.magics[kind].pop(name, None)


def _register_widget_displays(ipython, magics) -> None:
    """In a kernel (where widgets can render), Images and Containers display as widgets."""
    if not hasattr(ipython, "kernel"):
        return
    hook = ipython.display_formatter.ipython_display_formatter
    hook.for_type_by_name("dockyard.engine.image.model", "Image", magics.show_image)
    hook.for_type_by_name("dockyard.engine.containers", "Container", magics.show_container)
