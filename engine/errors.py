"""Everything dockyard raises on purpose.

    DockyardError
    ├── InvalidArgument(ValueError)   bad reference, flag, port or volume spec     → HTTP 400
    │   ├── DockerfileError           .line; "Dockerfile line 7: COPY needs a destination"
    │   ├── TemplateError             a --format template that doesn't parse or run (Go's words)
    │   └── NoPython                  an image can't hold a Python kernel (no python3 3.8+)
    │       └── NoIpykernel           ... has Python (.python) but no ipykernel
    ├── NotFound(LookupError)         image, container, network, volume, blob      → 404
    ├── Conflict                      name taken, image in use, wrong state        → 409
    ├── BuildError                    a step failed: .instruction, .exit_code, .log
    ├── ContainerError                run-and-wait exited non-zero: .exit_code, .stderr
    ├── CellError                     a notebook cell failed when run headless: .cell
    ├── StartError                    the command did not start: .exit_status 125/126/127
    ├── KernelDied                    a kernel's container ended: .exit_code
    ├── Interrupted                   the user interrupted it; says what was cleaned up
    ├── ContentError                  bytes don't match their digest               → 500
    ├── RegistryError                 the registry said no                         → 502
    │   └── Unauthorized                                                           → 401
    └── HostError                     the kernel refused                           → 500
        └── Unsupported               the host lacks a feature                     → 501

Front ends convert once, at their boundary: the CLI prints ``Error: <message>`` and exits 125,
a magic prints the message in one line, the API server maps the class to a status.
"""


class DockyardError(Exception):
    """Base of every error dockyard raises on purpose; str() is the one line a user sees."""


class InvalidArgument(DockyardError, ValueError):
    """The caller passed something malformed: a reference, a flag value, a spec."""


class DockerfileError(InvalidArgument):
    """A Dockerfile that can't be parsed or checked; names the line and the instruction."""

    def __init__(self, message: str, line: int | None = None, instruction: str | None = None):
        self.line, self.instruction, self.reason = line, instruction, message
        where = f"Dockerfile line {line}: " if line else "Dockerfile: "
        super().__init__(where + message)


class TemplateError(InvalidArgument):
    """A Go template (`--format`) that doesn't parse or fails as it runs; Go's message."""


class NotFound(DockyardError, LookupError):
    """No such image, container, network, volume or blob."""


class ImageNotFound(NotFound):
    pass


class ContainerNotFound(NotFound):
    pass


class NetworkNotFound(NotFound):
    pass


class VolumeNotFound(NotFound):
    pass


class BlobNotFound(NotFound):
    pass


class Conflict(DockyardError):
    """The object is in a state that forbids this: a name in use, an image in use, running."""


class BuildError(DockyardError):
    """A build step failed: names the instruction, its exit code and the tail of its output."""

    def __init__(self, message: str, instruction: str | None = None, exit_code: int | None = None,
                 log: str = ""):
        self.instruction, self.exit_code, self.log = instruction, exit_code, log
        super().__init__(message)


class ContainerError(DockyardError):
    """A container run and waited for exited non-zero (docker-py's ContainerError)."""

    def __init__(self, message: str, exit_code: int, stderr: bytes = b""):
        self.exit_code, self.stderr = exit_code, stderr
        super().__init__(message)


class ContentError(DockyardError):
    """Stored bytes don't match their digest, or a layer archive is unsafe or corrupt."""


class RegistryError(DockyardError):
    """A registry refused a request or answered something unusable."""


class Unauthorized(RegistryError):
    pass


class HostError(DockyardError):
    """The kernel refused an operation (a mount, a namespace, a cgroup write)."""


class Unsupported(HostError):
    """The host lacks a feature this operation needs (overlayfs, a namespace, a controller)."""


class CellError(DockyardError):
    """A cell of a notebook run headless (`dockyard notebook run`) failed; `.cell` is its
    1-based number."""

    def __init__(self, message: str, cell: int | None = None):
        self.cell = cell
        super().__init__(message)


class StartError(DockyardError):
    """A container's command could not start: not found (127), not executable (126), other (125).

    The CLI exits with `exit_status`, as `docker run` does.
    """

    def __init__(self, message: str, exit_status: int = 125):
        self.exit_status = exit_status
        super().__init__(message)


class Interrupted(DockyardError):
    """The user interrupted an operation (a notebook's stop button, Ctrl-C) and it was cleaned up.

    str() says what became of it: "container ticker stopped and removed".
    """


class NoPython(InvalidArgument):
    """An image can't hold a Python kernel: it has no python3, or one older than 3.8."""


class NoIpykernel(NoPython):
    """An image has Python 3.8+ (.python, its version) but no ipykernel."""

    def __init__(self, image: str, python: str):
        super().__init__(f"image {image} has Python {python} but no ipykernel")
        self.python = python


class KernelDied(DockyardError):
    """The container of a kernel ended; .exit_code is its PID 1's when known."""

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.exit_code = exit_code
