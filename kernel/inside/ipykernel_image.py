"""A derived image with ipykernel, for an image that has Python 3.8+ but not ipykernel.

    tag = with_ipykernel(engine, "myimage:1", "3.11.2")    # -> "dockyard-ipykernel:<id12>"

The host's pip (its configuration: index, find-links, proxy, certificates; and its wheel cache)
downloads ipykernel's wheels for the image's Python into a build context; the builder then adds
one layer: `RUN --mount=type=bind` of those wheels and pip (run from its own wheel, so the
image needs no pip) installing into /opt/dockyard/ipykernel. The user's image and its
site-packages stay as they are: the launcher puts that directory first on sys.path of the
kernel process only. The layer is cached by the builder (the wheels' digests are its key),
and the image is tagged by the base image's id, so the next `%dockyard use` reuses it.
"""
import glob
import os
import platform
import subprocess
import sys
import tempfile

from dockyard.engine.errors import BuildError, ImageNotFound

TARGET = "/opt/dockyard/ipykernel"       # the launcher's EXTRA_PATH
REPOSITORY = "dockyard-ipykernel"


def derived_tag(image) -> str:
    return f"{REPOSITORY}:{image.id.split(':')[-1][:12]}"


def pip_download_argv(python: str, dest: str) -> list[str]:
    """Host pip downloading ipykernel and pip as wheels for CPython `python` (X.Y.Z)."""
    major_minor = ".".join(python.split(".")[:2])
    argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
            "--only-binary=:all:", "--dest", dest]
    if major_minor != "%d.%d" % sys.version_info[:2]:
        machine = platform.machine()
        argv += ["--python-version", major_minor, "--implementation", "cp"]
        for glibc in range(17, 36):
            argv += ["--platform", f"manylinux_2_{glibc}_{machine}"]
        argv += ["--platform", f"manylinux2014_{machine}", "--platform", f"linux_{machine}"]
    return argv + ["ipykernel", "pip"]


def dockerfile(base_id: str, pip_wheel: str) -> str:
    return (f"FROM {base_id}\n"
            f"RUN --mount=type=bind,source=wheels,target=/tmp/dockyard-wheels "
            f"python3 /tmp/dockyard-wheels/{pip_wheel}/pip install --quiet --no-index "
            f"--no-warn-script-location --disable-pip-version-check "
            f"--find-links /tmp/dockyard-wheels --target {TARGET} ipykernel\n")


def with_ipykernel(engine, image: str, python: str, on_event=None) -> str:
    """The tag of `image` plus ipykernel (made now, or found from an earlier call)."""
    emit = on_event or (lambda event: None)
    base = engine.images.get(image)
    tag = derived_tag(base)
    try:
        engine.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    emit({"type": "ipykernel-step",
          "text": f"{image} has Python {python} but no ipykernel: adding it in {tag}"})
    with tempfile.TemporaryDirectory(prefix="dockyard-ipykernel-") as context:
        wheels = os.path.join(context, "wheels")
        done = subprocess.run(pip_download_argv(python, wheels), capture_output=True, text=True)
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["pip download failed"])[-1]
            raise BuildError(f"can't get ipykernel for Python {python} with the host's pip: "
                             f"{last}")
        pip_wheel = os.path.basename(sorted(glob.glob(os.path.join(wheels, "pip-*.whl")))[-1])
        engine.images.build(dockerfile(base.id, pip_wheel), context=context, tag=tag)
    return tag
