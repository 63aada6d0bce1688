"""The notebook lock without an engine: environment cells, the lock format, drift reasons."""
import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dockyard.engine.errors import InvalidArgument, NotFound
from dockyard.engine.notebook import cells, drift, lockfile, nbfile, record

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def notebook(*sources):
    return new_notebook(cells=[new_code_cell(s) if not s.startswith("#") else
                               new_markdown_cell(s) for s in sources])


def test_environment_cells_in_order_with_their_flags():
    nb = notebook("%image bootstrap busybox", "# prose",
                  "%%dockerfile -t env:1 --build-arg A=1 --context sub\nFROM busybox\n",
                  "import os\n%image pull localhost:5000/x:1\n%dockyard use env:1 -v /a:/b\n"
                  "%dockyard use host\nprint(1)",
                  "%%bash\n%image pull not/python:1\n")
    found = cells.environment_cells(nb)
    assert [c.kind for c in found] == ["bootstrap", "dockerfile", "pull", "use"]
    boot, df, pull, use = found
    assert boot.options == {"name": "busybox", "tag": None, "suite": "bookworm", "include": [],
                            "quiet": False}
    assert df.index == 2 and df.options["tag"] == "env:1" and df.options["context"] == "sub"
    assert df.body == "FROM busybox\n" and df.options["build_arg"] == ["A=1"]
    assert (pull.line, pull.options["name"]) == (2, "localhost:5000/x:1")
    assert use.options["image"] == "env:1" and use.options["volume"] == ["/a:/b"]
    assert use.label == "cell 4, line 3 (%dockyard use env:1 -v /a:/b)"
    assert df.key == f"{nb.cells[2].id}:1"


def test_cell_hash_covers_source_and_flags():
    a, = cells.environment_cells(notebook("%%dockerfile -t a\nFROM busybox\n"))
    b, = cells.environment_cells(notebook("%%dockerfile -t b\nFROM busybox\n"))
    c, = cells.environment_cells(notebook("%%dockerfile -t a\nFROM busybox\nENV X=1\n"))
    again, = cells.environment_cells(notebook("%%dockerfile -t a\nFROM busybox\n"))
    assert len({a.hash, b.hash, c.hash}) == 3 and a.hash == again.hash


def test_bad_flags_name_the_cell():
    with pytest.raises(InvalidArgument, match=r"cell 2 \(%%dockerfile --bogus\).*--bogus"):
        cells.environment_cells(notebook("1", "%%dockerfile --bogus\nFROM busybox\n"))
    with pytest.raises(InvalidArgument, match="cell 1.*can't split"):
        cells.environment_cells(notebook("%image pull 'unbalanced"))


def lock_of(*entries, version=1):
    return {"version": version, "source_date_epoch": 1700000000, "cells": list(entries),
            "engine": {"name": "dockyard", "version": "0.1.0", "platform": "linux/amd64"}}


def dockerfile_entry(**changes):
    entry = {"cell_id": "c1", "index": 0, "line": 1, "kind": "dockerfile",
             "magic": "%%dockerfile -t env:1", "hash": DIGEST, "image": DIGEST,
             "tags": ["env:1"], "build_args": {"V": "1"},
             "bases": [{"name": "busybox", "image": DIGEST, "repo_digest": None,
                        "source": {"bootstrap": {"kind": "busybox"}}}],
             "steps": [{"stage": "0", "instruction": "FROM busybox", "line": 1,
                        "key": "image:" + DIGEST, "diff_id": None},
                       {"stage": "0", "instruction": "COPY app.py /app/", "line": 2,
                        "key": "k2", "diff_id": DIGEST},
                       {"stage": "0", "instruction": "RUN make", "line": 3, "key": "k3",
                        "diff_id": DIGEST}]}
    entry.update(changes)
    return entry


