"""Files in and out of containers: archive (docker cp, both ways), export, and stats."""
import base64
import json
import os
import stat
import threading
import time

from ..errors import InvalidArgument
from .containers import get
from .http import JSON, ClientGone, Reply, json_line

ROUTES = [
    ("HEAD", "/containers/{id}/archive", "archive_stat"),
    ("GET", "/containers/{id}/archive", "archive_get"),
    ("PUT", "/containers/{id}/archive", "archive_put"),
    ("GET", "/containers/{id}/export", "export"),
    ("GET", "/containers/{id}/stats", "stats"),
]

STAT_HEADER = "X-Docker-Container-Path-Stat"
PRECPU_S = 0.25


def go_file_mode(mode: int) -> int:
    """st_mode as Go's os.FileMode, which the CLI decodes from the stat header."""
    bits = mode & 0o777
    for test, flag in ((stat.S_ISDIR, 1 << 31), (stat.S_ISLNK, 1 << 27),
                       (stat.S_ISBLK, 1 << 26), (stat.S_ISFIFO, 1 << 25),
                       (stat.S_ISSOCK, 1 << 24), (stat.S_ISCHR, 1 << 26 | 1 << 21)):
        if test(mode):
            bits |= flag
    for perm, flag in ((stat.S_ISUID, 1 << 23), (stat.S_ISGID, 1 << 22), (stat.S_ISVTX, 1 << 20)):
        if mode & perm:
            bits |= flag
    return bits


def _stat_header(info: dict) -> str:
    mtime = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info["mtime"]))
    value = {"name": info["name"], "size": info["size"], "mode": go_file_mode(info["mode"]),
             "mtime": mtime, "linkTarget": info["link"]}
    return base64.b64encode(json.dumps(value).encode()).decode()


def _path(request) -> str:
    path = request.arg("path")
    if not path:
        raise InvalidArgument("the path parameter is required")
    return path


def archive_stat(api, request):
    info = get(api, request).stat_path(_path(request))
    return Reply(200, b"", None, {STAT_HEADER: _stat_header(info)})


def archive_get(api, request):
    data, info = get(api, request).get_archive(_path(request))
    return Reply(200, data, "application/x-tar", {STAT_HEADER: _stat_header(info)})


def archive_put(api, request):
    container = get(api, request)
    path = _path(request)
    info = container.stat_path(path)
    if not stat.S_ISDIR(info["mode"]):
        raise InvalidArgument(f"extraction point is not a directory: {path}")
    container.put_archive(path, request.read())
    return Reply(200)


def export(api, request):
    """The container's filesystem as a tar, streamed through a pipe as tar writes it."""
    container = get(api, request)
    read_fd, write_fd = os.pipe()
    failure = []

    def produce():
        try:
            with open(write_fd, "wb") as sink:
                container.export(sink)
        except Exception as exc:        # noqa: BLE001 - reported after the stream
            failure.append(exc)
    worker = threading.Thread(target=produce, daemon=True, name="dockyard-export")
    worker.start()
    out = None
    try:
        with open(read_fd, "rb") as source:
            while chunk := source.read(1 << 20):
                if out is None:
                    out = request.stream("application/x-tar")
                out.write(chunk)
    finally:
        worker.join()
    if failure and out is None:
        raise failure[0]
    if out is None:
        out = request.stream("application/x-tar")
    out.close()


def stats(api, request):
    """Docker's stats JSON from the container's cgroup: one (stream=0) or one a second."""
    from .stats import StatsReader
    container = get(api, request)
    reader = StatsReader(container)
    one_shot = request.flag("one-shot")
    if not request.flag("stream", True):
        if not one_shot:        # precpu_stats needs an earlier sample (dockerd waits 1 s)
            reader.sample()
            time.sleep(PRECPU_S)
        return reader.sample()
    out = request.stream(JSON)
    try:
        while True:
            out.write(json_line(reader.sample()))
            if container.status != "running":
                break
            for _ in range(10):
                time.sleep(0.1)
                if request.gone():
                    return
    except ClientGone:
        return
    out.close()
