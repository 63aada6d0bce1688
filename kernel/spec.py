"""Write and install the "Python 3 (dockyard)" kernelspec.

    install(sys_prefix=True)   # -> "<venv>/share/jupyter/kernels/dockyard"
"""
import json
import os
import shutil
import sys
import tempfile

KERNEL_NAME = "dockyard"
DISPLAY_NAME = "Python 3 (dockyard)"


def kernel_json(python: str | None = None, display_name: str = DISPLAY_NAME) -> dict:
    """The kernel.json content: this interpreter running `python -m dockyard.kernel`."""
    return {
        "argv": [python or sys.executable, "-m", "dockyard.kernel", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        # The same knobs ipykernel's own spec sets: the debugger needs them.
        "metadata": {"debugger": True},
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }


def write_kernelspec(directory: str, display_name: str = DISPLAY_NAME) -> str:
    """Write kernel.json and ipykernel's logos into `directory`; return it."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "kernel.json"), "w") as f:
        json.dump(kernel_json(display_name=display_name), f, indent=1)
    try:
        from ipykernel.kernelspec import RESOURCES      # ~140 ms: for the logos only
    except ImportError:
        return directory
    for logo in os.listdir(RESOURCES):
        shutil.copy(os.path.join(RESOURCES, logo), directory)
    return directory


def install(name: str = KERNEL_NAME, *, user: bool = False, sys_prefix: bool = False,
            prefix: str | None = None, display_name: str = DISPLAY_NAME) -> str:
    """Install the kernelspec as `name` (system-wide unless user/sys_prefix/prefix); return its path."""
    from jupyter_client.kernelspec import KernelSpecManager     # ~135 ms

    if sys_prefix:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory() as tmp:
        source = write_kernelspec(os.path.join(tmp, name), display_name)
        return KernelSpecManager().install_kernel_spec(source, name, user=user, prefix=prefix)
