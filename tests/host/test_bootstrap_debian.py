"""Debian images made with the real mmdebstrap from the host's apt sources.

mmdebstrap's `extract` variant (unpack, no install) keeps these tests to seconds; the full
python image is made once per package set by the session fixture in tests/conftest.py.
"""
import subprocess
import sys

import pytest

from dockyard.engine import Engine
from dockyard.engine.image import debian

EPOCH = "1700000000"


@pytest.fixture(autouse=True)
def fixed_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def tiny(engine, **kw):
    events = []
    image = debian.bootstrap(engine.store, "debian", include=["hello"], variant="extract",
                             tag="tiny:1", on_event=events.append, **kw)
    return image, events


def test_two_bootstraps_of_one_package_set_give_one_image_id_and_the_cache_one_run(tmp_path):
    cache = tmp_path / "cache"
    first, events = tiny(Engine(tmp_path / "a"), cache_dir=cache)     # mmdebstrap, cached
    again, _ = tiny(Engine(tmp_path / "b"))                            # mmdebstrap again
    assert first.id == again.id
    config = Engine(tmp_path / "a").images.inspect("tiny:1")
    labels = config["Config"]["Labels"]
    assert labels["org.dockyard.bootstrap.suite"] == "bookworm"
    assert any(p.startswith("hello=2.10") for p in labels["org.dockyard.bootstrap.packages"].split())
    assert config["Created"].startswith("2023-11-14T22:13:20")
    steps = [e["text"] for e in events if e["type"] == "bootstrap-step"]
    assert any("apt-get update" in s for s in steps)

    third, events = tiny(Engine(tmp_path / "c"), cache_dir=cache)     # from the cache
    assert third.id == first.id
    assert not any("apt-get update" in e.get("text", "") for e in events)
    assert any("cached root filesystem" in e.get("text", "") for e in events)
    # the same store and tag: nothing is made at all
    fourth, events = tiny(Engine(tmp_path / "c"), cache_dir=cache)
    assert fourth.id == first.id and events[-1] == {"type": "bootstrap-done",
                                                    "image": first.id, "cached": True}


def test_an_unknown_package_is_one_line_at_once_and_leaves_no_image(tmp_path):
    cli = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(tmp_path / "r"),
           "image", "bootstrap", "debian", "--include", "hello,no-such-pkg-dockyard"]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 1          # Docker's CLI: 1 for verbs other than run/create
    assert Engine(tmp_path / "r").images.list() == []
    # the host's package lists answer: mmdebstrap (a minute of apt-get update) never starts
    assert done.stderr == "Error: --include no-such-pkg-dockyard: no such package in bookworm\n"


def test_the_host_lists_know_real_and_virtual_packages_and_without_lists_nothing_is_sure():
    targets = debian.host_targets("bookworm")
    assert debian.unknown_packages(["hello", "mail-transport-agent", "no-such-pkg-dockyard"],
                                   targets) == ["no-such-pkg-dockyard"]
    gone = [dict(t, Filename=t["Filename"] + ".gone") for t in targets]
    assert debian.unknown_packages(["no-such-pkg-dockyard"], gone) == []
