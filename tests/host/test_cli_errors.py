"""The CLI as a Docker user meets it when things go wrong: one `Error:` line, never a traceback,
Docker's exit codes (125 for run/create and bad flags, 126/127 for a command that can't run,
1 for any other verb), and multi-name verbs that go on past a failing name."""
import os
import subprocess
import sys

import pytest

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]


def cli(root, *args, input=None, text=True):
    return subprocess.run([*DOCKYARD, "--data-root", str(root), *args], capture_output=True,
                          input=input, text=text, timeout=60)


@pytest.fixture(scope="module")
def root(engine):
    """The shared engine's data root, with a running container `up` and a stopped one `down`."""
    engine.containers.run("busybox", ["sleep", "300"], detach=True, name="up", network="none")
    down = engine.containers.run("busybox", ["true"], detach=True, name="down", network="none")
    down.wait()
    return engine.root


def _mounted_tmpfs(path, options):
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def odd_roots(tmp_path_factory):
    """Data roots on a read-only filesystem (with the busybox image) and on a full (tiny) one;
    unmounted after."""
    from dockyard.engine import Engine
    base = tmp_path_factory.mktemp("odd-roots")
    readonly = _mounted_tmpfs(base / "ro", "size=16m")
    Engine(readonly).images.bootstrap("busybox")
    subprocess.run(["mount", "-o", "remount,ro", str(readonly)], check=True)
    full = _mounted_tmpfs(base / "full", "size=64k")
    try:
        yield {"ro": readonly, "full": full}
    finally:
        for path in (readonly, full):
            subprocess.run(["umount", str(path)], check=True)


