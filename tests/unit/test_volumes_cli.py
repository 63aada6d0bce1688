"""`dockyard volume ...` output, on a store whose engine (its containers) is a fake."""
import io
import json

import pytest

from dockyard.engine.cli import main as cli
from dockyard.engine.cli import volume as volume_cli
from dockyard.engine.volumes import Volumes


class NoContainers:
    def __init__(self, used=()):
        self.containers, self.used = self, used

    def list(self, all=False):
        class C:
            record = {"Mounts": [{"Name": n} for n in self.used]}
        return [C()] if self.used else []


@pytest.fixture
def dockyard(data_root, monkeypatch, capsys):
    engine = NoContainers()
    monkeypatch.setattr(volume_cli, "_volumes", lambda args: Volumes(data_root, engine=engine))

    def run(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        rc = cli.main(["--data-root", str(data_root), "volume", *argv])
        out, err = capsys.readouterr()
        return rc, out, err
    run.engine = engine
    return run


def test_create_ls_inspect(dockyard, data_root):
    assert dockyard("create", "--label", "a=b", "data") == (0, "data\n", "")
    rc, anon, _ = dockyard("create")
    anon = anon.strip()
    assert rc == 0 and len(anon) == 64
    names = sorted([anon, "data"])      # listed by name; the anonymous name is random hex
    rc, out, _ = dockyard("ls")
    assert out == "DRIVER    VOLUME NAME\n" + "".join(f"local     {n}\n" for n in names)
    assert dockyard("ls", "-q")[1] == "".join(f"{n}\n" for n in names)
    assert dockyard("ls", "--format", "{{.Name}}:{{.Driver}}")[1] == "".join(
        f"{n}:local\n" for n in names)
    rc, out, _ = dockyard("inspect", "data")
    (info,) = json.loads(out)
    assert info["Labels"] == {"a": "b"} and info["Mountpoint"] == str(
        data_root / "volumes" / "data" / "_data") and out.startswith("[\n    {")
    rc, out, err = dockyard("inspect", "-f", "{{.Name}}", "data", "nope")
    assert (rc, out, err) == (1, "data\n", "Error: no such volume: nope\n")


def test_rm_and_prune(dockyard):
    for name in ("keep", "busy"):
        dockyard("create", name)
    anon = dockyard("create")[1].strip()
    dockyard.engine.used = ("busy",)
    rc, out, err = dockyard("rm", "busy", "nope", "keep")
    assert (rc, out) == (1, "keep\n")
    assert err == "Error: remove busy: volume is in use\nError: no such volume: nope\n"
    assert dockyard("rm", "-f", "nope") == (0, "nope\n", "")
    rc, out, _ = dockyard("prune", stdin="n\n")
    assert out.endswith("[y/N] ") and anon in dockyard("ls", "-q")[1]
    rc, out, _ = dockyard("prune", "-f")
    assert out == f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n"
    assert dockyard("prune", "-a", "-f")[1] == "Total reclaimed space: 0B\n"   # busy is in use
    assert dockyard("ls", "-q")[1] == "busy\n"


def test_errors_are_one_line(dockyard):
    rc, out, err = dockyard("create", "x/y")
    assert rc == 1 and err.startswith("Error: 'x/y' includes invalid characters") \
        and err.count("\n") == 1
    rc, _, err = dockyard("create", "--opt", "type=nfs", "v1")
    assert rc == 1 and "volume options are not supported" in err
    assert dockyard()[0] == 0      # the verbs, as `docker volume` shows them


@pytest.mark.parametrize("argv, out", [
    (["ls", "--filter", "dangling=true", "--format", "{{.Name}}"], "data\nlabelled\n"),
    (["ls", "--filter", "dangling=false", "--format", "{{.Name}}"], "busy\n"),
    (["ls", "--filter", "name=dat", "--format", "{{.Name}}"], "data\n"),      # a regex, unanchored
    (["ls", "--filter", "name=^l", "-q"], "labelled\n"),
    (["ls", "--filter", "label=team", "--format", "{{.Name}} {{.Label \"team\"}}"],
     "labelled infra\n"),
    (["ls", "--filter", "label=team=other", "-q"], ""),
    (["ls", "--filter", "driver=local", "--filter", "name=busy", "-q"], "busy\n"),
    (["ls", "--filter", "driver=nfs", "-q"], ""),
    (["ls", "--format", "table {{.Name}}\t{{.Scope}}\t{{.Labels}}", "--filter", "name=la"],
     "VOLUME NAME   SCOPE     LABELS\nlabelled      local     team=infra\n"),
    (["ls", "--format", "json", "--filter", "name=busy"],
     '{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"N/A",'
     '"Mountpoint":"MOUNT","Name":"busy","Scope":"local","Size":"N/A","Status":"N/A"}\n'),
])
def test_ls_filters_and_formats(dockyard, data_root, argv, out):
    for name in ("busy", "data"):
        dockyard("create", name)
    dockyard("create", "--label", "team=infra", "labelled")
    dockyard.engine.used = ("busy",)
    expected = out.replace("MOUNT", str(data_root / "volumes" / "busy" / "_data"))
    assert dockyard(*argv) == (0, expected, "")


@pytest.mark.parametrize("argv, err", [
    (["ls", "--filter", "size=1"], "Error: invalid filter 'size'\n"),
    (["ls", "--filter", "dangling=yes"], "Error: invalid filter 'dangling=yes'\n"),
    (["ls", "--format", "{{.Nope}}"], 'Error: template parsing error: template: :1:2: executing '
                                      '"" at <.Nope>: can\'t evaluate field Nope in type '
                                      '*formatter.volumeContext\n'),
])
def test_ls_refuses_bad_filters(dockyard, argv, err):
    dockyard("create", "data")
    rc, out, error = dockyard(*argv)
    assert rc != 0 and (out, error) == ("", err)
