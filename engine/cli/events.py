"""`dockyard events` (and `system events`): the data root's event log, past and live, printed
as Docker prints it:

    2024-05-01T14:00:00.123456789+02:00 container start 3f2a... (image=busybox, name=web)
"""
import datetime
import time

from .. import Engine
from ..errors import InvalidArgument


def add_events(p) -> None:
    p.add_argument("--since", help="events since a time (2013-01-02T13:23:37Z) or a duration "
                                   "before now (10m)")
    p.add_argument("--until", help="events until a time or duration; without it, stream on")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="container, image, event, type, label, network, volume")
    p.add_argument("--format", help="Go template per event, e.g. '{{json .}}'")
    p.set_defaults(func=cmd_events)


def _filters(items) -> dict[str, list[str]]:
    keys = ("container", "image", "event", "type", "label", "network", "volume")
    found: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in keys:
            raise InvalidArgument(f"invalid filter '{item}' (want KEY=VALUE with KEY one of "
                                  f"{', '.join(keys)})")
        found.setdefault(key, []).append(value)
    return found


def line(event: dict) -> str:
    """Docker's default rendering: local time with nanoseconds, type, action, id, attributes."""
    nanos = event.get("timeNano") or event.get("time", 0) * 10**9
    moment = datetime.datetime.fromtimestamp(nanos // 10**9).astimezone()
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos % 10**9:09d}" + \
        moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
    actor = event.get("Actor", {})
    attrs = ", ".join(f"{k}={v}" for k, v in sorted(actor.get("Attributes", {}).items()))
    return f"{stamp} {event.get('Type')} {event.get('Action')} {actor.get('ID')}" + \
        (f" ({attrs})" if attrs else "")


def cmd_events(args) -> int:
    from .timestamps import parse_timestamp     # ~5 ms: only `events` reads times
    filters = _filters(args.filter)
    since = parse_timestamp(args.since, flag="--since") if args.since else None
    until = parse_timestamp(args.until, flag="--until") if args.until else None
    if args.format:
        from .format import render_format       # ~25 ms: Go templates, with --format only
    follow = until is None or until > time.time()
    try:
        for event in Engine(args.data_root).events(since=since, until=until, filters=filters,
                                                   follow=follow):
            print(render_format(args.format, event) if args.format else line(event), flush=True)
    except KeyboardInterrupt:       # the way to end a stream
        return 0
    return 0
