"""The dockyard kernel: ipykernel's IPython kernel with dockyard's magics loaded at start."""
from ipykernel.ipkernel import IPythonKernel

from dockyard import extension

from .inside.outer import UseMixin

EXTENSION = "dockyard.extension"


class DockyardKernel(UseMixin, IPythonKernel):
    """IPythonKernel that loads `dockyard.extension` into its shell, so no %load_ext is needed;
    with `%dockyard use IMAGE` it forwards cells to a kernel inside a container (UseMixin)."""

    implementation = "dockyard"
    implementation_version = "0.1.0"
    banner = "Python 3 (dockyard): IPython with %%dockerfile, %container, %image, %network, %volume"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # self.shell exists only after IPythonKernel.__init__ has made it.
        self.shell.extension_manager.load_extension(EXTENSION)
        self.init_forwarding()

    def do_shutdown(self, restart):
        """Before going (restart or shutdown), finish dockyard's widgets and running builds.

        This runs on the control thread while a cell may still be building: the extension
        marks the build interrupted and interrupts the cell, so the build cleans up and the
        kernel can exit instead of being killed with a container left behind.
        """
        extension.shutdown(self.shell, restart)
        return super().do_shutdown(restart)
