"""The Debian bootstrap's plan: host sources, the epoch, mmdebstrap's command, config and tags."""
import pytest

from dockyard.engine.errors import HostError, InvalidArgument
from dockyard.engine.image import debian

INDEXTARGETS = """\
MetaKey: main/binary-amd64/Packages
Release: bookworm
Repo-URI: http://mirror.example/debian/
Component: main
Architecture: amd64
Target-Of: deb
Filename: {lists}/mirror.example_debian_dists_bookworm_main_binary-amd64_Packages.lz4

MetaKey: contrib/binary-amd64/Packages
Release: bookworm
Repo-URI: http://mirror.example/debian/
Component: contrib
Architecture: amd64
Target-Of: deb
Filename: {lists}/mirror.example_debian_dists_bookworm_contrib_binary-amd64_Packages.lz4

MetaKey: main/binary-amd64/Packages
Release: bookworm-security
Repo-URI: http://mirror.example/debian-security/
Component: main
Architecture: amd64
Target-Of: deb
Filename: {lists}/mirror.example_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4

MetaKey: main/binary-i386/Packages
Release: bookworm
Repo-URI: http://mirror.example/debian/
Component: main
Architecture: i386
Target-Of: deb
Filename: {lists}/x

MetaKey: main/binary-amd64/Packages
Release: trixie
Repo-URI: http://mirror.example/debian/
Component: main
Architecture: amd64
Target-Of: deb
Filename: {lists}/y

MetaKey: nodistro/binary-amd64/Packages
Release: nodistro
Repo-URI: https://third.party/node/
Component: main
Architecture: amd64
Target-Of: deb
Filename: {lists}/z
"""

SIGNED = """-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: Debian
Suite: stable
Date: {date}
SHA256:
 abc 1 main/Packages
-----BEGIN PGP SIGNATURE-----
"""


def targets(tmp_path):
    return debian.select_targets(INDEXTARGETS.format(lists=tmp_path), "bookworm", "amd64")


def test_only_the_suite_its_companions_and_this_architecture(tmp_path):
    found = targets(tmp_path)
    assert {(t["Release"], t["Component"]) for t in found} == {
        ("bookworm", "main"), ("bookworm", "contrib"), ("bookworm-security", "main")}
    assert debian.sources_lines(found) == (
        "deb http://mirror.example/debian-security/ bookworm-security main",
        "deb http://mirror.example/debian/ bookworm contrib main")


def test_epoch_is_the_newest_release_date_of_the_host_lists(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (tmp_path / "mirror.example_debian_dists_bookworm_InRelease").write_text(
        SIGNED.format(date="Sat, 10 Jun 2023 09:00:00 UTC"))
    (tmp_path / "mirror.example_debian-security_dists_bookworm-security_Release").write_text(
        "Origin: Debian\nDate: Sun, 11 Jun 2023 10:00:00 UTC\n")
    assert debian.epoch_for(targets(tmp_path)) == 1686477600
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert debian.epoch_for(targets(tmp_path)) == 1700000000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InvalidArgument, match="SOURCE_DATE_EPOCH"):
        debian.epoch_for(targets(tmp_path))


def test_no_package_lists_and_no_epoch_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    with pytest.raises(HostError, match="apt-get update"):
        debian.epoch_for(targets(tmp_path))


def plan(kind="python", include=("curl",), variant="minbase"):
    packages = set(include) | (set(debian.PYTHON_PACKAGES) if kind == "python" else set())
    return debian.Plan(kind, "bookworm", tuple(sorted(packages)), variant,
                       ("deb http://mirror.example/debian/ bookworm main",), 1700000000)


def test_the_command_takes_its_sources_from_the_plan_and_writes_a_tar_to_stdout():
    argv = debian.mmdebstrap_argv(plan(), "/tmp/packages list")
    assert argv[0] == "mmdebstrap" and "--variant=minbase" in argv
    assert argv[-3:] == ["bookworm", "-", "deb http://mirror.example/debian/ bookworm main"]
    assert "--include=curl,python3,python3-ipykernel,python3-pip,python3-venv" in argv
    hooks = [a for a in argv if a.startswith("--customize-hook=")]
    assert any("EXTERNALLY-MANAGED" in h for h in hooks)
    assert any("dpkg-query" in h and "'/tmp/packages list'" in h for h in hooks)
    assert not any("EXTERNALLY-MANAGED" in a for a in debian.mmdebstrap_argv(
        plan("debian"), "/tmp/p"))
    extract = debian.mmdebstrap_argv(plan("debian", variant="extract"), "/tmp/p")
    assert any(a.startswith("--extract-hook=") and "dpkg-deb" in a for a in extract)


def test_the_key_changes_with_every_input():
    base = plan()
    assert base.key == plan().key
    assert base.key != plan(include=("wget",)).key
    assert base.key != plan(variant="extract").key


def test_config_labels_and_tags():
    packages = ["base-files=12.4+deb12u5", "python3=3.11.2-1+b1"]
    config = debian.image_config(plan(), packages)
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert config["config"]["Cmd"] == ["python3"]
    assert "LANG=C.UTF-8" in config["config"]["Env"]
    labels = config["config"]["Labels"]
    assert labels["org.dockyard.bootstrap.suite"] == "bookworm"
    assert labels["org.dockyard.bootstrap.packages"] == "base-files=12.4+deb12u5 python3=3.11.2-1+b1"
    assert debian.default_tags(plan(), packages) == [
        "python:3.11", "python:3.11-bookworm", "python:latest"]
    assert debian.default_tags(plan("debian"), packages) == ["debian:bookworm", "debian:latest"]
    assert debian.image_config(plan("debian"), packages)["config"]["Cmd"] == ["bash"]


@pytest.mark.parametrize("kind, suite, include, message", [
    ("ubuntu", "bookworm", (), "known are busybox, debian, python"),
    ("debian", "Bookworm!", (), "--suite 'Bookworm!'"),
    ("debian", "bookworm", ("curl; rm -rf /",), "not a Debian package name"),
])
def test_bad_names_are_refused_before_anything_runs(kind, suite, include, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        debian.plan(kind, suite, include)


def test_an_unknown_package_names_the_flag():
    err = debian._failure(plan(), ["E: Unable to locate package nosuch"], 1)
    assert isinstance(err, InvalidArgument)
    assert str(err) == "--include nosuch: no such package in bookworm"
    assert isinstance(debian._failure(plan(), ["E: apt-get update failed"], 1), HostError)
