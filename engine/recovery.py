"""Recovery: what a container id holds is brought in line with what the container is.

A container holds its name and directory from create until removal, and its network (endpoints,
addresses, published ports, netns file, veths) while it is created or running: the monitor's
exit command (reap.py), `stop`, and an engine that waited for the exit give the network back,
and `start` takes it again. An id without a container.json holds nothing. Operations in
progress are recorded as intents (intents.py); what a killed process left is settled here:

    recover(engine)        on an engine's first use; cheap (two listdirs) when nothing is left
    settle(engine, cid)    finish or undo what `cid` holds beyond what it is
    holding(engine, cid)   whether `cid` may hold a network now; what isn't held is free to take
"""
import glob
import os
import re
import shutil
import signal
import time

from . import intents
from .endpoints import HOLDING, holding, refresh_hosts, release
from .errors import ContainerNotFound, DockyardError
from .runtime import cgroups

WRITER_PREFIX = "images-"      # intent keys of image store writers (pull, load, build, commit...)
BUILD_PREFIX = "build-"        # intent keys (and directories) of a build's RUN containers
_PID_TEMP = re.compile(r"\.(\d+)(\.tmp)?$")
PID_TEMP_FOLDERS = ("images", "buildcache/steps", "networks", "networks/ports", "bin")
STORE_LEFTOVERS = ("blobs/sha256/.tmp-*", "snapshots/.tmp-*", "snapshots/.trash-*",
                   "snapshots/l/.tmp-*", ".load-*", "buildcache/tmp/*")


def exists(engine, cid: str, live: set | None = None) -> bool:
    """Whether `cid` is a container, or one being created or removed by a living process."""
    if cid in (intents.live_keys(engine.root) if live is None else live):
        return True
    return (engine.root / "containers" / cid / "container.json").exists()


def settle(engine, cid: str, data: dict | None = None) -> list[str]:
    """Finish or undo what `cid` holds beyond what it is; returns what was done, in words.

    No container.json: a create or remove that was killed; everything of the id goes.
    Exited (or its monitor died): the network goes back, or the whole container with
    auto-remove. Created or running: nothing to do.
    """
    bundle = engine.root / "containers" / cid
    if not (bundle / "container.json").exists():
        return _forget(engine, cid, data or {})
    try:
        with engine.runtime.start_lock(str(bundle)):
            container = engine.containers.get(cid)
            status = container.status
            if status in HOLDING:
                return []
            done = []
            if status == "dead":        # its monitor died: nobody recorded the exit
                done += kill_leftovers(cid)
                engine.runtime.record_lost_exit(str(bundle), "the container's monitor died")
                done.append(f"recorded the exit of {cid[:12]}, whose monitor died")
            auto_remove = container.record["HostConfig"].get("AutoRemove")
            if not auto_remove:
                if release(engine, container):
                    done.append(f"released the network of stopped container {cid[:12]}")
                return done
        # outside the start lock: removal waits for the exit command, which may be waiting
        # for that lock
        engine.containers.remove(container, force=True)
        return done + [f"removed container {cid[:12]} (auto-remove)"]
    except (FileNotFoundError, ContainerNotFound):      # removed meanwhile
        return []


def _forget(engine, cid: str, data: dict) -> list[str]:
    """Everything `cid` may hold, for an id that is no container: processes, directories,
    network, names, the anonymous volumes its intent recorded, cgroups."""
    done = kill_leftovers(cid)
    for path in (engine.root / "containers").glob(f"{cid}*"):   # <cid>, <cid>.removing-<pid>
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"removed directory containers/{path.name}")
    if (engine.root / "networks").is_dir() and engine.networks.release(cid):
        done.append(f"released the network of {cid[:12]}")
    for name in engine.containers.unname_id(cid):
        done.append(f"freed the name {name}")
    if data.get("volumes"):
        for name in engine.volumes.remove_anonymous({"Name": n} for n in data["volumes"]):
            done.append(f"removed anonymous volume {name[:12]}")
        for trash in (engine.root / "volumes").glob(".trash-*"):   # a removal renames first
            shutil.rmtree(trash, ignore_errors=True)
    if done:
        refresh_hosts(engine)
    return done


def kill_leftovers(cid: str) -> list[str]:
    """SIGKILL what runs in the container's cgroups (its monitor died), then remove them."""
    done = []
    # every hierarchy's dockyard/<cid> (v1 controllers, a hybrid's unified, v2): the id is ours
    for directory in glob.glob(f"{cgroups.ROOT}/dockyard/{cid}") + glob.glob(
            f"{cgroups.ROOT}/*/dockyard/{cid}"):
        for _ in range(200):
            pids = cgroups.procs([directory])
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        try:
            os.rmdir(directory)
            done.append(f"removed cgroup {directory}")
        except OSError:
            pass
    return done


