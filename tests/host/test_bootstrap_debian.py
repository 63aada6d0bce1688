"""Debian images made with the real mmdebstrap from the host's apt sources.

mmdebstrap's `extract` variant (unpack, no install) keeps these tests to seconds; the full
python image is made once per package set by the session fixture in tests/conftest.py.
"""
import subprocess
import sys

import pytest

from dockyard.engine import Engine
from dockyard.engine.errors import InvalidArgument
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


def test_two_bootstraps_of_one_package_set_give_one_image_id(tmp_path):
    first, events = tiny(Engine(tmp_path / "a"))
    again, _ = tiny(Engine(tmp_path / "b"))
    assert first.id == again.id
    labels = Engine(tmp_path / "a").images.inspect("tiny:1")["Config"]["Labels"]
    assert labels["org.dockyard.bootstrap.suite"] == "bookworm"
    assert any(p.startswith("hello=2.10") for p in labels["org.dockyard.bootstrap.packages"].split())
    steps = [e["text"] for e in events if e["type"] == "bootstrap-step"]
    assert any("apt-get update" in s for s in steps)
    # /dev's nodes stay out of the layer; the runtime makes each container's /dev
    config = Engine(tmp_path / "a").images.inspect("tiny:1")
    assert config["Created"].startswith("2023-11-14T22:13:20")


def test_the_cache_makes_a_package_set_once(tmp_path):
    cache = tmp_path / "cache"
    first, _ = tiny(Engine(tmp_path / "a"), cache_dir=cache)
    again, events = tiny(Engine(tmp_path / "b"), cache_dir=cache)
    assert first.id == again.id
    assert not any("apt-get update" in e.get("text", "") for e in events)
    assert any("cached root filesystem" in e.get("text", "") for e in events)
    # the same store and tag: nothing is made at all
    third, events = tiny(Engine(tmp_path / "b"), cache_dir=cache)
    assert third.id == first.id and events[-1] == {"type": "bootstrap-done",
                                                   "image": first.id, "cached": True}


def test_an_unknown_package_is_one_line_and_leaves_no_image(tmp_path):
    engine = Engine(tmp_path / "root")
    with pytest.raises(InvalidArgument, match="--include no-such-pkg-dockyard: no such package"):
        debian.bootstrap(engine.store, "debian", include=["no-such-pkg-dockyard"],
                         variant="extract")
    assert engine.images.list() == []


def test_cli_reports_progress_and_one_line_errors(tmp_path):
    cli = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(tmp_path / "r"),
           "image", "bootstrap", "debian", "--include", "no-such-pkg-dockyard"]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 125
    assert "Bootstrapping debian (bookworm) with no-such-pkg-dockyard" in done.stderr
    assert "running apt-get update" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: --include no-such-pkg-dockyard: no such package in bookworm")