def test_lock_schema_accepts_a_lock_and_names_what_is_wrong():
    good = lock_of(dockerfile_entry())
    assert lockfile.check(good, "nb.ipynb") is good
    bad = copy.deepcopy(good)
    bad["cells"][0]["image"] = "sha256:short"
    with pytest.raises(InvalidArgument, match=r"nb.ipynb: the lock is corrupted \(cells/0/image"):
        lockfile.check(bad, "nb.ipynb")
    with pytest.raises(InvalidArgument, match="not a JSON object"):
        lockfile.check([1], "nb.ipynb")
    with pytest.raises(InvalidArgument, match="newer dockyard \\(format version 2; this one "
                                              "reads up to 1\\)"):
        lockfile.check(lock_of(version=2), "nb.ipynb")


def test_schema_file_is_a_valid_json_schema():
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(lockfile.schema())


def test_read_lock_from_metadata_then_sidecar(tmp_path):
    nb = notebook("%image bootstrap busybox")
    path = tmp_path / "a.ipynb"
    assert lockfile.read_lock(nb, path) == (None, "")
    lockfile.sidecar_path(path).write_text(json.dumps(lock_of()))
    assert lockfile.read_lock(nb, path)[1] == "sidecar"
    lockfile.sidecar_path(path).write_text("{nope")
    with pytest.raises(InvalidArgument, match="a.dockyard-lock.json: the lock is corrupted"):
        lockfile.read_lock(nb, path)
    lockfile.embed(nb, lock_of())
    assert lockfile.read_lock(nb, path)[1] == "metadata"
    assert nb.metadata["dockyard"]["lock"]["version"] == 1


def test_read_notebook_errors_are_one_line(tmp_path):
    with pytest.raises(NotFound, match="no such notebook"):
        nbfile.read_notebook(tmp_path / "absent.ipynb")
    (tmp_path / "bad.ipynb").write_text('{"cells": [')
    with pytest.raises(InvalidArgument, match=r"bad.ipynb: not a notebook \(invalid JSON at "
                                              "line 1"):
        nbfile.read_notebook(tmp_path / "bad.ipynb")
    (tmp_path / "odd.ipynb").write_text('{"cells": 3}')
    with pytest.raises(InvalidArgument, match="odd.ipynb: not a valid notebook"):
        nbfile.read_notebook(tmp_path / "odd.ipynb")


def test_write_notebook_keeps_everything_else(tmp_path):
    nb = notebook("print(1)", "%image bootstrap busybox")
    nb.metadata["kernelspec"] = {"name": "dockyard", "display_name": "d", "language": "python"}
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    before = nbformat.read(path, as_version=4)
    lockfile.embed(before, lock_of())
    nbfile.write_notebook(before, path)
    after = nbformat.read(path, as_version=4)
    nbformat.validate(after)
    assert after.metadata.kernelspec == nb.metadata.kernelspec
    assert after.cells[0].outputs == nb.cells[0].outputs
    del after.metadata["dockyard"]
    assert nbformat.writes(after) == nbformat.writes(nb)


def test_step_recorder_keeps_dockerfile_order_and_the_failed_step():
    seen = []
    rec = record.StepRecorder(forward=seen.append)
    events = [{"type": "step-start", "step": 1, "stage": "0", "instruction": "FROM busybox",
               "line": 1},
              {"type": "step-done", "step": 1, "key": "image:x", "diff_id": None,
               "base": {"name": "busybox", "image": DIGEST}},
              {"type": "step-start", "step": 2, "stage": "0", "instruction": "RUN x", "line": 2},
              {"type": "step-start", "step": 3, "stage": "1", "instruction": "COPY y", "line": 5},
              {"type": "step-done", "step": 3, "key": "k3", "diff_id": OTHER},
              {"type": "step-done", "step": 2, "key": "k2", "diff_id": DIGEST}]
    for event in events:
        rec(event)
    assert seen == events
    assert [s["instruction"] for s in rec.steps()] == ["FROM busybox", "RUN x", "COPY y"]
    assert rec.bases == [{"name": "busybox", "image": DIGEST}]
    rec({"type": "step-start", "step": 4, "stage": "1", "instruction": "RUN false", "line": 6})
    rec({"type": "build-failed", "step": 4, "error": "exit code: 1"})
    assert rec.failed_step()["line"] == 6