def remove_build_container(engine, key: str) -> list[str]:
    """A build's RUN container whose builder was killed: stop it, remove its directory."""
    done = []
    bundle = engine.root / "containers" / key
    if bundle.is_dir():
        try:
            if engine.runtime.state(str(bundle)).status == "running":
                engine.runtime.kill(str(bundle))
                engine.runtime.wait(str(bundle), 10)
            engine.runtime.remove(str(bundle))
        except (DockyardError, OSError):
            shutil.rmtree(bundle, ignore_errors=True)
        done.append(f"removed build container containers/{key}")
    for path in bundle.parent.glob(f"{key}.removing-*"):
        shutil.rmtree(path, ignore_errors=True)
    return done


def store_leftovers(root) -> list:
    """Temp files and directories of image store writers (pull, load, build, commit), and
    snapshot links whose snapshot never arrived."""
    from .image.snapshots import Snapshots
    found = []
    for pattern in STORE_LEFTOVERS:
        found += root.glob(pattern)
    for folder in ("images", "buildcache/steps"):
        found += dead_pid_temps(root / folder)
    return found + Snapshots(root).dangling_links()


def dead_pid_temps(folder) -> list:
    """Temp files named after their writer's pid (`.index.json.<pid>`, `.x.<pid>.tmp`) whose
    process is gone."""
    found = []
    for name in os.listdir(folder) if folder.is_dir() else ():
        match = _PID_TEMP.search(name)
        if name.startswith(".") and match and not os.path.exists(f"/proc/{match.group(1)}"):
            found.append(folder / name)
    return found


def sweep_store(engine) -> list[str]:
    """Remove store_leftovers(); only when no writer is alive (callers check)."""
    done = []
    for path in store_leftovers(engine.root):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        done.append(f"removed leftover {path.relative_to(engine.root)}")
    return done


def writers_alive(engine) -> bool:
    return any(k.startswith((WRITER_PREFIX, BUILD_PREFIX)) for k in intents.live_keys(engine.root))


def settle_intent(engine, intent) -> list[str]:
    """Claim an abandoned intent of a container or build container, and settle its key; the
    intent ends when that worked."""
    mine = intents.claim(intent)
    if mine is None:
        return []
    if intent.key.startswith(BUILD_PREFIX):
        done = remove_build_container(engine, intent.key)
    else:
        done = settle(engine, intent.key, intent.data)
        if intent.op == "rename":
            done += _other_names(engine, intent.key)
    mine.end()
    return done


def _other_names(engine, cid: str) -> list[str]:
    """Names of `cid` that its record doesn't have (a rename killed half-way)."""
    try:
        keep = engine.containers.get(cid).name
    except ContainerNotFound:
        return []
    return [f"freed the name {n}" for n in engine.containers.unname_id(cid, keep=keep)]


def settle_writers(engine, stale) -> list[str]:
    """Abandoned image store writers: their temp files go once no writer is alive (until
    then they can't be told from a living writer's)."""
    if not stale or writers_alive(engine):
        return []
    claimed = [c for c in map(intents.claim, stale) if c is not None]
    done = sweep_store(engine)
    for intent in claimed:
        intent.end()
    return done


def recover(engine) -> list[str]:
    """Settle what killed processes left: abandoned intents, and netns files of containers
    that hold no network any more (their exit command was killed or never ran)."""
    done = []
    entries = intents.listing(engine.root)
    live = {i.key for i in entries if i.alive}
    stale = [intents.read(i) for i in entries if not i.alive]
    writers = [i for i in stale if i.key.startswith(WRITER_PREFIX)]
    for intent in stale:
        if intent not in writers:
            done += _safely(settle_intent, engine, intent)
    done += _safely(settle_writers, engine, writers)
    if stale:                   # a killed process may have been writing a record
        for folder in PID_TEMP_FOLDERS:
            for path in dead_pid_temps(engine.root / folder):
                path.unlink(missing_ok=True)
    try:
        netns = os.listdir(engine.root / "netns")
    except FileNotFoundError:
        netns = []
    for cid in netns:
        if not holding(engine, cid, live):
            done += _safely(settle, engine, cid)
    if (engine.root / "networks").is_dir():
        if stale or done:       # a killed process may have changed the records, not the table
            done += _safely(_reapply_firewall, engine)
        done += _safely(_retire_idle, engine)
    return done


def _reapply_firewall(engine) -> list[str]:
    engine.networks.reapply_firewall()
    return []


def _retire_idle(engine) -> list[str]:
    # The records answer first: the network code (and pyroute2) loads only when a bridge is due.
    import time
    from .network.state import NetworkState
    from .network.upkeep import IDLE_S
    state = NetworkState(engine.root)
    if not any(r["default"] and not r["endpoints"] and r.get("realized", True)
               and time.time() - state.mtime(r["id"]) >= IDLE_S for r in state.networks()):
        return []
    return ["removed the default bridge, unused for a while"] if engine.networks.retire_idle() \
        else []


def _safely(step, *args) -> list[str]:
    # Recovery runs on the way to what the user asked for: a failure here must not stop that
    # (`system check` reports what is left).
    try:
        return step(*args)
    except (DockyardError, OSError):
        return []
