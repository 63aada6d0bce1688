"""The build widget fed the engine's build events: no engine, no root, no kernel."""
import re
import time

from dockyard.extension.build_widget import BuildProgress

RUN_STEP = [
    {"type": "step-start", "step": 1, "total": 2, "instruction": "FROM busybox", "line": 1},
    {"type": "cache-hit", "step": 1, "total": 2},
    {"type": "step-start", "step": 2, "total": 2, "instruction": "RUN echo start; sleep 30",
     "line": 2},
]


def feed(progress, events):
    for event in events:
        progress.on_event(event)
    return progress


def rows(progress) -> list[str]:
    """The table's rows as text: stage headers and 'n status instruction' lines."""
    found = re.findall(r"<tr class='(?:dy-stage|dy-step[^']*)'[^>]*>(.*?)</tr>", progress.table.value)
    return [" ".join(re.sub(r"<[^>]+>", " ", cells).split()) for cells in found]


def test_build_progress_follows_the_engine_events():
    progress = feed(BuildProgress(cell=3, flush_seconds=0), RUN_STEP[:2] + [
        {"type": "step-start", "step": 2, "total": 2, "instruction": "RUN echo hi"},
        {"type": "output", "step": 2, "line": "hi\n", "stream": "stdout"},
        {"type": "step-done", "step": 2, "total": 2, "seconds": 0.42, "size": 10_240,
         "digest": "sha256:abc"},
        {"type": "build-done", "image": "sha256:img", "tags": ["hello:1"]},
    ])
    assert (progress.status, progress.steps_done, progress.steps_total) == ("done", 2, 2)
    assert progress.image_id == "sha256:img"
    table = progress.table.value
    assert "dy-step-cached" in table and "dy-step-done" in table and "0.4s" in table
    assert "Built</b> hello:1" in table
    assert "<td style='white-space:nowrap'>10.2 kB</td>" in table      # never wraps
    assert len(progress.outputs.children) == 1 and "hi" in progress.outputs.children[0].value
    assert progress.outputs.get_title(0).startswith("Step 2: RUN echo hi")
    notes = progress.notes()
    assert [(n.cached, n.cell, n.digest) for n in notes] == [(True, 3, None), (False, 3, "sha256:abc")]


def test_a_line_that_comes_right_after_a_flush_still_shows_without_another_event():
    progress = feed(BuildProgress(flush_seconds=0.2), RUN_STEP)
    progress.on_event({"type": "output", "step": 2, "line": "start\n"})   # just after step-start
    deadline = time.time() + 3
    while "start" not in progress.outputs.children[0].value and time.time() < deadline:
        time.sleep(0.02)
    assert "start" in progress.outputs.children[0].value     # the timer flushed it
    progress.interrupt()


def test_multi_stage_steps_are_grouped_by_stage_in_dockerfile_order():
    # The order the engine runs them in: the final stage's COPY --from builds `deps` first.
    events = [
        {"type": "step-start", "step": 1, "total": 5, "stage": "1", "line": 4,
         "instruction": "FROM busybox"},
        {"type": "step-done", "step": 1, "cached": True},
        {"type": "step-start", "step": 2, "total": 5, "stage": "1", "line": 5,
         "instruction": "COPY --from=deps /opt/env /opt/env"},
        {"type": "step-start", "step": 3, "total": 5, "stage": "deps", "line": 1,
         "instruction": "FROM busybox AS deps"},
        {"type": "step-done", "step": 3, "cached": True},
        {"type": "step-start", "step": 4, "total": 5, "stage": "deps", "line": 2,
         "instruction": "RUN make"},
        {"type": "step-done", "step": 4},
        {"type": "step-done", "step": 2},
        {"type": "step-start", "step": 5, "total": 5, "stage": "1", "line": 6,
         "instruction": "LABEL purpose=analysis"},
        {"type": "step-done", "step": 5},
    ]
    progress = feed(BuildProgress(flush_seconds=0), events)
    assert rows(progress) == [
        "stage deps", "1 cached FROM busybox AS deps", "2 done RUN make",
        "final stage", "1 cached FROM busybox", "2 done COPY --from=deps /opt/env /opt/env",
        "3 done LABEL purpose=analysis"]


def test_long_instructions_are_clipped_at_a_word_and_whole_on_hover_and_when_opened():
    long = "RUN pip install numpy pandas scikit-learn matplotlib seaborn statsmodels"
    progress = feed(BuildProgress(flush_seconds=0), [
        {"type": "step-start", "step": 1, "total": 1, "instruction": long},
        {"type": "output", "step": 1, "line": "Collecting numpy\n"}])
    title = progress.outputs.get_title(0)
    assert title == "Step 1: RUN pip install numpy pandas scikit-learn matplotlib…"
    assert f"title='{long}'" in progress.table.value
    assert long in progress.outputs.children[0].value             # the opened output heads with it


def test_a_failed_build_names_the_step_once_and_opens_its_output():
    progress = feed(BuildProgress(flush_seconds=0), [
        {"type": "step-start", "step": 1, "total": 3, "instruction": "RUN echo a"},
        {"type": "output", "step": 1, "line": "a\n"},
        {"type": "step-done", "step": 1},
        {"type": "step-start", "step": 2, "total": 3, "instruction": "RUN echo b; false"},
        {"type": "output", "step": 2, "line": "b\n"},
        {"type": "build-failed", "step": 2, "error": "process did not complete: exit code: 1\nb"}])
    assert progress.status == "failed" and progress.failed_step == 2
    assert "Build failed at step 2/3" in progress.table.value
    assert "exit code" not in progress.table.value                 # the cell's error says it
    assert progress.outputs.selected_index == 1                    # step 2's output, opened
    assert "dy-step-failed" in progress.table.value
    assert "<details open><summary>Step 2:" in progress.static_html()


def test_an_interrupted_build_reaches_a_final_state():
    progress = feed(BuildProgress(flush_seconds=0), RUN_STEP)
    progress.stopping()
    assert "Stopping the build" in progress.table.value
    line = progress.interrupt()
    assert line == "Build interrupted at step 2/2; nothing was kept"
    assert progress.status == "interrupted" and "running" not in progress.table.value
    assert progress.summary() == line
    progress.on_event({"type": "output", "step": 2, "line": "late\n"})   # nothing moves after
    assert progress.status == "interrupted"
    assert BuildProgress().interrupt(" because the kernel restarted") == \
        "Build interrupted because the kernel restarted; nothing was kept"


def test_the_output_carries_a_static_copy_and_a_short_text():
    progress = feed(BuildProgress(flush_seconds=0), RUN_STEP + [
        {"type": "step-done", "step": 2, "size": 5}, {"type": "build-done", "tags": ["a:1"]}])
    bundle = progress._repr_mimebundle_()
    assert bundle["text/plain"] == "Built a:1 (2/2 steps)"
    assert "RUN echo start; sleep 30" in bundle["text/html"] and "BuildProgress(" not in str(bundle)
    assert "application/vnd.jupyter.widget-view+json" in bundle
