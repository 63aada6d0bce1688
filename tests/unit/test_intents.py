"""Intents: a record per operation in progress, owned by pid + start time."""
import os
import subprocess

from dockyard.engine import intents


def dead_owner() -> tuple[int, str]:
    """The pid and start time of a process that has exited."""
    proc = subprocess.Popen(["sleep", "0"])
    start = intents.start_time(proc.pid)
    proc.wait()
    return proc.pid, start


def test_held_records_the_operation_and_ends_with_it(tmp_path):
    with intents.held(tmp_path, "abc", "create", volumes=["v"]) as intent:
        [found] = intents.listing(tmp_path)
        assert found.key == "abc" and found.alive and found.pid == os.getpid()
        assert intents.read(found).data == {"op": "create", "volumes": ["v"]}
        intent.note(more=1)
        assert intents.read(found).data["more"] == 1
        assert intents.live_keys(tmp_path) == {"abc"} and intents.abandoned(tmp_path) == []
    assert intents.listing(tmp_path) == []


def test_an_error_ends_the_intent_too(tmp_path):
    try:
        with intents.held(tmp_path, "abc", "remove"):
            raise RuntimeError("undone by its own error path")
    except RuntimeError:
        pass
    assert intents.listing(tmp_path) == []


def test_a_dead_owner_makes_it_abandoned_and_a_reused_pid_does_not_revive_it(tmp_path):
    pid, start = dead_owner()
    folder = intents.directory(tmp_path)
    folder.mkdir()
    (folder / f"cid.{pid}.{start}").write_text('{"op": "create"}')
    # our own pid with another start time: what a reused pid looks like
    (folder / f"other.{os.getpid()}.1").write_text('{"op": "start"}')
    assert sorted(i.key for i in intents.abandoned(tmp_path)) == ["cid", "other"]
    assert intents.live_keys(tmp_path) == set()


def test_claim_takes_it_over_once(tmp_path):
    pid, start = dead_owner()
    folder = intents.directory(tmp_path)
    folder.mkdir()
    (folder / f"cid.{pid}.{start}").write_text("{\"op\": \"cre")    # torn by the kill
    [stale] = intents.abandoned(tmp_path)
    assert stale.data == {}
    mine = intents.claim(stale)
    assert mine.alive and intents.live_keys(tmp_path) == {"cid"}
    assert intents.claim(stale) is None                              # taken already
    mine.end()
    assert intents.listing(tmp_path) == []


def test_start_time_reads_past_a_command_name_with_spaces_and_parens(tmp_path):
    odd = tmp_path / "a b) c"
    odd.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(odd), "5"])
    try:
        with open(f"/proc/{proc.pid}/stat") as f:
            expected = f.read().rsplit(")", 1)[1].split()[19]
        assert intents.start_time(proc.pid) == expected
    finally:
        proc.kill()
        proc.wait()
