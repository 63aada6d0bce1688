"""`POST /build`, the classic builder's protocol: a tar of the context in, JSON lines out.

    {"stream": "Step 1/3 : FROM busybox\\n"} ... {"aux": {"ID": "sha256:..."}}
    {"stream": "Successfully built 3f2a6b7c8d9e\\n"} {"stream": "Successfully tagged x:latest\\n"}

docker-py finds the image id only in the `Successfully built` line; the CLI reads `aux` for
--iidfile and prints each `stream`. A failure is an `error` message in the stream (status 200).
"""
import os
import posixpath
import shutil
import tarfile
import tempfile

from ..errors import DockyardError, InvalidArgument
from .http import JSON, json_line

ROUTES = [
    ("POST", "/build", "build"),
]


def _json_param(request, name: str) -> dict:
    value = request.json_arg(name, {}) or {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{name} must be a JSON object")
    return value


def build(api, request):
    if request.arg("version") == "2":
        raise InvalidArgument("BuildKit (version=2) is not supported by dockyard: use the "
                              "classic builder (DOCKER_BUILDKIT=0)")
    if request.arg("remote"):
        raise InvalidArgument("building from a remote URL is not supported: send the context")
    if request.flag("squash"):
        raise InvalidArgument("squash is not supported by dockyard")
    options = dict(tag=request.args("t"), buildargs=_json_param(request, "buildargs"),
                   target=request.arg("target") or None, nocache=request.flag("nocache"),
                   labels=_json_param(request, "labels"),
                   dockerfile_path=_inside_context(request.arg("dockerfile") or "Dockerfile"))
    quiet = request.flag("q")
    context = tempfile.mkdtemp(prefix=".build-context-", dir=api.engine.root)
    out = request.stream(JSON)
    try:
        unpack_context(request.file(), context)
        render = Renderer(out, quiet)
        image = api.engine.images.build(None, context=context, on_event=render, quiet=quiet,
                                        **options)
        render.finish(image, options["tag"])
    except DockyardError as exc:
        message = str(exc)
        out.write(json_line({"errorDetail": {"message": message}, "error": message}))
    finally:
        shutil.rmtree(context, ignore_errors=True)
    out.close()


def _inside_context(name: str, what: str = "the Dockerfile") -> str:
    """`name` as a path inside the context; one outside it (absolute, `..`) is refused."""
    clean = posixpath.normpath(name)
    if clean.startswith(("/", "../")) or clean == "..":
        raise InvalidArgument(f"{what} must be inside the build context: {name!r}")
    return clean


def unpack_context(source, directory: str) -> None:
    """Extract the context tar (plain or compressed) into `directory`: regular files,
    directories, symlinks and hard links (to files already extracted); names with `..` or a
    leading `/` are refused."""
    try:
        with tarfile.open(fileobj=source, mode="r|*") as tar:
            for member in tar:
                name = _inside_context(member.name, "every file")
                path = os.path.join(directory, name)
                if member.isdir():
                    os.makedirs(path, exist_ok=True)
                elif member.isfile():
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "wb") as f:
                        shutil.copyfileobj(tar.extractfile(member), f, 1 << 20)
                elif member.issym():
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    os.symlink(member.linkname, path)
                elif member.islnk():    # Go's tar writes a file's second name this way
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    target = _inside_context(member.linkname, "a hard link's target")
                    os.link(os.path.join(directory, target), path, follow_symlinks=False)
                    continue
                else:
                    continue            # devices and FIFOs are not build input
                if not member.issym():
                    os.chmod(path, member.mode & 0o7777)
                    os.utime(path, (member.mtime, member.mtime))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidArgument(f"build context: not a readable tar archive: {exc}") from None


class Renderer:
    """Builder events as the classic builder's `stream` messages."""

    def __init__(self, out, quiet: bool):
        self.out, self.quiet = out, quiet

    def send(self, message: dict) -> None:
        self.out.write(json_line(message))

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event["type"]
        if kind == "step-start":
            self.send({"stream": f"Step {event['step']}/{event['total']} : "
                                 f"{event['instruction']}\n"})
        elif kind == "cache-hit":
            self.send({"stream": " ---> Using cache\n"})
        elif kind == "output":
            line = event["line"]
            self.send({"stream": line if line.endswith("\n") else line + "\n"})
        elif kind == "step-done" and event.get("digest"):
            self.send({"stream": f" ---> {event['digest'].split(':')[-1][:12]}\n"})

    def finish(self, image, tags) -> None:
        from ..image.reference import familiar, parse
        self.send({"aux": {"ID": image.id}})
        if self.quiet:
            self.send({"stream": image.id + "\n"})
            return
        self.send({"stream": f"Successfully built {image.short_id}\n"})
        for tag in tags:
            self.send({"stream": f"Successfully tagged {familiar(parse(tag))}\n"})

