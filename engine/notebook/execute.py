"""Execute a notebook headless on a Jupyter kernel (nbclient), cell by cell.

    execute(nb, workdir, env={"DOCKYARD_DATA_ROOT": root}, kernel="dockyard", timeout=600)

The kernel starts with the notebook's directory as its working directory and the given
environment on top of this process's; it talks over ipc sockets in a private temp dir, so
runs never compete for TCP ports; the kernel is shut down when the run ends, however it ends.
The first failing cell stops the run: CellError names it
(its number and the error's one line), and the notebook keeps the outputs so far.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from ..errors import CellError, NotFound


def execute(nb, workdir, *, env: dict, kernel: str = "dockyard", timeout: float | None = None):
    """Run every code cell of `nb` (in place) on `kernel`; CellError at the first failure."""
    from jupyter_client.kernelspec import NoSuchKernel
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    sockets = tempfile.mkdtemp(prefix="dy-run-")
    manager = KernelManager(kernel_name=kernel, transport="ipc",
                            ip=os.path.join(sockets, "kernel"))
    client = NotebookClient(nb, km=manager, timeout=timeout, startup_timeout=120,
                            resources={"metadata": {"path": str(workdir)}}, kernel_name=kernel)
    index = -1
    try:
        # The kernel's own log lines (stderr) are not the notebook's output, which comes back
        # over its channels; left on our stderr they would follow the CLI's one Error line.
        with client.setup_kernel(env={**os.environ, **env}, stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            client.set_widgets_metadata()
    except NoSuchKernel:
        raise NotFound(f"no Jupyter kernel named {kernel!r}: install it with `dockyard kernel "
                       "install --user`") from None
    except CellTimeoutError:
        raise CellError(f"cell {index + 1} did not finish within {timeout:g} s (--timeout)",
                        index + 1) from None
    except DeadKernelError:
        raise CellError(f"the kernel died while running cell {index + 1}", index + 1) from None
    except CellExecutionError as exc:
        raise CellError(f"cell {index + 1} failed: {exc.ename}: {_one_line(exc.evalue)}",
                        index + 1) from None
    finally:
        if manager.has_kernel:              # a km passed in is ours to stop, not nbclient's
            manager.shutdown_kernel(now=False)
        shutil.rmtree(sockets, ignore_errors=True)
    return nb


def _one_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""
