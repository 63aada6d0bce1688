"""docker top: the host's `ps` with the user's options, narrowed to a container's processes.

    top([4242, 4250], "-o pid,comm")   # {"Titles": ["PID", "COMMAND"], "Processes": [["4242", "sh"], ...]}

Docker's daemon does the same: run ps on the host (`-ef` by default) and keep the rows whose
PID column is one of the container's; the last column (the command) may contain spaces.
"""
import re
import subprocess

from ..errors import HostError, InvalidArgument


def _check(ps_args: str) -> None:
    # A renamed PID column ("-o pid=X") would hide which row is whose: Docker refuses it.
    for key, value in re.findall(r"(\S*)=\s*(PID\S*)", ps_args):
        if key != "pid":
            raise InvalidArgument(f'specifying "{key}={value}" is not allowed')


def _run(args: list[str]) -> tuple[int, str, str]:
    done = subprocess.run(["ps", *args], capture_output=True, text=True, errors="replace")
    return done.returncode, done.stdout, done.stderr


def top(pids: list[int], ps_args: str | None = None) -> dict:
    """{"Titles", "Processes"} of `ps ps_args` for the given host pids."""
    ps_args = ps_args or "-ef"
    _check(ps_args)
    args = ps_args.split()
    code, out, err = _run([*args, "-q", ",".join(map(str, pids))]) if pids else (1, "", "")
    if code:     # some options (f) can't go with -q: all processes, filtered below
        code, out, err = _run(args)
        if code:
            raise HostError(f"ps: {(err.strip().splitlines() or ['exit status %d' % code])[0]}")
    lines = out.splitlines()
    titles = lines[0].split() if lines else []
    if "PID" not in titles:
        raise InvalidArgument("Couldn't find PID field in ps output")
    column, wanted = titles.index("PID"), {str(p) for p in pids}
    processes = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column] in wanted:
            last = len(titles) - 1
            processes.append(fields[:last] + [" ".join(fields[last:])])
    return {"Titles": titles, "Processes": processes}
