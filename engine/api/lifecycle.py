"""Container life as the daemon sees it: starts, exits and removals that requests wait for.

`docker run` opens attach and wait before it calls start, so those requests wait for a start
or a removal that this daemon (or another process on the data root) is about to do. A change
made here wakes the waiters at once; one made by another process is seen within POLL_S.

Each container this daemon starts gets a watcher thread that waits for its exit, keeps its
exit code and, for `--rm` (AutoRemove), removes it, as dockerd does: containers created
through the API have no reaper of their own, and a daemon that starts removes those that
exited while none was running. (Events are the engine's: the monitor records start and die.)
"""
import contextlib
import threading
from collections import OrderedDict

from ..errors import NotFound

POLL_S = 0.1
KEEP_EXIT_CODES = 1000     # of containers removed since: wait?condition=removed asks for them


class Lifecycle:
    def __init__(self, engine):
        self.engine = engine
        self._changed = threading.Condition()
        self._generation = 0
        self._watched: set[str] = set()
        self._cleaning: dict[str, threading.Lock] = {}     # a watcher's clean-up vs a removal
        self.exit_codes: OrderedDict[str, int] = OrderedDict()

    def changed(self) -> None:
        """Wake every waiter: something about some container changed."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait_until(self, predicate, *, timeout: float | None = None, gone=lambda: False) -> bool:
        """True once `predicate()` holds; False after `timeout` s or once `gone()` (the client
        left). The predicate runs outside the lock: it reads container state from disk."""
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        polls = 0
        while True:
            with self._changed:
                generation = self._generation
            if predicate():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            polls += 1
            if polls % 10 == 0 and gone():
                return False
            with self._changed:
                if self._generation == generation:
                    wait = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
                    self._changed.wait(max(0.0, wait))

    # -- what routes tell us --------------------------------------------------------------------
    def start(self, container, start) -> None:
        """Call `start()` (which starts `container`) and watch the container. The daemon
        takes the container's attach lock first, so that it, not the monitor's exit command
        (a Python process per exit, ~150 ms of a bridged `docker run --rm`), cleans up after
        the exit, even one that comes at once; the watcher thread lets go of it."""
        held = contextlib.ExitStack()
        held.enter_context(self.engine.containers.attached(container))
        try:
            start()
        except BaseException:
            held.close()
            raise
        self.changed()
        self.watch(container, held)

    def removed(self, container) -> None:
        self.changed()
        with self._changed:
            self._cleaning.pop(container.id, None)

    @contextlib.contextmanager
    def exclusive(self, cid: str):
        """Hold off the watcher's clean-up of `cid` (a remove route runs in here): one of the
        two removes the container, the other finds it gone."""
        with self._changed:
            lock = self._cleaning.setdefault(cid, threading.Lock())
        with lock:
            yield

    # -- exit watchers --------------------------------------------------------------------------
    def watch(self, container, held: contextlib.ExitStack | None = None) -> None:
        """Watch a running container for its exit, once; `held`: its attach lock, taken."""
        with self._changed:
            if container.id in self._watched:
                if held is not None:
                    held.close()            # the watcher there holds a lock of its own
                return
            self._watched.add(container.id)
        threading.Thread(target=self._watch, args=(container, held), daemon=True,
                         name=f"dockyard-watch-{container.short_id}").start()

    def watch_running(self) -> None:
        """Watch the containers running when the daemon starts, and remove the `--rm` ones
        that exited while no daemon was watching."""
        for container in self.engine.containers.list(all=True):
            try:
                status = container.status
            except NotFound:
                continue
            if status == "running":
                self.watch(container)
            elif status in ("exited", "dead") and container.record["HostConfig"].get("AutoRemove"):
                try:
                    self.engine.containers.remove(container, force=True, volumes=True)
                except NotFound:
                    pass

    def _watch(self, container, held) -> None:
        try:
            # While the daemon waits, it cleans up after the exit (the network given back, or
            # --rm), and the monitor's exit command stands back.
            if held is None:                # a container that was running when the daemon started
                held = contextlib.ExitStack()
                held.enter_context(self.engine.containers.attached(container))
            with held:
                code = container.wait()["StatusCode"]
                with self.exclusive(container.id):
                    self._exited(container, code)
                    held.close()                # gives the network back, if it still exists
        except NotFound:
            self.changed()
        finally:
            with self._changed:
                self._watched.discard(container.id)
                self._cleaning.pop(container.id, None)

    def _exited(self, container, code: int) -> None:
        self.exit_codes[container.id] = code
        while len(self.exit_codes) > KEEP_EXIT_CODES:
            self.exit_codes.popitem(last=False)
        self.changed()
        if container.record["HostConfig"].get("AutoRemove"):
            try:       # --rm takes the anonymous volumes along, as in Docker
                self.engine.containers.remove(container, force=True, volumes=True)
            except NotFound:            # someone removed it first
                pass
            self.removed(container)
