"""`dockyard system check [--repair]` on a data root damaged in the ways crashes and disks do."""
import os
import signal
import subprocess
import sys
import time

from dockyard.engine import Engine

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]


def check(root, *flags):
    return subprocess.run([*DOCKYARD, "--data-root", str(root), "system", "check", *flags],
                          capture_output=True, text=True, timeout=120)


def test_check_reports_damage_and_repair_fixes_what_is_safe(tmp_path):
    root = tmp_path / "root"
    engine = Engine(root)
    image = engine.images.bootstrap("busybox")
    clean = check(root)
    assert clean.returncode == 0 and clean.stdout.strip().endswith(": ok"), clean.stdout

    c = engine.containers.run("busybox", ["sleep", "60"], detach=True, network="none")
    os.kill(c.state.monitor, signal.SIGKILL)                              # its monitor dies
    time.sleep(0.1)
    unused = engine.store.blobs.put(b"nobody needs this")
    engine.store.blobs.path(unused).write_bytes(b"bit rot")               # a corrupt blob
    (root / "blobs" / "sha256" / ".tmp-interrupted").write_bytes(b"x" * 100)   # a killed pull
    (root / "snapshots" / ".tmp-interrupted").mkdir()
    os.unlink(root / "snapshots" / "l" / image.layers[0].link)             # a lost link
    (root / "names").mkdir(exist_ok=True)
    os.symlink("f" * 64, root / "names" / "ghost")                        # a name of nothing
    os.symlink(c.id, root / "names" / "renamed-half")                     # a rename cut short
    (root / "containers" / ("e" * 64)).mkdir(parents=True)                # a create cut short

    found = check(root)
    assert found.returncode == 1
    for words in ("blob " + unused, ".tmp-interrupted", "l/" + image.layers[0].link,
                  "name ghost", "e" * 12, f"container {c.short_id}: its monitor died",
                  "name renamed-half"):
        assert words in found.stdout, (words, found.stdout)
    assert "problem(s) left (--repair fixes what is safe to fix)" in found.stdout

    repaired = check(root, "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert "problem:" not in repaired.stdout
    assert not (root / "names" / "renamed-half").is_symlink()
    assert (root / "names" / c.name).is_symlink()
    again = check(root)
    assert again.returncode == 0 and again.stdout.strip().endswith(": ok"), again.stdout
    assert subprocess.run(["pgrep", "-f", str(root)], capture_output=True).stdout == b""
    assert not [p for p in os.listdir("/sys/fs/cgroup")
                if os.path.exists(f"/sys/fs/cgroup/{p}/dockyard/{c.id}")]
    assert engine.containers.run("busybox", ["true"], remove=True, network="none") == b""
    c.remove()


def test_a_corrupt_blob_an_image_needs_is_reported_not_hidden(tmp_path):
    root = tmp_path / "root"
    engine = Engine(root)
    image = engine.images.bootstrap("busybox")
    config = engine.store.blobs.path(image.id)
    config.write_bytes(config.read_bytes()[:-10])
    done = check(root, "--repair")
    assert done.returncode == 1
    assert "pull or build it again" in done.stdout and "1 problem(s) left" in done.stdout


def test_a_corrupt_compressed_layer_is_a_cache_made_again(tmp_path):
    """A layer's gzip blob is made from its snapshot (the truth): a corrupt one is deleted by
    --repair and the next push makes it again."""
    root = tmp_path / "root"
    engine = Engine(root)
    image = engine.images.bootstrap("busybox")
    made = engine.store.compressed_layer(image.layers[0], "gzip")
    blob = engine.store.blobs.path(made["digest"])
    blob.write_bytes(blob.read_bytes()[:-10])
    done = check(root, "--repair")
    assert done.returncode == 0, done.stdout
    assert "corrupt and unused: deleted" in done.stdout
    assert engine.store.compressed_layer(image.layers[0], "gzip") == made
    assert check(root).returncode == 0
