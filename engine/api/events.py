"""Docker events of what this daemon did, kept in memory for `GET /events`.

The engine has no event log of its own yet (ARCHITECTURE.md plans one per data root that every
process appends to); until it has, the daemon records its own actions and the exits it sees,
so `docker events` and docker-py's `client.events()` show create/start/die/destroy and friends
for containers, images, networks and volumes driven through this daemon.

    log = EventLog()
    log.publish("container", "start", cid, {"name": "web", "image": "busybox"})
    for event in log.follow(since=time.time() - 60, stop=lambda: False): ...
"""
import collections
import threading
import time

KEEP = 4096             # events kept for `since` queries
FILTERS = ("type", "event", "container", "image", "label", "network", "volume", "scope",
           "daemon", "plugin", "node", "service", "secret", "config")


class EventLog:
    """A bounded, in-memory list of events with a condition followers wait on."""

    def __init__(self, keep: int = KEEP):
        self._events = collections.deque(maxlen=keep)
        self._changed = threading.Condition()
        self._seq = 0
        self.listeners = 0

    def publish(self, kind: str, action: str, actor_id: str, attributes: dict | None = None):
        """Record one event: kind is container|image|network|volume, action Docker's verb."""
        ns = time.time_ns()
        attributes = {k: str(v) for k, v in (attributes or {}).items()}
        event = {"Type": kind, "Action": action,
                 "Actor": {"ID": actor_id, "Attributes": attributes},
                 "scope": "local", "time": ns // 10**9, "timeNano": ns}
        if kind in ("container", "image"):     # the pre-1.22 keys docker-py still reads
            event = {"status": action, "id": actor_id,
                     **({"from": attributes["image"]} if "image" in attributes else {}), **event}
        with self._changed:
            self._seq += 1
            self._events.append((self._seq, event))
            self._changed.notify_all()

    def follow(self, *, since: float | None = None, until: float | None = None, stop=lambda: False,
               poll_s: float = 1.0):
        """Past events from `since` (none without it), then new ones until `until` passes or
        `stop()` says the client went away (checked every `poll_s`)."""
        with self._changed:
            self.listeners += 1
            last = self._seq
            past = [e for _, e in self._events] if since is not None else []
        try:
            for event in past:
                if event["timeNano"] >= since * 1e9 and (until is None or
                                                         event["timeNano"] <= until * 1e9):
                    yield event
            while until is None or time.time() < until:
                with self._changed:
                    timeout = poll_s if until is None else \
                        max(0.0, min(poll_s, until - time.time()))
                    self._changed.wait_for(lambda: self._seq > last, timeout)
                    fresh = [(s, e) for s, e in self._events if s > last]
                for seq, event in fresh:
                    last = seq
                    if until is None or event["timeNano"] <= until * 1e9:
                        yield event
                if not fresh and stop():
                    return
        finally:
            with self._changed:
                self.listeners -= 1


def event_matcher(raw):
    """A predicate for events as `docker events --filter` asks (the engine's Filters rules:
    values of a key are alternatives, keys must all match)."""
    from ..filters import Filters
    wanted = Filters.of(raw).validate(FILTERS)

    def named(kind: str, event: dict) -> bool:
        actor = event["Actor"]
        return event["Type"] == kind and any(actor["ID"].startswith(x) or
                                             actor["Attributes"].get("name") == x
                                             for x in wanted.get(kind))

    def matches(event: dict) -> bool:
        attrs = event["Actor"]["Attributes"]
        checks = {
            "type": lambda: event["Type"] in wanted.get("type"),
            "event": lambda: event["Action"].split(":")[0] in wanted.get("event")
            or event["Action"] in wanted.get("event"),
            "container": lambda: named("container", event),
            "network": lambda: named("network", event),
            "volume": lambda: named("volume", event),
            "image": lambda: attrs.get("image") in wanted.get("image") or named("image", event),
            "label": lambda: wanted.match_labels("label", attrs),
            "scope": lambda: "local" in wanted.get("scope"),
        }
        return all(checks.get(key, lambda: False)() for key in wanted.values)
    return matches
