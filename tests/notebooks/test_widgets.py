"""The widgets and reprs, fed plain fake objects: no engine, no root, no kernel."""
import re
import threading
import time

from dockyard.extension import container_info, layers, reprs
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


def test_layer_stack_draws_newest_on_top_with_each_layers_share_and_provenance():
    image = fakes.image(labels={"team": "ml"}, tags=("docker.io/library/demo:1",))
    prov = Provenance()
    prov.record(image.id, [StepNote("RUN step 1", cell=7, cached=True, cell_id="c-42")])
    stack = LayerStack(image, prov)
    assert (stack.layer_count, stack.total_size) == (2, 5_000_000)
    html = stack.children[0].value
    body = html[html.index("<tbody>"):]
    assert body.index("RUN step 1") < body.index("RUN step 0")      # newest first, i.e. on top
    assert "width:80.0%" in body and "width:20.0%" in body           # 4 MB and 1 MB of 5 MB
    assert "<a class='dy-cell-link' href='#cell-id=c-42'" in html and ">In [7]</a>" in html
    assert "cached" in html and "team=ml" in html
    assert "<b>demo:1</b>" in html and "docker.io" not in html and "5.0 MB" in html
    bundle = stack._repr_mimebundle_()
    assert bundle["text/html"] == stack.html                          # readable without widgets
    assert bundle["text/plain"] == "Image demo:1: 2 layers, 5.0 MB"


def test_the_total_bar_shows_each_layers_share_and_hover_shows_digest_and_time():
    image = fakes.image(history=[
        {"created_by": "dockyard image bootstrap busybox (BusyBox v1.35.0 (Debian 1:1.35.0-4) "
                       "multi-call binary.)", "created": "1970-01-01T00:00:00Z"},
        {"created_by": "RUN |1 V=2 /bin/sh -c make # buildkit", "created": "2024-05-01T10:00:00Z"}])
    html = LayerStack(image).html
    bar = html[html.index("dy-total-bar"):html.index("<table")]
    shares = re.findall(r"class='dy-share' style='width:([\d.]+)%", bar)
    assert shares == ["80.0", "20.0"]                                 # bottom layer first
    assert "RUN make: 1.0 MB (20.0%)" in bar
    rows = re.findall(r"<tr class='dy-layer' title='([^']*)'", html)
    assert rows[0].startswith("sha256:bbb\ncreated 2024-05-01 ")      # newest on top
    assert rows[1] == "sha256:aaa\ncreated with a fixed date, for reproducibility"


def test_layer_rows_speak_plainly_where_the_cli_keeps_dockers_words():
    assert layers.plain_instruction("RUN /bin/sh -c echo hi > /x # buildkit") == "RUN echo hi > /x"
    assert layers.plain_instruction("RUN |2 A=1 B=2 /bin/sh -c make # buildkit") == "RUN make"
    assert layers.plain_instruction("COPY app.py /srv/ # buildkit") == "COPY app.py /srv/"
    assert layers.plain_instruction(
        "dockyard image bootstrap busybox (BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) "
        "multi-call binary.)") == "base image: busybox 1.35 (made on this machine)"
    assert layers.plain_instruction("", "Imported from app.tar") == "imported from app.tar"


def test_a_from_step_is_not_credited_with_the_base_layer():
    image = fakes.image(history=[{"created_by": "bootstrap busybox"}, {"created_by": "RUN make"}])
    prov = Provenance()
    prov.record(image.id, [StepNote("FROM busybox", cell=4, cached=True),
                           StepNote("RUN make", cell=4, cached=False)])
    rows = layers.layer_rows(image, prov)
    assert [(r.cell, r.cached) for r in rows] == [(None, None), (4, False)]


def test_the_container_view_shows_state_network_and_usage():
    container = fakes.Container()
    view = ContainerView(container, refresh_seconds=0.05, log_tail=5)
    try:
        head = view.header.value
        assert "dy-state-running" in head and "172.17.0.2 (bridge)" in head
        assert "http://127.0.0.1:8080" in head and "c0ffeec0ffee" in head and "busybox" in head
        assert "line 2" in view.logs.value
        assert view.polling and len(watch_threads()) == 1
        _wait_for(lambda: view.cpu_percent is not None)
        assert view.memory_bytes == 2_500_000
        assert view._repr_mimebundle_()["text/plain"] == "Container web (busybox): running"
    finally:
        view.close()
    assert not watch_threads()


def test_stop_says_stopping_at_once_then_the_exit_code_and_time_without_dead_links():
    gate = threading.Event()
    container = fakes.Container(stop_gate=gate)
    view = ContainerView(container, refresh_seconds=0.05, log_tail=5)
    try:
        view.buttons["Stop"].click()                   # returns at once; the stop waits on gate
        assert view.state == "stopping" and "stopping…" in view.header.value
        assert all(b.disabled for b in view.buttons.values())
        time.sleep(0.2)                                 # the poller must not undo "stopping"
        assert view.state == "stopping"
        gate.set()
        _wait_for(lambda: view.state == "exited")
        head = view.header.value
        assert "exited (137)" in head and "dy-state-exited" in head
        assert re.search(r"ended: <span class='dy-ended'>at \d\d:\d\d:\d\d</span>", head)
        assert "href" not in head and "8080" not in head              # the port leads nowhere now
        assert view.buttons["Stop"].disabled and not view.buttons["Restart"].disabled
        assert view._repr_mimebundle_()["text/plain"].startswith(
            "Container web (busybox): exited (137) at ")
        _wait_for(lambda: not watch_threads())        # the poller ends once the container stopped
        view.act("Restart")
        assert view.state == "running" and len(watch_threads()) == 1
        view.act("Remove")
        assert view.state == "removed" and all(b.disabled for b in view.buttons.values())
        assert "line 2" in view.logs.value            # the last live view stays
        assert container.actions == ["stop", "restart", "remove"]
        _wait_for(lambda: not watch_threads())
    finally:
        gate.set()
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


def test_image_and_container_tables_speak_plainly_and_say_when_they_were_taken():
    image = fakes.image(tags=("docker.io/library/demo:1",))
    image.created = "1970-01-01T00:00:00Z"
    html = reprs.images_html([image])
    assert "demo:1" in html and "docker.io" not in html
    assert "with a fixed date, for reproducibility" in html and "1970" not in html
    stopped = fakes.Container(status="exited")
    table = reprs.containers_html(reprs.Snapshot([stopped]))
    assert re.search(r"as of \d\d:\d\d:\d\d", table) and "href" not in table   # no dead link
    assert re.search(r"as of \d\d:\d\d:\d\d", reprs.list_html(reprs.Snapshot([])))
