"""Layer and rootfs tarballs named by path: opened with Docker's one-line errors."""
from ..errors import InvalidArgument


def open_source(path):
    """`path` opened for binary reading; InvalidArgument in Docker's words when it can't be."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InvalidArgument(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise InvalidArgument(f"read {path}: is a directory") from None
    except PermissionError:
        raise InvalidArgument(f"open {path}: permission denied") from None
