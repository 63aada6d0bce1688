"""Containers: records on disk, their lifecycle, and the docker-py shaped objects front ends use.

A container is a directory `<root>/containers/<id>/` (the runtime's bundle) holding
`container.json` (this module's record: Docker's Config and HostConfig, the image, the name),
the runtime's spec and the monitor's `state.json`, `container.log` and the overlay's upper dir.
Names are reserved atomically as symlinks `<root>/names/<name> -> <id>`, so two processes on one
data root can't take the same name; a name whose container is gone (its create or remove was
killed) is free again. Create, start and remove record an intent first (intents.py), so what a
killed process left is settled by the next one (recovery.py).
"""
import json
import os
import signal as signals
from contextlib import contextmanager

from . import endpoints, events, intents, names
from .create import create_container
from .errors import Conflict, ContainerError, ContainerNotFound, InvalidArgument, StartError
from .options import RunOptions
from .recovery import exists, settle
from .runtime.process import State
from .storage import atomic_write_json

STOPPED = ("created", "exited", "dead")
ALIVE = ("running", "restarting", "paused")   # the monitor acts for it


class Container:
    """One container, docker-py style: `attrs` is `docker inspect`'s JSON."""

    warnings: list[str] = []    # what create accepted but warns about (Docker's Warnings)

    def __init__(self, engine, record: dict):
        self.engine, self.record = engine, record

    id = property(lambda self: self.record["Id"])
    short_id = property(lambda self: self.record["Id"][:12])
    name = property(lambda self: self.record["Name"].lstrip("/"))
    bundle = property(lambda self: self.engine.root / "containers" / self.id)
    labels = property(lambda self: self.record["Config"].get("Labels") or {})
    log_driver = property(lambda self: (self.record["HostConfig"].get("LogConfig") or {})
                          .get("Type") or "json-file")

    def __repr__(self):
        return f"<Container: {self.short_id} {self.name}>"

    @property
    def image(self):
        return self.engine.images.get(self.record["Image"])

    @property
    def state(self) -> State:
        return self.engine.runtime.state(self.bundle)

    @property
    def status(self) -> str:
        """Docker's State.Status: created, running, paused, exited or dead."""
        status = self.state.status
        paused = status == "running" and self.engine.runtime.paused(self.bundle)
        return "paused" if paused else status

    @property
    def attrs(self) -> dict:
        return self.inspect()

    def inspect(self, size: bool = False) -> dict:
        """`docker inspect` JSON; `size` adds SizeRw and SizeRootFs (`inspect --size`)."""
        from .container_inspect import container_inspect     # ~11 ms: inspect and ps only
        return container_inspect(self, size=size)

    def summary(self, network_ids: dict | None = None, size: bool = False) -> dict:
        """The container as `GET /containers/json` lists it (what `docker ps` shows);
        `network_ids` maps network names to ids, so a list looks each up once."""
        from .container_inspect import container_summary     # ~11 ms: inspect and ps only
        return container_summary(self, network_ids, size=size)

    def emit(self, action: str, **attributes) -> dict:
        """Record a container event (Docker's action names) in the data root's event log."""
        return events.record(self.engine.root, "container", action, self.id,
                      {**self.labels, "image": self.record["ImageRef"], "name": self.name,
                       **attributes})

    def reload(self):
        self.record = self.engine.containers.get(self.id).record

    def start(self):
        """Start (or start again) the container's process; a running container is left alone."""
        return self.engine.containers.start(self)

    def stop(self, timeout: float | None = None) -> State:
        """SIGTERM (or the image's stop signal), SIGKILL after `timeout` s; stopped is fine.
        A paused container is thawed first, so it can act on the signal. Stopped for good: the
        restart policy applies again after the next start."""
        if timeout is None:
            timeout = self.record["Config"].get("StopTimeout") or 10
        if self.status == "paused":
            self.engine.runtime.freeze(self.bundle, False)
        # This process waits for the exit and gives the network back itself, at once: the
        # monitor's exit command stands back.
        with self.engine.runtime.attach_lock(str(self.bundle)):
            state = self.engine.runtime.stop(self.bundle, timeout)
            self.emit("stop")
            settle(self.engine, self.id)
        return state

    def kill(self, signal="KILL"):
        """docker kill: the signal to PID 1; a paused container is thawed after it, so the signal
        arrives. SIGKILL or the stop signal (any signal, when the container sets none) also
        stops it for good, as Docker's kill does."""
        status = self.status
        if status not in ALIVE:
            raise Conflict(f"container {self.name} is not running")
        runtime = self.engine.runtime
        signum, stop_signal = runtime.signal_number(signal), self.record["Config"].get("StopSignal")
        for_good = signum == signals.SIGKILL or not stop_signal or \
            signum == runtime.signal_number(stop_signal)
        if for_good:
            runtime.mark_stopped(self.bundle)
        try:
            runtime.kill(self.bundle, signal)
        except Conflict:
            if not for_good:        # it exited meanwhile, and the mark keeps it down: done
                raise
        if status == "paused":
            runtime.freeze(self.bundle, False)
        self.emit("kill", signal=int(signum))

    def pause(self, frozen: bool = True):
        """docker pause: freeze every process of the container (cgroup freezer)."""
        status = self.status
        if frozen and status == "running" or not frozen and status == "paused":
            self.engine.runtime.freeze(self.bundle, frozen)
            return self.emit("pause" if frozen else "unpause")
        raise Conflict(f"Container {self.id} is " + (
            "already paused" if status == "paused" else "not running" if frozen else "not paused"))

    def unpause(self):
        self.pause(frozen=False)

    def rename(self, name: str):
        self.engine.containers.rename(self, name)

    def update(self, **limits) -> list[str]:
        """docker update: new cgroup limits (docker-py names), live and for later starts;
        returns Docker's warnings."""
        from .limits import update as update_limits     # ~1 ms: docker update only
        return update_limits(self, **limits)

    def restart(self, timeout: float | None = None):
        self.stop(timeout)
        self.start()
        self.emit("restart")

    def wait(self, timeout: float | None = None, *, exit_of: int | None = None) -> dict:
        """docker wait: until the container has stopped, restarts included; exit_of=PID 1 of
        one run: until that run has exited (Docker's next-exit: a restart may follow)."""
        state = self.engine.runtime.wait(self.bundle, timeout, exit_of=exit_of)
        if (state.status == "running" and state.pid == exit_of) if exit_of else \
                state.status in ALIVE:
            raise TimeoutError(f"container {self.name} still running after {timeout} s")
        return {"StatusCode": state.exit_code, "Error": state.error and {"Message": state.error}}

    def remove(self, force=False, v=False):
        self.engine.containers.remove(self, force=force, volumes=v)

    def logs(self, stdout=True, stderr=True, stream=False, follow=False, tail=None,
             timestamps=False, since=None, until=None):
        """Bytes of the log, or an iterator of chunks with stream=True (follow keeps going);
        since/until: Unix times or datetimes bounding the entries."""
        wanted = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
        chunks = ((e.time + " " if timestamps else "").encode() + e.data
                  for e in self.log_entries(follow=follow, tail=tail, since=since, until=until)
                  if e.stream in wanted)
        return chunks if stream or follow else b"".join(chunks)

    def log_entries(self, *, follow=False, tail=None, since=None, until=None, attached=False,
                    stop=lambda: False, file=None, run_of=None):
        """LogEntry(stream, time, data) items of the log. `attached`: for a client attached
        since its start, which reads the output even with the `none` log driver. Follow ends
        at the exit (run_of=PID: of that run; else restarts go on) or once `stop()`; `file` is
        the log as open_log() gave it, read on from where it stands."""
        if self.log_driver == "none" and not attached and run_of is None:
            raise Conflict("configured logging driver does not support reading")
        return self.engine.runtime.logs(self.bundle, follow=follow, tail=tail, since=since,
                                        until=until, stop=stop, file=file, run_of=run_of)

    def open_log(self, *, at_end=True):
        """The log, held open (at its end: what comes next) for a reader that attaches now."""
        return self.engine.runtime.open_log(self.bundle, at_end=at_end)

    def resize(self, height: int, width: int) -> None:
        """The window size of the container's TTY (docker run -t); Conflict without one."""
        self.engine.runtime.resize(self.bundle, height, width)

    def open_stdin(self):
        """The container's stdin (run -i), a binary file; closing it is the container's EOF."""
        if not self.record["Config"].get("OpenStdin"):
            raise Conflict(f"container {self.name} was not created with an open stdin (-i)")
        return self.engine.runtime.open_stdin(self.bundle)

    def exec_run(self, cmd, *, user=None, workdir=None, environment=None, tty=False,
                 stdin=False, detach=False):
        """(exit_code, output bytes) of `cmd` run inside the running container; stdin may be bytes."""
        proc = self.exec_process(cmd, user=user, workdir=workdir, environment=environment,
                                 tty=tty, stdin=bool(stdin), detach=detach)
        if detach:
            return None, b""
        out, _ = proc.communicate(stdin if isinstance(stdin, bytes) else None)
        self.engine.runtime.exec_done(proc)
        self.emit("exec_die", execID=proc.exec_id, exitCode=proc.returncode)
        return proc.returncode, out

    def exec_process(self, cmd, *, user=None, workdir=None, environment=None, tty=False,
                     stdin=False, detach=False, winsize=None, terminal=False):
        """docker exec as a Popen whose return code is the command's (see engine/execs.py);
        a TTY starts `winsize` (rows, cols) big; terminal: this process's own terminal is the
        exec's (runtime.exec). Call exec_done(proc) once it has ended."""
        from .execs import exec_process      # ~3 ms: exec (and cp with a running container)
        return exec_process(self, cmd, user=user, workdir=workdir, environment=environment,
                            tty=tty, stdin=stdin, detach=detach, winsize=winsize,
                            terminal=terminal)

    def exec_resize(self, proc, height: int, width: int) -> None:
        """The window size of a running exec_process(tty=True) process's TTY."""
        self.engine.runtime.resize_exec(proc, height, width)

    def exec_done(self, proc) -> None:
        """Remove what the exec left (its resize FIFO) once `proc` has ended."""
        self.engine.runtime.exec_done(proc)

    def top(self, ps_args: str | None = None) -> dict:
        """docker top: {"Titles": [...], "Processes": [[...], ...]} from the host's ps."""
        if self.status not in ALIVE:
            raise Conflict(f"container {self.id} is not running")
        from .runtime import ps         # ~1 ms: docker top only
        found = ps.top(self.engine.runtime.pids(self.bundle), ps_args)
        self.emit("top")
        return found

    def stats(self, stream=False):
        """Usage now, flat: cpu_usage_ns, memory_usage, memory_limit, memory_cache, pids,
        block_read, block_write, net_rx, net_tx (bytes; the counters only grow)."""
        found = self.engine.runtime.stats(self.bundle)
        found["net_rx"], found["net_tx"] = (self.engine.networks.traffic(self.id)
                                            if self.engine.has_networks(self) else (0, 0))
        return found

    def diff(self) -> list[dict]:
        """docker diff: Kind 0 changed, 1 added, 2 deleted, from the container's upper dir."""
        from .containerfs import changes             # ~3 ms: diff, cp and export only
        return changes(self)

    def connect(self, network: str, *, aliases=(), ip: str | None = None) -> None:
        """docker network connect: one more network for a container made on a bridge network."""
        endpoints.connect(self.engine, network, self.id, aliases=aliases, ip=ip)

    def disconnect(self, network: str) -> None:
        """docker network disconnect."""
        endpoints.disconnect(self.engine, network, self.id)

    def get_archive(self, path: str) -> tuple[bytes, dict]:
        """docker cp out: (a tar of `path`, its stat as containerfs.stat gives it)."""
        from .containerfs import read_tar, stat      # ~3 ms: diff, cp and export only
        info = stat(self, path)
        return read_tar(self, path), info

    def read_archive(self, path: str, *, into=None, owner=None) -> bytes:
        """A tar of `path`, its last component at the top (NotFound if absent); with `into`,
        also extracted into that local directory, refusing paths that lead out of it (`owner`
        (uid, gid): every extracted file is given to it). `dockyard cp` out."""
        from .containerfs import extract_local, read_tar     # ~3 ms: cp only
        data = read_tar(self, path)
        if into is not None:
            extract_local(data, into, owner=owner)
        return data

    def put_archive(self, path: str, data: bytes) -> None:
        """docker cp in: extract the tar `data` into the directory `path`."""
        from .containerfs import write_tar           # ~3 ms: diff, cp and export only
        write_tar(self, path, data)

    def stat_path(self, path: str) -> dict:
        from .containerfs import stat                # ~3 ms: diff, cp and export only
        return stat(self, path)

    def path_kind(self, path: str) -> str | None:
        """"dir", "file" or None: what `path` is in the container's filesystem (docker cp's
        stat; symlinks followed inside the container)."""
        from .containerfs import path_kind           # ~3 ms: diff, cp and export only
        return path_kind(self, path)

    def export(self, out) -> None:
        """docker export: the whole filesystem as a tar, written to the binary file `out`."""
        from .containerfs import export              # ~3 ms: diff, cp and export only
        export(self, out)

    def commit(self, repository=None, tag=None, message=None, author=None, changes=None, conf=None):
        return self.engine.images.commit(self, repository, tag, message=message, author=author,
                                         changes=changes, conf=conf)


