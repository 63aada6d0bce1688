"""The lock's and the diff's widgets, fed plain values: no engine, no root, no kernel."""
from dockyard.engine.notebook.drift import Drift, Report
from dockyard.extension.envdiff import CAP, ImageDiffView, LayerBrowser
from dockyard.extension.lock import LockNote, LockTable, difference, report_html

from . import fakes

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def diff_result(files=3):
    return {"a": {"name": "old:1", "id": A}, "b": {"name": "new:1", "id": B},
            "layers": {"shared": [{"index": 0, "diff_id": A, "size": 10}], "only_a": [],
                       "only_b": [{"index": 1, "diff_id": B, "size": 20, "created_by": "RUN x"}]},
            "config": [{"field": "Env", "key": "A", "old": "1", "new": "2"}],
            "files": [{"path": f"/f{i}", "change": "added", "type": "file", "size": i}
                      for i in range(files)],
            "debian": [{"name": "curl", "change": "added", "old": None, "new": "7.88"}],
            "python": [{"name": "requests", "change": "changed", "old": "2.28", "new": "2.31"}]}


def test_lock_table_static_copy_and_counts():
    rows = [["cell 2 (%image bootstrap busybox)", A, A, "same"],
            ["cell 3 (%%dockerfile -t env:1)", A, B, "drifted"],
            ["cell 4 (%%dockerfile -t x:1)", None, None, "not built"]]
    view = LockTable(rows, "Locked 3 environment cells into nb.ipynb.", written="/x/nb.ipynb")
    assert (view.cells, view.drifted, view.written) == (3, 1, "/x/nb.ipynb")
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == "Locked 3 environment cells into nb.ipynb."
    html = bundle["text/html"]
    assert "dy-lock-same" in html and "dy-lock-drifted" in html and "dy-lock-not-built" in html
    assert "aaaaaaaaaaaa" in html and "bbbbbbbbbbbb" in html


def test_drift_report_table():
    report = Report([Drift("cell 3", "dockerfile", "drifted", A, B, "line 2: COPY a /a",
                           "a build-context file changed")])
    assert not report.ok
    html = report_html(report)
    assert "COPY a /a" in html and "a build-context file changed" in html


def test_image_diff_view_caps_the_file_list_until_show_all():
    view = ImageDiffView(diff_result(files=CAP + 5))
    assert view.files_changed == CAP + 5 and f"/f{CAP + 4}" not in view.static_html()
    assert "and 5 more" in view.static_html() and "curl" in view.static_html()
    assert view.summary().startswith("old:1 -> new:1: 105 files added")
    view._show_all()
    assert f"/f{CAP + 4}" in view.body.value and len(view.children) == 1


class CountingImages:
    def __init__(self):
        self.calls = []

    def layer_contents(self, ref, index):
        self.calls.append(index)
        return [{"path": f"/layer{index}/{i}", "change": "added", "type": "file", "size": 1}
                for i in range(CAP + 1)]


def test_layer_browser_reads_a_layer_only_when_clicked():
    engine = type("Engine", (), {"images": CountingImages()})()
    browser = LayerBrowser(fakes.image(), engine)
    assert engine.images.calls == [] and len(browser.buttons) == 2
    browser.buttons[1].click()
    assert engine.images.calls == [1] and browser.selected == 1
    assert "/layer1/0" in browser.listing.value and f"/layer1/{CAP}" not in browser.listing.value
    assert browser.more.layout.display == ""
    browser.more.click()
    assert f"/layer1/{CAP}" in browser.listing.value and engine.images.calls == [1]


def test_lock_note_and_where_a_build_differs():
    image = fakes.image(layers=((A, 1),))
    entry = {"image": B, "bases": [], "steps": [
        {"stage": "0", "instruction": "FROM busybox", "line": 1, "key": "k", "diff_id": None},
        {"stage": "0", "instruction": "RUN date", "line": 2, "key": "k2", "diff_id": B}]}
    assert difference(entry, image, engine=None) == "first at line 2: RUN date"
    note = LockNote(entry, image, engine=None)
    assert not note.matches and "differs from the lock" in note._repr_html_()
    assert LockNote({**entry, "image": image.id}, image, None).text.startswith("matches the lock")
    assert LockNote(None, image, None).text.startswith("not in the lock")
