"""Write and install the "Python 3 (dockyard)" kernelspec, and kernelspecs for images.

    install(sys_prefix=True)                    # -> "<venv>/share/jupyter/kernels/dockyard"
    install("py311", image="python:3.11")       # "Python 3 (dockyard: python:3.11)", whose
                                                # kernel runs inside a container of the image
"""
import json
import os
import re
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


def image_kernel_json(image: str, display_name: str | None = None,
                      data_root: str | None = None) -> dict:
    """kernel.json for a kernel inside a container of `image` (dockyard's provisioner)."""
    from .provisioner import NAME       # ~160 ms: jupyter_client's provisioning
    config = {"image": image, "data_root": data_root or ""}
    return {
        # Informational: the provisioner runs the image's python3 with ipykernel itself.
        "argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name or f"Python 3 (dockyard: {image})",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"kernel_provisioner": {"provisioner_name": NAME, "config": config},
                     "dockyard": {"image": image}},
    }


def image_kernel_name(image: str) -> str:
    """A kernelspec name for `image`: dockyard-<image with [^a-z0-9._-] as ->."""
    return "dockyard-" + re.sub(r"[^a-z0-9._-]+", "-", image.lower()).strip("-")


def write_kernelspec(directory: str, display_name: str = DISPLAY_NAME, *,
                     image: str | None = None, data_root: str | None = None) -> str:
    """Write kernel.json and ipykernel's logos into `directory`; return it."""
    os.makedirs(directory, exist_ok=True)
    spec = (image_kernel_json(image, display_name, data_root) if image
            else kernel_json(display_name=display_name))
    with open(os.path.join(directory, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=1)
    try:
        from ipykernel.kernelspec import RESOURCES      # ~140 ms: for the logos only
    except ImportError:
        return directory
    for logo in os.listdir(RESOURCES):
        shutil.copy(os.path.join(RESOURCES, logo), directory)
    return directory


def install(name: str = KERNEL_NAME, *, user: bool = False, sys_prefix: bool = False,
            prefix: str | None = None, display_name: str | None = None,
            image: str | None = None, data_root: str | None = None) -> str:
    """Install the kernelspec as `name` (system-wide unless user/sys_prefix/prefix); return its
    path. With `image`, the kernel runs inside a container of it."""
    from jupyter_client.kernelspec import KernelSpecManager     # ~135 ms

    if sys_prefix:
        prefix = sys.prefix
    if display_name is None:
        display_name = f"Python 3 (dockyard: {image})" if image else DISPLAY_NAME
    with tempfile.TemporaryDirectory() as tmp:
        source = write_kernelspec(os.path.join(tmp, name), display_name, image=image,
                                  data_root=data_root)
        return KernelSpecManager().install_kernel_spec(source, name, user=user, prefix=prefix)


def dockyard_kernels() -> list[dict]:
    """Installed dockyard kernelspecs: name, display_name, image ('' for the host one), path."""
    from jupyter_client.kernelspec import KernelSpecManager     # ~135 ms

    found = []
    for name, entry in sorted(KernelSpecManager().get_all_specs().items()):
        spec = entry["spec"]
        image = (spec.get("metadata", {}).get("dockyard") or {}).get("image")
        if image or spec.get("argv", [])[1:3] == ["-m", "dockyard.kernel"]:
            found.append({"name": name, "display_name": spec.get("display_name", ""),
                          "image": image or "", "path": entry["resource_dir"]})
    return found


def remove(name: str) -> str:
    """Remove the kernelspec `name`; its former path (KeyError if there is none)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel   # ~135 ms

    try:
        return KernelSpecManager().remove_kernel_spec(name)
    except NoSuchKernel:
        raise KeyError(name) from None
