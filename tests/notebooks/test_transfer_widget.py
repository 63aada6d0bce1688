"""`%image pull` and `%image push` as a live table of layers: fed by hand, then through a real
kernel against a real docker-registry."""
import re

from registry_server import Registry

from dockyard.extension.transfer_widget import TransferProgress

from .conftest import outputs, run_cells

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def rows(progress) -> list[str]:
    found = re.findall(r"<tr>(.*?)</tr>", progress.static_html().partition("<tbody>")[2])
    return [" ".join(re.sub(r"<[^>]+>", " ", cells).split()) for cells in found]


def test_a_pull_shows_each_layer_and_ends_done():
    progress = TransferProgress("pull", "127.0.0.1:5000/app:1", flush_seconds=0)
    for event in [{"type": "layer", "digest": A, "status": "exists"},
                  {"type": "layer", "digest": B, "status": "downloading", "current": 0,
                   "size": 2_000_000},
                  {"type": "layer", "digest": B, "status": "downloading", "current": 500_000,
                   "size": 2_000_000}]:
        progress.on_event(event)
    assert rows(progress) == ["aaaaaaaaaaaa Already exists",
                              "bbbbbbbbbbbb Downloading 500.0 kB / 2.0 MB"]
    assert "width:25%" in progress.value and progress.summary().startswith("Pulling ")
    progress.on_event({"type": "layer", "digest": B, "status": "done", "size": 2_000_000})
    progress.on_event({"type": "pulled", "status": "downloaded newer image", "digest": "sha256:m"})
    progress.finish()
    assert progress.status == "done" and progress.digest == "sha256:m"
    assert rows(progress)[1] == "bbbbbbbbbbbb Pull complete 2.0 MB / 2.0 MB"
    assert progress.summary() == "Pulled 127.0.0.1:5000/app:1 (2 layers)"
    assert "Digest: sha256:m" in progress.value


def test_a_failed_push_says_why_and_no_layer_stays_pushing():
    progress = TransferProgress("push", "reg/app:1", flush_seconds=3600)
    progress.on_event({"type": "layer", "digest": A, "status": "preparing"})
    progress.on_event({"type": "layer", "digest": A, "status": "uploading", "current": 10,
                       "size": 100})
    assert "Preparing" in progress.value         # byte counts wait for the next redraw
    progress.finish("registry reg: connection refused")
    assert progress.status == "failed" and "connection refused" in progress.summary()
    assert rows(progress) == ["aaaaaaaaaaaa Stopped 10 B / 100 B"]


def test_pull_and_push_in_a_notebook(host_ready, dockyard_kernel, tmp_path):
    registry = Registry(tmp_path / "registry")
    ref = f"{registry.address}/widget/busybox:1"
    try:
        nb = run_cells(["%image bootstrap busybox", f"%image tag busybox {ref}",
                        f"%image push {ref}", f"%image rm {ref}", f"%image pull {ref}"],
                       tmp_path, env={"DOCKYARD_DATA_ROOT": str(tmp_path / "root")})
    finally:
        registry.stop()
    pushed, pulled = (outputs(nb.cells[n], "display_data")[-1].data for n in (2, 4))
    assert pushed["text/plain"] == f"Pushed {ref} (1 layers)"
    assert "Pushed" in pushed["text/html"] and "Digest: sha256:" in pushed["text/html"]
    assert pulled["text/plain"] == f"Pulled {ref} (1 layers)"
    assert "Already exists" in pulled["text/html"]     # busybox's layer is still in the store
    assert "application/vnd.jupyter.widget-view+json" in pulled
