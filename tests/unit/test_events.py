"""The event log: Docker-shaped lines appended by any process, read back past and live,
rotated when large, filtered as `docker events --filter` does."""
import json
import threading
import time

from dockyard.engine import events


def test_record_and_read_back_in_order(tmp_path):
    first = events.record(tmp_path, "container", "start", "c1", {"name": "web", "image": "bb"})
    time.sleep(0.01)
    events.record(tmp_path, "image", "tag", "sha256:1", {"name": "bb:1"})
    assert first["status"] == "start" and first["from"] == "bb" and first["scope"] == "local"
    got = list(events.read(tmp_path))
    assert [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in got] == \
        [("container", "start", "c1"), ("image", "tag", "sha256:1")]
    assert got[0]["timeNano"] // 10**9 == got[0]["time"]
    assert list(events.read(tmp_path, since=time.time() + 1)) == []
    assert len(list(events.read(tmp_path, until=first["timeNano"] / 1e9 + 0.005))) == 1


def test_rotation_keeps_one_old_generation_and_readers_see_everything(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "MAX_BYTES", 2000)
    for n in range(30):
        events.record(tmp_path, "volume", "create", f"v{n}")
    assert (tmp_path / events.OLD).stat().st_size <= 2000 + 200
    assert not (tmp_path / events.LOG).exists() or (tmp_path / events.LOG).stat().st_size <= 2000
    ids = [e["Actor"]["ID"] for e in events.read(tmp_path)]
    assert ids == sorted(ids, key=lambda i: int(i[1:])) and ids[-1] == "v29"


def test_a_follower_sees_events_of_later_writers_across_a_rotation(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "MAX_BYTES", 600)
    seen = []

    def follow():
        for event in events.read(tmp_path, follow=True, poll=0.01, until=time.time() + 10):
            seen.append(event["Actor"]["ID"])
            if event["Actor"]["ID"] == "last":
                return
    reader = threading.Thread(target=follow)
    reader.start()
    time.sleep(0.05)
    for n in range(5):
        events.record(tmp_path, "volume", "create", f"v{n}")
        time.sleep(0.03)
    events.record(tmp_path, "volume", "create", "last")
    reader.join(10)
    assert seen == ["v0", "v1", "v2", "v3", "v4", "last"]


def test_a_torn_line_is_skipped_and_recording_never_raises(tmp_path):
    (tmp_path / events.LOG).write_bytes(b'{"Type": "contai\n')
    events.record(tmp_path, "volume", "create", "v")
    assert [e["Actor"]["ID"] for e in events.read(tmp_path)] == ["v"]
    assert events.record(tmp_path / "missing" / "dir", "volume", "create", "x")["Action"] == "create"


def test_filters_as_docker_documents_them(tmp_path):
    start = events.record(tmp_path, "container", "start", "abc123",
                          {"name": "web", "image": "busybox", "tier": "front"})
    exec_ = events.record(tmp_path, "container", "exec_start: sh", "abc123", {"name": "web"})
    tag = events.record(tmp_path, "image", "tag", "sha256:9", {"name": "busybox:1"})
    net = events.record(tmp_path, "network", "connect", "n1", {"name": "backend"})
    cases = [({"container": ["web"]}, [start, exec_]), ({"container": ["abc"]}, [start, exec_]),
             ({"event": ["exec_start"]}, [exec_]), ({"type": ["image", "network"]}, [tag, net]),
             ({"image": ["busybox"]}, [start]), ({"image": ["busybox:1"]}, [tag]),
             ({"label": ["tier=front"]}, [start]), ({"label": ["tier"]}, [start]),
             ({"network": ["backend"]}, [net]),
             ({"type": ["container"], "event": ["start"]}, [start])]
    for filters, wanted in cases:
        assert [e for e in (start, exec_, tag, net) if events.matches(e, filters)] == wanted, \
            filters
    assert json.loads(json.dumps(start)) == start
