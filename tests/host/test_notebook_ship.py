"""A notebook shipped as an image: its files and lock inside, taken back out, run by Podman.

Podman (Debian's, with runc and cgroupfs) keeps all its state in the test's temp dir, as
bench/peers.py runs it; it loads the image from `dockyard save` and reads the notebook back.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from dockyard.engine import Engine
from dockyard.engine.errors import Conflict, InvalidArgument
from dockyard.engine.notebook import ship

CGROUP_PARENT = f"dytest-ship-{os.getpid()}"


@pytest.fixture
def shipped(tmp_path):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "input.csv").write_text("a,b\n1,2\n")
    (project / "unrelated.txt").write_text("not copied by any cell\n")
    nb = new_notebook(cells=[new_code_cell("%image bootstrap busybox"),
                             new_code_cell("%%dockerfile -t shipenv:1\nFROM busybox\n"
                                           "COPY data/ /data/\n"),
                             new_code_cell("print(open('/data/input.csv').read())")])
    path = project / "analysis.ipynb"
    nbformat.write(nb, path)
    engine = Engine(tmp_path / "root")
    lock = engine.notebooks.lock(path)
    warnings = []
    image = engine.notebooks.image(path, "analysis:1", on_event=lambda e: warnings.append(e)
                                   if e["type"] == "warning" else None)
    return engine, path, lock, image, warnings


def test_the_image_holds_the_notebook_its_files_and_its_lock(shipped):
    engine, path, lock, image, warnings = shipped
    labels = image.config["config"]["Labels"]
    assert labels[ship.LABEL] == "analysis.ipynb"
    assert json.loads(labels[ship.LOCK_LABEL]) == lock
    assert image.config["config"]["WorkingDir"] == ship.WORKDIR
    env = engine.images.get("shipenv:1")
    assert [layer.chain_id for layer in image.layers[:-1]] == [l.chain_id for l in env.layers]
    top = {e["path"] for e in engine.images.layer_contents("analysis:1", len(image.layers) - 1)}
    assert top == {"/notebook", "/notebook/analysis.ipynb", "/notebook/data",
                   "/notebook/data/input.csv"}
    assert "has no JupyterLab" in warnings[0]["text"]      # busybox: no Jupyter to start


def test_jupyter_needs_a_python_environment(shipped):
    engine, path, _, _, _ = shipped
    with pytest.raises(InvalidArgument, match="--jupyter: shipenv:1 has no python3"):
        engine.notebooks.image(path, "withlab:1", jupyter=True)
    assert not [i for i in engine.images.list() if "withlab:1" in " ".join(i.tags)]
    assert os.listdir(engine.root / "buildcache" / "tmp") == []


def test_pull_takes_the_notebook_and_lock_back_out(shipped, tmp_path):
    engine, path, lock, image, _ = shipped
    written = engine.notebooks.pull("analysis:1", tmp_path / "copy")
    assert written == [tmp_path / "copy" / "analysis.ipynb"]
    assert written[0].read_bytes() == path.read_bytes()
    with pytest.raises(Conflict, match="analysis.ipynb exists"):
        engine.notebooks.pull("analysis:1", tmp_path / "copy")
    with pytest.raises(InvalidArgument, match="holds no notebook"):
        engine.notebooks.pull("busybox", tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_cli_exit_codes_of_image_and_pull(shipped, tmp_path):
    engine, path, _, _, _ = shipped

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root",
                               str(engine.root), "notebook", *args], capture_output=True, text=True)
    made = cli("image", "-q", str(path), "-t", "again:1")
    assert made.returncode == 0 and made.stdout.strip() == engine.images.get("again:1").id
    assert made.stderr.startswith("Warning: shipenv:1 has no JupyterLab")
    unlocked = path.with_name("unlocked.ipynb")
    unlocked.write_text(path.read_text().replace('"dockyard": {', '"other": {'))
    failed = cli("image", "-q", str(unlocked), "-t", "nolock:1")
    assert failed.returncode == 1 and "has no lock: run `dockyard notebook lock" in failed.stderr
    assert cli("pull", "again:1", str(tmp_path / "out")).returncode == 0
    conflict = cli("pull", "again:1", str(tmp_path / "out"))
    assert conflict.returncode == 1 and conflict.stderr.count("\n") == 1
    nolock = cli("diff", str(path), str(unlocked))
    assert nolock.returncode == 1 and "unlocked.ipynb has no lock" in nolock.stderr


def podman(work, *args, check=True):
    env = dict(os.environ, CONTAINERS_CONF=str(work / "containers.conf"))
    base = ["podman", "--root", str(work / "root"), "--runroot", str(work / "run"),
            "--storage-driver", "overlay"]
    done = subprocess.run([*base, *args], capture_output=True, text=True, env=env)
    assert not check or done.returncode == 0, f"podman {args[0]}: {done.stderr}"
    return done


@pytest.mark.skipif(not shutil.which("podman"), reason="needs podman (apt-get install podman)")
def test_podman_runs_the_shipped_notebook(shipped, tmp_path):
    engine, path, lock, image, _ = shipped
    engine.images.save(["analysis:1"], tmp_path / "analysis.tar")
    work = Path(tempfile.mkdtemp(prefix="dy-pod-"))     # podman wants a runroot under 50 bytes
    (work / "containers.conf").write_text(
        f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'events_logfile_path = "{work}/events.log"\nruntime = "runc"\n'
        f'tmp_dir = "{work}/tmp"\nvolume_path = "{work}/volumes"\n'
        f'[network]\nnetwork_config_dir = "{work}/networks"\n')
    try:
        podman(work, "load", "-q", "-i", str(tmp_path / "analysis.tar"))
        labels = json.loads(podman(work, "image", "inspect", "analysis:1").stdout)[0]["Labels"]
        assert json.loads(labels[ship.LOCK_LABEL]) == lock
        # Podman asks for big rlimits by default; without CAP_SYS_RESOURCE only lower ones work.
        done = podman(work, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                      "--ulimit", "nproc=1024:1024", "--cgroup-parent", f"/{CGROUP_PARENT}",
                      "analysis:1", "cat", "analysis.ipynb", "data/input.csv")
        assert done.stdout == path.read_text() + "a,b\n1,2\n"
    finally:
        podman(work, "rm", "-af", "-t", "0", check=False)
        podman(work, "system", "reset", "-f", check=False)
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f if line.split()[1].startswith(f"{work}/")]
        for target in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)
        if os.path.isdir(f"/sys/fs/cgroup/{CGROUP_PARENT}"):
            os.rmdir(f"/sys/fs/cgroup/{CGROUP_PARENT}")
        shutil.rmtree(work, ignore_errors=True)
