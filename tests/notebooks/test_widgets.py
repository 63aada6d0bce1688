"""The widgets and reprs, fed plain fake objects: no engine, no root, no kernel."""
import threading
import time

from dockyard.extension import container_info, layers, reprs
from dockyard.extension.build_widget import BuildProgress
from dockyard.extension.container_widget import THREAD_PREFIX, ContainerView
from dockyard.extension.layers import LayerStack, Provenance, StepNote

from . import fakes


def watch_threads():
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


def test_layer_rows_pair_history_with_layers_and_skip_empty_steps():
    image = fakes.image(history=[{"created_by": "/bin/sh -c #(nop)  ADD file:x in /"},
                                 {"created_by": "ENV A=1", "empty_layer": True},
                                 {"created_by": "RUN make"}])
    rows = layers.layer_rows(image)
    assert [r.instruction for r in rows] == ["ADD file:x in /", "ENV A=1", "RUN make"]
    assert [r.size for r in rows] == [4_000_000, 0, 1_000_000]
    assert [r.empty for r in rows] == [False, True, False]


def test_layer_stack_draws_newest_on_top_to_scale_with_provenance():
    image = fakes.image(labels={"team": "ml"})
    prov = Provenance()
    prov.record(image.id, [StepNote("RUN step 1", cell=7, cached=True)])
    stack = LayerStack(image, prov)
    assert (stack.layer_count, stack.total_size) == (2, 5_000_000)
    html = stack.children[0].value
    assert html.index("RUN step 1") < html.index("RUN step 0")       # newest first, i.e. on top
    assert "width:100.0%" in html and "width:25.0%" in html          # 4 MB and 1 MB, to scale
    assert "In [7]" in html and "cached" in html and "team=ml" in html
    assert "demo:1" in html and "5.0 MB" in html
    assert stack._repr_mimebundle_()["text/html"] == stack.html       # readable without widgets


def test_a_from_step_is_not_credited_with_the_base_layer():
    image = fakes.image(history=[{"created_by": "bootstrap busybox"}, {"created_by": "RUN make"}])
    prov = Provenance()
    prov.record(image.id, [StepNote("FROM busybox", cell=4, cached=True),
                           StepNote("RUN make", cell=4, cached=False)])
    rows = layers.layer_rows(image, prov)
    assert [(r.cell, r.cached) for r in rows] == [(None, None), (4, False)]


def test_build_progress_follows_the_engine_events():
    progress = BuildProgress(cell=3, flush_seconds=0)
    events = [
        {"type": "step-start", "step": 1, "total": 2, "instruction": "FROM busybox"},
        {"type": "cache-hit", "step": 1, "total": 2},
        {"type": "step-start", "step": 2, "total": 2, "instruction": "RUN echo hi"},
        {"type": "output", "step": 2, "line": "hi\n", "stream": "stdout"},
        {"type": "step-done", "step": 2, "total": 2, "seconds": 0.42, "size": 1234,
         "digest": "sha256:abc"},
        {"type": "build-done", "image": "sha256:img"},
    ]
    for event in events:
        progress.on_event(event)
    assert (progress.status, progress.steps_done, progress.steps_total) == ("done", 2, 2)
    assert progress.image_id == "sha256:img"
    table = progress.table.value
    assert "dy-step-cached" in table and "dy-step-done" in table and "0.4s" in table
    assert len(progress.outputs.children) == 1 and "hi" in progress.outputs.children[0].value
    assert progress.outputs.get_title(0).startswith("Step 2: RUN echo hi")
    notes = progress.notes()
    assert [(n.cached, n.cell, n.digest) for n in notes] == [(True, 3, None), (False, 3, "sha256:abc")]


def test_build_progress_marks_the_running_step_failed():
    progress = BuildProgress()
    progress.on_event({"type": "step-start", "step": 1, "total": 1, "instruction": "RUN false"})
    progress.on_event({"type": "build-failed", "step": 1, "error": "Dockerfile line 2: RUN false exited 1"})
    assert progress.status == "failed" and "exited 1" in progress.error
    assert "dy-step-failed" in progress.table.value and "Build failed" in progress.table.value


def test_container_view_shows_state_network_and_usage_then_stops_polling():
    container = fakes.Container()
    view = ContainerView(container, refresh_seconds=0.05, log_tail=5)
    try:
        head = view.header.value
        assert "dy-state-running" in head and "172.17.0.2 (bridge)" in head
        assert "http://127.0.0.1:8080" in head and "c0ffeec0ffee" in head and "busybox" in head
        assert "line 2" in view.logs.value
        assert view.polling and len(watch_threads()) == 1
        deadline = time.time() + 5
        while view.cpu_percent is None and time.time() < deadline:
            time.sleep(0.05)
        assert view.cpu_percent is not None and view.memory_bytes == 2_500_000
        view.buttons["Stop"].click()
        assert container.actions == ["stop"] and view.state == "exited"
        assert view.buttons["Stop"].disabled and not view.buttons["Restart"].disabled
        _wait_for(lambda: not watch_threads())        # the poller ends once the container stopped
        view.buttons["Restart"].click()
        assert view.state == "running" and len(watch_threads()) == 1
        view.buttons["Remove"].click()
        assert view.state == "removed" and all(b.disabled for b in view.buttons.values())
        _wait_for(lambda: not watch_threads())
    finally:
        view.close()
    assert not watch_threads()


def test_closing_the_view_stops_its_thread():
    view = ContainerView(fakes.Container(), refresh_seconds=0.05)
    assert len(watch_threads()) == 1
    view.close()
    assert not watch_threads() and not view.polling


def test_container_info_reads_docker_inspect_shapes():
    attrs = fakes.Container().attrs
    assert container_info.published_ports(attrs) == [("80/tcp", "http://127.0.0.1:8080")]
    assert container_info.parse_time("2024-05-01T10:00:00.123456789Z").microsecond == 123456
    assert container_info.uptime({"State": {"Status": "exited"}}) == ""


def test_list_repr_only_for_engine_objects():
    assert reprs.list_html([1, 2]) is None and reprs.list_html([]) is None


def _wait_for(condition, seconds=5.0):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "condition not met in time"
        time.sleep(0.02)
