"""The long answers about a container: attach (hijacked), logs (follow), wait.

Output comes from the container's log, which the monitor writes as it happens, so attaching
works from any process and nothing written before the attach's start is lost: `docker run`
attaches before it starts the container, and the attach streams everything from that moment.
Without a TTY, output is multiplexed into frames: [stream, 0, 0, 0, uint32 big-endian size].
"""
import struct
import threading
import time

from ..errors import InvalidArgument, NotFound
from ..storage import now_rfc3339
from .containers import get
from .http import JSON, ClientGone, json_line

ROUTES = [
    ("POST", "/containers/{id}/attach", "attach"),
    ("GET", "/containers/{id}/logs", "logs"),
    ("POST", "/containers/{id}/wait", "wait"),
]

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"
STREAM_IDS = {"stdin": 0, "stdout": 1, "stderr": 2}
BATCH = 64 << 10


def frame(stream: str, data: bytes) -> bytes:
    return struct.pack(">BxxxL", STREAM_IDS[stream], len(data)) + data


def pause_for_docker_py(request) -> None:
    """docker-py reads hijacked frames from the raw socket under http.client's buffer, so
    frames that arrive with the 101 headers are lost (docker/docker-py#3332): give it a moment.
    The Go CLI reads the socket properly and waits for nothing."""
    if not request.headers.get("user-agent", "").startswith("Docker-Client/"):
        time.sleep(0.05)


# -- attach --------------------------------------------------------------------------------------
def attach(api, request):
    container = get(api, request)
    tty = bool(container.record["Config"].get("Tty"))
    wanted = {s for s in ("stdout", "stderr") if request.flag(s)}
    replay, follow = request.flag("logs"), request.flag("stream")
    since = now_rfc3339()
    # Held open from here: what the container writes from now on stays readable even if it
    # is removed before this thread reads it (docker run --rm: start, exit, removal are quick).
    # The `none` log driver starts each run on a fresh file: that one is opened after the start.
    log = None if container.log_driver == "none" else container.open_log(at_end=not replay)
    with api.attached(container.id):
        try:
            raw = request.hijack(RAW if tty else MULTIPLEXED)
        except ClientGone:
            if log is not None:
                log.close()
            raise
        container.emit("attach")
        pause_for_docker_py(request)
        _follow(api, container, raw, log, since, tty, wanted, follow, stdin=request.flag("stdin"))


def _follow(api, container, raw, log, since, tty, wanted, follow, stdin) -> None:
    """Copy the container's output to the attached client (frames, or raw with a TTY) from
    its start until its exit; its stdin from the client, when asked."""
    def running_or_ran() -> bool:
        try:
            state = container.state
        except NotFound:
            return True
        return state.status == "running" or (state.started_at or "") >= since
    try:
        if follow and not api.lifecycle.wait_until(running_or_ran, gone=raw.gone):
            return
        if log is None:
            log = container.open_log(at_end=False)
        if stdin and container.record["Config"].get("OpenStdin"):
            threading.Thread(target=_pump_stdin, args=(container, raw), daemon=True,
                             name="dockyard-attach-stdin").start()
        entries = container.log_entries(follow=follow, stop=raw.gone, file=log, attached=True)
        for entry in entries:
            if entry.stream in wanted:
                raw.write(entry.data if tty else frame(entry.stream, entry.data))
    except (ClientGone, NotFound):
        pass
    finally:
        if log is not None:
            log.close()
        raw.close()


def _pump_stdin(container, raw) -> None:
    """Client bytes into the container's stdin; the client's half-close is its EOF."""
    try:
        with container.open_stdin() as sink:
            while True:
                data = raw.read()
                if not data:
                    break
                sink.write(data)
    except (OSError, NotFound):       # the container exited: nobody reads its stdin
        pass


# -- logs ----------------------------------------------------------------------------------------
def logs(api, request):
    container = get(api, request)
    wanted = {s for s in ("stdout", "stderr") if request.flag(s)}
    if not wanted:
        raise InvalidArgument("you must choose at least one stream (stdout or stderr)")
    tail = request.arg("tail", "all")
    if tail in ("all", ""):
        tail = None
    else:
        try:
            tail = int(tail)
        except ValueError:
            raise InvalidArgument(f"invalid tail: {tail!r}") from None
        tail = None if tail < 0 else tail
    since, until_text = _timestamp(request.arg("since")), _timestamp(request.arg("until"))
    timestamps, follow = request.flag("timestamps"), request.flag("follow")
    tty = bool(container.record["Config"].get("Tty"))
    entries = container.log_entries(follow=follow, tail=tail, since=since, stop=request.gone)
    out = request.stream(RAW if tty else MULTIPLEXED)
    batch = []
    size = 0
    for entry in entries:
        if until_text and entry.time > until_text:
            break
        if entry.stream not in wanted:
            continue
        data = (entry.time.encode() + b" " + entry.data) if timestamps else entry.data
        chunk = data if tty else frame(entry.stream, data)
        if follow:
            out.write(chunk)
            continue
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            out.write(b"".join(batch))
            batch, size = [], 0
    out.write(b"".join(batch))
    out.close()


def _timestamp(value: str | None) -> str | None:
    """The log's RFC 3339 form of a `seconds[.nanoseconds]` parameter, digit for digit (a float
    would round away the nanoseconds the CLI sends back from `logs -t`); None for 0 or none."""
    if not value or value in ("0", "0.000000000"):
        return None
    whole, _, fraction = value.partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise InvalidArgument(f"invalid time: {value!r} (want Unix seconds)")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(whole))) + \
        f".{(fraction + '0' * 9)[:9]}Z"


# -- wait ----------------------------------------------------------------------------------------
CONDITIONS = ("not-running", "next-exit", "removed")


def wait(api, request):
    container = get(api, request)
    condition = request.arg("condition") or "not-running"
    if condition not in CONDITIONS:
        raise InvalidArgument(f"invalid condition {condition!r}: want one of "
                              f"{', '.join(CONDITIONS)}")
    before = container.state
    stopped = before.status in ("exited", "dead")
    seen = {"code": before.exit_code if stopped else None, "error": before.error}

    def reached() -> bool:
        try:
            state = container.state
        except NotFound:
            return True
        ended = ("exited", "dead", "restarting")   # restarting: an exit its policy restarts
        if state.status in ended:
            seen.update(code=state.exit_code, error=state.error)
        if condition == "removed":
            return False
        if condition == "not-running":          # a restart policy's restarts are running
            return state.status not in ("running", "restarting")
        return state.status in ended and state.finished_at != before.finished_at
    # The headers go now: `docker run` calls start only once it has them.
    out = request.stream(JSON)
    if not api.lifecycle.wait_until(reached, gone=request.gone):
        return
    code = seen["code"]
    if code is None:                # removed before we saw it exit: the watcher saw it
        code = api.lifecycle.exit_codes.get(container.id, 0)
    error = {"Message": seen["error"]} if seen["error"] else None
    out.write(json_line({"StatusCode": code or 0, "Error": error}))
    out.close()
