"""The one table from engine errors to HTTP statuses; the API server converts here, once.

Docker's clients read the status: a 404 from `containers/create` makes the CLI and docker-py
pull the image, a 409 is "in use / wrong state", and the message is printed as it is.
"""
from .. import errors

# First match wins, so subclasses come before their bases (the tree in engine/errors.py).
STATUS = (
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidArgument, 400),
    (errors.Unauthorized, 401),
    (errors.RegistryError, 502),
    (errors.Unsupported, 501),
    (errors.DockyardError, 500),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status for an error a route raised; 500 for anything unexpected."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500
