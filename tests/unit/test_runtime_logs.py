"""Reading the json-file log across the files the monitor's rotation leaves, and following it
through a rotation, as the monitor rotates (shim_log.c): rename container.log -> .1 -> .2 ...
and start a new file, or empty it with max-file 1."""
import json
import os

from dockyard.engine.runtime import logs


def line(text: str) -> bytes:
    return json.dumps({"log": text + "\n", "stream": "stdout",
                       "time": "2026-01-01T00:00:00.000000000Z"}).encode() + b"\n"


def write(path, *texts):
    with open(path, "ab") as f:
        f.write(b"".join(line(t) for t in texts))


def texts(entries):
    return [e.data.decode().strip() for e in entries]


def test_rotated_files_are_read_oldest_first(tmp_path):
    write(tmp_path / "container.log.2", "a", "b")
    write(tmp_path / "container.log.1", "c")
    write(tmp_path / "container.log", "d", "e")
    (tmp_path / "container.log.x").write_text("not a rotated log")
    assert texts(logs.read(str(tmp_path))) == ["a", "b", "c", "d", "e"]
    assert texts(logs.read(str(tmp_path), tail=4)) == ["b", "c", "d", "e"]
    assert [os.path.basename(p) for p in logs.log_files(str(tmp_path))] == [
        "container.log.2", "container.log.1", "container.log"]


def rotate(bundle, max_file):
    base = os.path.join(bundle, "container.log")
    for i in range(max_file - 1, 0, -1):
        src = base if i == 1 else f"{base}.{i - 1}"
        if os.path.exists(src):
            os.rename(src, f"{base}.{i}")
    open(base, "wb").close()


def test_follow_goes_on_through_rotations(tmp_path):
    bundle = str(tmp_path)
    write(tmp_path / "container.log", "0")
    steps = iter(range(1, 9))
    done = []

    def writer_runs(_seconds):          # the "monitor": a line, and every third line a rotation
        n = next(steps, None)
        if n is None:
            done.append(True)
            return
        if n % 3 == 0:
            rotate(bundle, max_file=2)
        write(tmp_path / "container.log", str(n))
    seen = texts(logs.read(bundle, follow=True, running=lambda: not done, pause=writer_runs))
    assert seen == [str(i) for i in range(9)]
    assert sorted(os.listdir(bundle)) == ["container.log", "container.log.1"]


def test_follow_goes_on_when_the_only_file_is_emptied(tmp_path):
    bundle = str(tmp_path)
    write(tmp_path / "container.log", "0", "1")
    steps = iter(["truncate", "2", "3"])
    done = []

    def writer_runs(_seconds):
        step = next(steps, None)
        if step is None:
            done.append(True)
        elif step == "truncate":        # max-file 1: the file is emptied where it is
            os.truncate(tmp_path / "container.log", 0)
        else:
            write(tmp_path / "container.log", step)
    seen = texts(logs.read(bundle, follow=True, running=lambda: not done, pause=writer_runs))
    assert seen == ["0", "1", "2", "3"]


def test_follow_loses_nothing_when_several_rotations_come_between_two_reads(tmp_path):
    bundle = str(tmp_path)
    write(tmp_path / "container.log", "0")
    batches = iter([["1", "rotate", "2", "rotate", "3"], ["rotate", "4", "rotate", "rotate", "5"]])
    done = []

    def writer_runs(_seconds):
        batch = next(batches, None)
        if batch is None:
            done.append(True)
        for step in batch or ():
            if step == "rotate":
                rotate(bundle, max_file=5)
            else:
                write(tmp_path / "container.log", step)
    seen = texts(logs.read(bundle, follow=True, running=lambda: not done, pause=writer_runs))
    assert seen == ["0", "1", "2", "3", "4", "5"]


def test_a_follower_raced_by_a_rotation_looks_again_and_one_dropped_goes_on(tmp_path):
    """A file still in the folder but not seen where the listing said (the monitor's shift of
    .1 -> .2 ran between two stats) is no reason to start over from the oldest file; a file
    max-file dropped (unlinked) is."""
    (tmp_path / "container.log.2").write_bytes(b"oldest\n")
    (tmp_path / "container.log").write_bytes(b"newest\n")
    moving = tmp_path / "container.log.moving"        # where no listing looks for it
    moving.write_bytes(b"mine\n")
    with open(moving, "rb") as f:
        assert logs._next_file(f, str(tmp_path)) is None
        moving.unlink()
        following = logs._next_file(f, str(tmp_path))
        assert following.read() == b"oldest\n"
        following.close()
