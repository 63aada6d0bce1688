"""`dockyard images`: --filter, --format, -q and REPOSITORY[:TAG] as Docker applies them, one
command line per row, on a real image store."""
import json

import pytest

from dockyard.engine.cli import main as cli
from dockyard.engine.image.store import ImageStore
from dockyard.engine.units import human_size


@pytest.fixture
def images(data_root, tmp_path):
    """old (app:1, app:2), mid (other:latest, label team=infra), new (untagged)."""
    store = ImageStore(data_root)
    root = tmp_path / "layer"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "sh").write_bytes(b"sh")
    layer = store.add_layer_from_dir(root, None, epoch=0)

    def make(day, tags, labels=None, cmd="sh"):
        config = {"created": f"2024-01-0{day}T00:00:00Z",
                  "config": {"Cmd": [cmd], **({"Labels": labels} if labels else {})}}
        return store.create_image(config, [layer], tags=tags)
    return {"old": make(1, ["app:1", "app:2"]),
            "mid": make(2, ["other"], labels={"team": "infra"}, cmd="mid"),
            "new": make(3, [], cmd="new")}


def dockyard(data_root, capsys, *argv):
    rc = cli.main(["--data-root", str(data_root), "images", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


FORMAT = ["--format", "{{.Repository}}:{{.Tag}}"]


@pytest.mark.parametrize("argv, shown", [
    ([], ["<none>:<none>", "other:latest", "app:1", "app:2"]),          # newest first
    (["app"], ["app:1", "app:2"]),                                       # REPOSITORY
    (["app:2"], ["app:2"]),                                              # REPOSITORY:TAG
    (["--filter", "reference=app:*"], ["app:1", "app:2"]),              # a path glob
    (["--filter", "reference=*:latest"], ["other:latest"]),
    (["--filter", "reference=app:1", "--filter", "reference=other"], ["other:latest", "app:1"]),
    (["--filter", "dangling=true"], ["<none>:<none>"]),
    (["--filter", "dangling=false"], ["other:latest", "app:1", "app:2"]),
    (["--filter", "label=team"], ["other:latest"]),
    (["--filter", "label=team=nope"], []),
    (["--filter", "before=other"], ["app:1", "app:2"]),
    (["--filter", "since=app:1"], ["<none>:<none>", "other:latest"]),
    (["--filter", "since=app:1", "--filter", "dangling=false"], ["other:latest"]),
    (["--filter", "until=2024-01-02T12:00:00Z"], ["other:latest", "app:1", "app:2"]),
    (["nosuchrepo"], []),
])
def test_images_filters(images, data_root, capsys, argv, shown):
    rc, out, err = dockyard(data_root, capsys, *argv, *FORMAT)
    assert (rc, err) == (0, "")
    assert out.splitlines() == shown


def test_quiet_prints_the_ids_of_the_rows_shown(images, data_root, capsys):
    old = images["old"].short_id
    assert dockyard(data_root, capsys, "-q", "app")[1] == f"{old}\n{old}\n"   # a row per tag
    assert dockyard(data_root, capsys, "-q", "nosuchrepo")[1] == ""
    full = dockyard(data_root, capsys, "-q", "--no-trunc", "other")[1]
    assert full == images["mid"].id + "\n"


def test_default_table_and_json(images, data_root, capsys):
    rc, out, _ = dockyard(data_root, capsys, "other")
    header, row = out.splitlines()
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert header.index("TAG") == len("REPOSITORY   ")                # Go's tabwriter: +3
    assert row.split()[:3] == ["other", "latest", images["mid"].short_id]
    assert row.split()[-1] == human_size(images["mid"].size)          # 3 digits, decimal
    rc, out, _ = dockyard(data_root, capsys, "--format", "json", "other")
    entry = json.loads(out)
    assert sorted(entry) == ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID",
                             "Repository", "SharedSize", "Size", "Tag", "UniqueSize",
                             "VirtualSize"]
    assert (entry["Repository"], entry["Tag"], entry["Containers"]) == ("other", "latest", "N/A")
    assert entry["CreatedAt"].startswith("2024-01-02 ")
    rc, out, _ = dockyard(data_root, capsys, "--format", "table {{.Repository}}\t{{.Size}}",
                          "app")
    size = human_size(images["old"].size)
    assert out == f"REPOSITORY   SIZE\napp          {size}\napp          {size}\n"


@pytest.mark.parametrize("argv, error", [
    (["--filter", "bogus=1"], "Error: invalid filter 'bogus'\n"),
    (["--filter", "dangling=maybe"], "Error: invalid filter 'dangling=maybe'\n"),
    (["--filter", "dangling"], "Error: bad format of filter (expected name=value): dangling\n"),
    (["--format", "{{.Nope}}"], 'Error: template parsing error: template: :1:2: executing "" '
                                'at <.Nope>: can\'t evaluate field Nope in type '
                                '*formatter.imageContext\n'),
])
def test_images_refuses_bad_filters_and_formats(images, data_root, capsys, argv, error):
    rc, out, err = dockyard(data_root, capsys, *argv)
    assert rc != 0 and (out, err) == ("", error)