def test_bootstrap_info_from_labels_and_busybox_history():
    labels = {"org.dockyard.bootstrap.kind": "debian", "org.dockyard.bootstrap.suite": "bookworm",
              "org.dockyard.bootstrap.packages": "bash=5.2 libc6=2.36-9"}
    one = [{"created_by": "dockyard image bootstrap debian --suite bookworm"}]
    assert record.bootstrap_info({"config": {"Labels": labels}, "history": one}) == {
        "kind": "debian", "suite": "bookworm", "packages": {"bash": "5.2", "libc6": "2.36-9"}}
    busybox = {"history": [{"created_by": "dockyard image bootstrap busybox (v1.35)"}]}
    assert record.bootstrap_info(busybox)["kind"] == "busybox"
    assert record.bootstrap_info({"history": [{"created_by": "COPY x"}]}) is None
    derived = {"config": {"Labels": labels}, "history": one + [{"created_by": "RUN x"}]}
    assert record.bootstrap_info(derived) is None


def reason(locked, current, **kw):
    return drift.compare(locked, current, "cell 1", **kw)


def test_drift_same_and_missing():
    entry = dockerfile_entry()
    assert reason(entry, copy.deepcopy(entry)).status == "same"
    assert reason(None, entry).reason.startswith("not in the lock")
    assert reason(entry, None).reason == "in the lock, but no longer in the notebook"


def test_drift_names_the_first_differing_step_and_why():
    locked = dockerfile_entry()

    def now(**step_changes):
        entry = dockerfile_entry(image=OTHER)
        for index, changes in step_changes.items():
            entry["steps"][int(index[1:])].update(changes)
        return entry
    copied = reason(locked, now(s1={"key": "other"}, s2={"key": "other2"}))
    assert (copied.status, copied.step) == ("drifted", "line 2: COPY app.py /app/")
    assert copied.reason == "a build-context file changed"
    dated = reason(locked, now(s2={"diff_id": OTHER}))
    assert dated.step == "line 3: RUN make" and dated.reason.startswith("not deterministic")
    edited = reason(locked, now(s2={"instruction": "RUN make all", "key": "x"}))
    assert "the Dockerfile changed (the lock has `RUN make`)" == edited.reason
    args = now(s2={"key": "x"})
    args["build_args"] = {"V": "2"}
    assert reason(locked, args).reason == "build args changed: V=2 (locked 1)"
    rebased = dockerfile_entry(image=OTHER)
    rebased["bases"][0].update(image=OTHER, source={"cell": "c0:1"})
    why = reason(locked, rebased, labels={"c0:1": "cell 1"})
    assert why.step == "FROM busybox" and "(made by cell 1, which changed)" in why.reason


def test_a_moved_base_tag_is_drift_even_when_the_build_matches():
    entry = dockerfile_entry()
    moved = reason(entry, copy.deepcopy(entry), moved={"busybox": OTHER})
    assert moved.status == "drifted" and moved.step == "FROM busybox"
    assert "busybox now names sha256:bbbbbbbbbbbb, the lock has sha256:aaaaaaaaaaaa" in moved.reason


def test_bootstrap_drift_lists_package_versions():
    old = {"kind": "bootstrap", "image": DIGEST,
           "bootstrap": {"kind": "debian", "packages": {"libc6": "2.36-9", "bash": "5.2"}}}
    new = {"kind": "bootstrap", "image": OTHER,
           "bootstrap": {"kind": "debian", "packages": {"libc6": "2.36-10", "bash": "5.2",
                                                        "curl": "7.88"}}}
    assert reason(old, new).reason == ("packages changed: curl (none) -> 7.88, "
                                       "libc6 2.36-9 -> 2.36-10")
