"""docker exec: the checks Docker's daemon makes, the event trail, then the runtime's process.

    proc = exec_process(container, ["ls", "/"], workdir="/srv")
    out, err = proc.communicate(); container.emit("exec_die", execID=proc.exec_id, ...)
"""
import os

from .containerfs import kind_in
from .errors import Conflict, InvalidArgument, StartError
from .runtime import convert


def exec_process(container, cmd, *, user=None, workdir=None, environment=None, tty=False,
                 stdin=False, detach=False, winsize=None, terminal=False):
    """A Popen of `cmd` in the running container; its return code is the command's.
    winsize and terminal (this process's own terminal as the exec's): process.exec's.

    StartError(126) for a working directory that isn't there, in the words of Docker's runtime;
    the Popen's `exec_id` names it in the exec_create/exec_start/exec_die events.
    """
    status = container.status
    if status == "paused":
        raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
    if status != "running":
        raise Conflict(f"container {container.id} is not running")
    if workdir and not workdir.startswith("/"):
        raise InvalidArgument(f"the working directory '{workdir}' is invalid, it needs to be "
                              "an absolute path")
    if workdir and kind_in(f"/proc/{container.state.pid}/root", workdir) != "dir":
        raise StartError("OCI runtime exec failed: exec failed: unable to start container "
                         f'process: chdir to cwd ("{workdir}") set in config.json failed: no '
                         "such file or directory: unknown", 126)
    args = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    exec_id = os.urandom(32).hex()
    container.emit("exec_create: " + " ".join(args), execID=exec_id)
    # The container's environment with the exec's over it, by the rule a container's own is
    # made with (convert.merge_env: `-e NAME` takes this process's value, a bad name fails).
    env = convert.merge_env(container.record["Config"].get("Env"), environment)
    proc = container.engine.runtime.exec(container.bundle, args, env=env, user=user,
                                         cwd=workdir, tty=tty, stdin=stdin, detach=detach,
                                         winsize=winsize, terminal=terminal)
    container.emit("exec_start: " + " ".join(args), execID=exec_id)
    proc.exec_id = exec_id
    return proc