class Containers:
    """The container collection of one engine (docker-py's `client.containers`)."""

    def __init__(self, engine):
        self.engine = engine
        self.dir = engine.root / "containers"
        self.names_dir = engine.root / "names"

    # -- lookup --------------------------------------------------------------------------
    def get(self, id_or_name: str) -> Container:
        ref = id_or_name.lstrip("/")
        link = self.names_dir / ref
        if names.VALID.match(ref) and link.is_symlink():
            cid = os.readlink(link)
        else:
            matches = [p.name for p in self._ids() if p.name.startswith(ref)] if ref else []
            if len(matches) > 1:
                raise InvalidArgument(f"container id prefix {ref!r} is ambiguous")
            if not matches:
                raise ContainerNotFound(f"No such container: {id_or_name}")
            cid = matches[0]
        try:
            with open(self.dir / cid / "container.json") as f:
                return Container(self.engine, json.load(f))
        except FileNotFoundError:
            raise ContainerNotFound(f"No such container: {id_or_name}") from None

    def list(self, all=False, filters=None, limit=-1, since=None, before=None) -> list[Container]:
        """Running containers (all=True: every one), newest first; `filters` (docker-py's dict
        or `--filter` strings), `limit` (`ps -n`), `since` and `before` as Docker applies them."""
        found = []
        for path in self._ids():
            try:
                with open(path / "container.json") as f:
                    found.append(Container(self.engine, json.load(f)))
            except FileNotFoundError:       # removed while we looked, or still being created
                continue
        found.sort(key=lambda c: c.record["Created"], reverse=True)
        if filters or since or before or limit > 0:
            from .filters import Filters, select_containers      # ~4 ms: filtered lists only
            wanted = Filters.of(filters)
            for key, ref in (("since", since), ("before", before)):
                if ref:
                    wanted.values.setdefault(key, []).append(ref)
            return select_containers(self.engine, found, wanted, all=all, limit=limit)
        return found if all else [c for c in found if _alive(c)]

    def images_in_use(self) -> frozenset[str]:
        return frozenset(c.record["Image"] for c in self.list(all=True))

    def _ids(self):
        return (p for p in self.dir.iterdir() if len(p.name) == 64) if self.dir.is_dir() else ()

    # -- lifecycle ---------------------------------------------------------------------------
    def create(self, image, command=None, **kwargs) -> Container:
        """docker create: the record, the bundle and the network endpoint; nothing runs yet."""
        return self.create_from(RunOptions.from_kwargs(image=image, command=command, **kwargs))

    def create_from(self, options: RunOptions) -> Container:
        """docker create from RunOptions (what the CLI and the magics parse their flags into)."""
        record, warnings = create_container(self.engine, options)
        container = Container(self.engine, record)
        container.warnings = warnings
        container.emit("create")
        return container

    def run(self, image, command=None, *, detach=False, remove=False, stdout=True, stderr=False,
            **kwargs):
        """docker run: a Container when detached, else the output bytes (ContainerError if non-zero)."""
        container = self.create(image, command, auto_remove=remove and detach, **kwargs)
        if detach:
            try:
                self.start(container)
            except BaseException:
                if remove:
                    try:
                        self.remove(container, force=True)
                    except ContainerNotFound:   # the reaper of an auto-remove one was first
                        pass
                raise
            return container
        with self.attached(container):
            return self._run_attached(container, remove, stdout, stderr)

    def _run_attached(self, container, remove, stdout, stderr):
        try:
            self.start(container)
            state = self.engine.runtime.wait(container.bundle)
            readable = container.log_driver != "none"       # docker-py: None without a log
            out = container.logs(stdout=stdout, stderr=stderr) if readable else None
            if state.exit_code:
                err = container.logs(stdout=False, stderr=True) if readable else b""
                raise ContainerError(f"container {container.name} exited with {state.exit_code}: "
                                     f"{err.decode(errors='replace').strip()[-300:]}",
                                     state.exit_code, err)
            return out
        finally:
            if remove:
                self.remove(container, force=True, volumes=True)

    @contextmanager
    def attached(self, container: Container):
        """For the block, this process waits for the container's exit and cleans up after it
        (the monitor's exit command stands back); on leaving, a stopped container gives its
        network back (or goes, with auto-remove). `run` without -d uses it."""
        with self.engine.runtime.attach_lock(str(container.bundle)):
            try:
                yield container
            finally:
                if (container.bundle / "container.json").exists():   # not removed (--rm)
                    settle(self.engine, container.id)

    def start(self, container: Container, attach: bool = False) -> State:
        """Start the container's process (a running or restarting one is left alone), taking
        its network again if it had stopped. `attach`: a client follows this run's output;
        with the `none` log driver only such a client gets it."""
        try:
            with self.engine.runtime.start_lock(str(container.bundle)):
                status = container.state.status
                if status in ("running", "restarting"):
                    return container.state
                if container.log_driver == "none":
                    _none_log(container.bundle / "container.log", attached=attach)
                if status != "created" and container.record.get("Endpoints"):
                    with intents.held(self.engine.root, container.id, "start"):
                        endpoints.rejoin(self.engine, container)
                        state = self.engine.runtime.start(str(container.bundle))
                else:
                    state = self.engine.runtime.start(str(container.bundle))
        except FileNotFoundError:           # its directory went: removed meanwhile
            raise ContainerNotFound(f"No such container: {container.name}") from None
        if state.error:
            settle(self.engine, container.id)
            raise StartError(state.error, state.exit_code or 125)
        return state        # the monitor recorded the start event

    def remove(self, container: Container, *, force=False, volumes=False):
        """docker rm: a running container needs force (then it is killed first). The
        anonymous volumes go with `volumes`, and always with an auto-remove container."""
        volumes = volumes or container.record["HostConfig"].get("AutoRemove")
        anonymous = [m["Name"] for m in container.record.get("Mounts") or () if m.get("Name")]
        with intents.held(self.engine.root, container.id, "remove",
                          volumes=anonymous if volumes else []), \
                self.engine.runtime.attach_lock(str(container.bundle)):    # we clean up after it
            if container.status in ALIVE:
                if not force:
                    raise Conflict(f"cannot remove container {container.name}: container is "
                                   f"{container.status}: stop the container before removing or "
                                   "force remove")
                try:
                    container.kill(signals.SIGKILL)     # and no restart: stopped for good
                except Conflict:            # it exited (or was killed by someone else) meanwhile
                    pass
                self.engine.runtime.wait(container.bundle, 10)
            self.engine.runtime.wait_exit_command(str(container.bundle))
            # The bundle goes first: its removal is atomic, so of two removers only one goes on
            # to release the network and the name.
            self.engine.runtime.remove(container.bundle)
            if self.engine.has_networks(container):
                self.engine.networks.release(container.id)
                endpoints.refresh_hosts(self.engine)
            self._unname(container)
            container.emit("destroy")
            if volumes and anonymous:
                self.engine.volumes.remove_anonymous(container.record.get("Mounts", []))

    def prune(self) -> dict:
        deleted = []
        for c in self.list(all=True):
            if c.status in STOPPED:
                self.remove(c)
                deleted.append(c.id)
        return {"ContainersDeleted": deleted, "SpaceReclaimed": 0}

    # -- names ---------------------------------------------------------------------------
    def reserve_name(self, name: str | None, cid: str) -> str:
        self.names_dir.mkdir(parents=True, exist_ok=True)
        if name is None:
            taken = set(os.listdir(self.names_dir))
            while True:
                candidate = names.random_name(taken)
                try:
                    os.symlink(cid, self.names_dir / candidate)
                    return candidate
                except FileExistsError:
                    taken.add(candidate)
        name = names.check(name)
        for _ in range(2):
            try:
                os.symlink(cid, self.names_dir / name)      # atomic: the name is ours or taken
                return name
            except FileExistsError:
                try:
                    other = os.readlink(self.names_dir / name)
                except FileNotFoundError:                   # freed meanwhile
                    continue
                if exists(self.engine, other):
                    raise Conflict(f'the container name "/{name}" is already in use by container '
                                   f'"{other}": remove (or rename) that container to reuse the '
                                   'name') from None
                settle(self.engine, other)      # its create or remove was killed: undo the rest
        raise Conflict(f'the container name "/{name}" is being taken by another process')

    def rename(self, container: Container, name: str) -> None:
        """docker rename: the new name is taken atomically, then the old one let go."""
        old = container.name
        if names.check(name.lstrip("/")) == old:
            raise Conflict("Renaming a container with the same name as its current name")
        with intents.held(self.engine.root, container.id, "rename"):   # two names for a while
            name = self.reserve_name(name.lstrip("/"), container.id)
            container.record["Name"] = "/" + name
            try:
                self.save(container)
            except BaseException:
                (self.names_dir / name).unlink(missing_ok=True)
                raise
            link = self.names_dir / old
            if link.is_symlink() and os.readlink(link) == container.id:
                link.unlink()
        if self.engine.has_networks(container):
            self.engine.networks.rename(container.id, name)
            endpoints.refresh_hosts(self.engine)
        container.emit("rename", oldName="/" + old)

    def unname_id(self, cid: str, keep: str | None = None) -> "list[str]":
        """Remove every name that points to `cid` (but `keep`); the names removed."""
        freed = []
        for name in os.listdir(self.names_dir) if self.names_dir.is_dir() else ():
            try:
                if name != keep and os.readlink(self.names_dir / name) == cid:
                    os.unlink(self.names_dir / name)
                    freed.append(name)
            except OSError:         # unnamed meanwhile
                continue
        return freed

    def _unname(self, container: Container):
        link = self.names_dir / container.name
        if link.is_symlink() and os.readlink(link) == container.id:
            link.unlink()

    def save(self, container: Container):
        atomic_write_json(container.bundle / "container.json", container.record)


def _alive(container) -> bool:
    """Running or restarting (what `ps` lists); False once removed while we looked."""
    try:
        return container.state.status in ("running", "restarting")
    except ContainerNotFound:
        return False


def _none_log(path, attached: bool) -> None:
    """The `none` log driver: the monitor writes container.log only if it exists at the start,
    left empty for a client attached to this run; nothing is kept for `logs`."""
    path.unlink(missing_ok=True)
    if attached:
        path.touch()