BAD_INPUT = [
    # (arguments, exit status, words in the one error line)
    (["logs", "nosuch"], 1, "No such container: nosuch"),
    (["rm", "nosuch"], 1, "No such container: nosuch"),
    (["inspect", "nosuch"], 1, "No such object: nosuch"),
    (["stop", "nosuch"], 1, "No such container: nosuch"),
    (["rmi", "nosuch:1"], 1, "nosuch"),
    (["network", "rm", "nosuchnet"], 1, "nosuchnet"),
    (["volume", "inspect", "nosuchvol"], 1, "nosuchvol"),
    (["run", "--nope", "busybox"], 125, "unrecognized arguments: --nope"),
    (["ps", "--nope"], 125, "unrecognized arguments: --nope"),
    (["run", "--pids-limit", "many", "busybox"], 125, "invalid int value: 'many'"),
    (["run", "--pull", "never", "nosuchimage:1"], 125, "No such image"),
    (["run", "--platform", "linux/s390x", "--pull", "never", "busybox"], 125,
     "does not match the specified platform: wanted linux/s390x"),
    (["run", "-m", "64m", "--memory-swap", "32m", "busybox", "true"], 125,
     "Minimum memoryswap limit should be larger than memory limit, see usage"),
    (["run", "--memory-swap", "1g", "busybox", "true"], 125,
     "You should always set the Memory limit when using Memoryswap limit"),
    (["create", "--stop-signal", "BOGUS", "busybox"], 125, "Invalid signal: BOGUS"),
    (["run", "--sysctl", "kernel.hostname=x", "busybox"], 125,
     "sysctl 'kernel.hostname=x' is not allowed"),
    (["run", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox"], 125,
     "not allowed in host network namespace"),
    (["run", "--add-host", "nocolon", "busybox"], 125, 'bad format for add-host: "nocolon"'),
    (["run", "--dns", "not-an-ip", "busybox"], 125, "not-an-ip is not an ip address"),
    (["run", "--cpuset-cpus", "0-4096", "busybox"], 125, "Requested CPUs are not available"),
    (["run", "--expose", "80-x", "busybox"], 125, "Invalid range format for --expose: 80-x"),
    (["run", "--env-file", "/nonexistent-env", "busybox"], 125,
     "--env-file /nonexistent-env: No such file or directory"),
    (["run", "--env-file", "/etc", "busybox"], 125, "--env-file /etc: Is a directory"),
    (["run", "--label-file", "/nonexistent-labels", "busybox"], 125, "--label-file"),
    (["run", "-m", "64m", "--memory-reservation", "128m", "busybox"], 125,
     "Minimum memory limit can not be less than memory reservation limit"),
    (["run", "--restart", "always", "--rm", "busybox"], 125,
     "conflicting options: cannot specify both --restart and --rm"),
    (["run", "--restart", "on-failure:x", "busybox"], 125,
     "invalid restart policy format: maximum retry count must be an integer"),
    (["run", "--log-opt", "max-size=abc", "busybox"], 125, "invalid size: 'abc'"),
    (["run", "--log-opt", "color=1", "busybox"], 125,
     "unknown log opt 'color' for json-file log driver"),
    (["run", "--log-driver", "syslog", "busybox"], 125, 'logging driver "syslog" is not supported'),
    (["run", "--health-interval", "1", "busybox"], 125,
     'invalid argument "1" for "--health-interval" flag: time: missing unit in duration "1"'),
    (["run", "--health-retries", "-1", "busybox"], 125, "--health-retries cannot be negative"),
    (["load", "-i", "/nonexistent.tar"], 1, "/nonexistent.tar"),
    (["save", "-o", "/proc/nope/x.tar", "busybox"], 1, "/proc/nope"),
    (["build", "/nonexistent-context"], 1, "not found"),
    (["cp", "nosuch:/x", "/tmp/y"], 1, "No such container: nosuch"),
    (["cp", "up:/nonexistent", "/tmp/y"], 1, "Could not find the file /nonexistent in container up"),
    (["cp", "/etc/hostname", "up:/nonexist/dir/"], 1,
     "no such directory: /nonexist/dir/ in container up"),
    (["cp", "/etc/hostname", "up:/nonexist/file"], 1, "no such directory: /nonexist in container up"),
    (["kill", "-s", "BOGUS", "up"], 1, "invalid signal: BOGUS"),
    (["top", "down"], 1, "is not running"),
    (["exec", "down", "true"], 1, "is not running"),
    (["exec", "-w", "/nonexist", "up", "pwd"], 126,
     'chdir to cwd ("/nonexist") set in config.json failed: no such file or directory'),
    (["exec", "-w", "relative", "up", "pwd"], 1, "needs to be an absolute path"),
    (["port", "up", "80"], 1, "No public port '80/tcp' published for up"),
    (["logs", "--since", "yesterday", "up"], 1, 'invalid value for "--since"'),
    (["unpause", "up"], 1, "is not paused"),
    (["rename", "up", "down"], 1, 'the container name "/down" is already in use'),
    (["update", "up"], 1, "you must provide one or more flags"),
    (["update", "--restart", "sometimes", "up"], 1, "invalid restart policy: unknown policy"),
    (["search", "localhost:1/nginx"], 1, "cannot reach the search index localhost:1 (offline?)"),
    (["--data-root", "/proc/nope", "ps"], 1, "data root /proc/nope: No such file or directory"),
]


@pytest.mark.parametrize("args, status, words", BAD_INPUT, ids=[" ".join(a) for a, _, _ in BAD_INPUT])
def test_bad_input_is_one_error_line_with_dockers_exit_status(root, args, status, words):
    proc = cli(root, *args)
    assert "Traceback" not in proc.stderr
    assert (proc.returncode, proc.stderr.count("\n")) == (status, 1), proc.stderr
    assert proc.stderr.startswith("Error: ") and words in proc.stderr, proc.stderr


def test_a_read_only_or_full_data_root_is_one_error_line(engine, odd_roots, tmp_path):
    archive = tmp_path / "busybox.tar"
    engine.images.save("busybox", str(archive))
    cases = [(odd_roots["ro"], ["run", "--rm", "--network", "none", "busybox", "true"], 125),
             (odd_roots["ro"], ["volume", "create", "vol1"], 1),
             (odd_roots["ro"], ["image", "bootstrap", "busybox"], 1),
             (odd_roots["ro"], ["network", "create", "n1"], 1),
             (odd_roots["full"], ["image", "bootstrap", "busybox"], 1),
             (odd_roots["full"], ["load", "-i", str(archive)], 1)]
    for where, args, status in cases:
        proc = cli(where, *args)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert (proc.returncode, proc.stderr.count("\n")) == (status, 1), (where, args, proc.stderr)
        assert proc.stderr.startswith("Error: ")
        assert ("Read-only file system" if where == odd_roots["ro"] else "No space left") \
            in proc.stderr, proc.stderr
    # reading a read-only root works; nothing half-written shows in the full one
    assert cli(odd_roots["ro"], "images", "-q").stdout.strip()
    assert cli(odd_roots["ro"], "ps", "-a").returncode == 0
    assert cli(odd_roots["full"], "images", "-q").stdout == ""


def test_multi_name_verbs_go_on_and_report_each_failure(root, engine):
    for name in ("m1", "m2"):
        engine.containers.run("busybox", ["sleep", "300"], detach=True, name=name, network="none")
    proc = cli(root, "inspect", "-f", "{{.Name}}", "m1", "nosuch", "m2")
    assert (proc.returncode, proc.stdout) == (1, "/m1\n/m2\n")
    assert proc.stderr == "Error: No such object: nosuch\n"
    proc = cli(root, "inspect", "nosuch")
    assert (proc.returncode, proc.stdout.strip()) == (1, "[]")
    proc = cli(root, "pause", "m1", "nosuch", "m2")
    assert (proc.returncode, proc.stdout) == (1, "m1\nm2\n")
    assert engine.containers.get("m1").status == "paused"
    proc = cli(root, "unpause", "nosuch", "m1", "m2")
    assert (proc.returncode, proc.stdout) == (1, "m1\nm2\n")
    proc = cli(root, "kill", "m1", "gone1", "m2")
    assert (proc.returncode, proc.stdout, proc.stderr.count("Error: ")) == (1, "m1\nm2\n", 1)
    proc = cli(root, "wait", "m1", "gone2", "m2")
    assert (proc.returncode, proc.stdout) == (1, "137\n137\n")
    proc = cli(root, "start", "m1", "gone3", "m2")
    assert (proc.returncode, proc.stdout) == (1, "m1\nm2\n")
    assert proc.stderr.splitlines() == ["Error: No such container: gone3",
                                        "Error: failed to start containers: gone3"]
    proc = cli(root, "rm", "-f", "nosuch1", "m1", "m2")
    assert (proc.returncode, proc.stdout) == (1, "m1\nm2\n")
    assert proc.stderr == "Error: No such container: nosuch1\n"
    assert not {"m1", "m2"} & {c.name for c in engine.containers.list(all=True)}
    engine.volumes.create("keepme")
    proc = cli(root, "volume", "rm", "nosuchvol", "keepme")
    assert (proc.returncode, proc.stdout) == (1, "keepme\n")
    engine.networks.create("multinet")
    proc = cli(root, "network", "rm", "nosuchnet", "multinet")
    assert (proc.returncode, proc.stdout) == (1, "multinet\n")
    engine.images.tag("busybox", "rmi-me:1")
    proc = cli(root, "rmi", "nosuch:1", "rmi-me:1")
    assert proc.returncode == 1 and "Untagged: rmi-me:1" in proc.stdout


def test_prunes_ask_first_and_force_skips(root, engine):
    engine.networks.create("unused-net")
    for args, warning in ((["network", "prune"], "remove all custom networks not used"),
                          (["image", "prune", "-a"], "remove all images without at least one"),
                          (["container", "prune"], "remove all stopped containers"),
                          (["system", "prune"], "  - all stopped containers\n")):
        proc = cli(root, *args, input="n\n")
        assert proc.returncode == 0 and warning in proc.stdout, proc.stdout
        assert proc.stdout.rstrip().endswith("Are you sure you want to continue? [y/N]")
    assert "unused-net" in [n.name for n in engine.networks.list()]
    assert engine.containers.get("down")
    proc = cli(root, "network", "prune", "-f")
    assert proc.stdout == "Deleted Networks:\nunused-net\n"
