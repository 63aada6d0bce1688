"""`dockyard build` reads its Dockerfile and context as docker build does; bad paths are one line."""
import io

from dockyard.engine.cli import main


def build(argv, monkeypatch, capsys, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main.main(argv)
    return status, capsys.readouterr()


def test_dockerfile_on_stdin_without_context(tmp_path, monkeypatch, capsys):
    root = ["--data-root", str(tmp_path / "root")]
    status, out = build(root + ["build", "-q", "-t", "s:1", "-"], monkeypatch, capsys,
                        stdin='FROM scratch\nCMD ["x"]\n')
    assert status == 0 and out.out.startswith("sha256:"), out.err
    status, out = build(root + ["build", "-q", "-"], monkeypatch, capsys,
                        stdin="FROM scratch\nCOPY a /a\n")
    assert status == 1 and "build context" in out.err


def test_missing_dockerfile_or_context_is_one_line(tmp_path, monkeypatch, capsys):
    root = ["--data-root", str(tmp_path / "root")]
    status, out = build(root + ["build", "-f", str(tmp_path / "nope"), str(tmp_path)],
                        monkeypatch, capsys)
    assert status == 1 and out.err == f"Error: no Dockerfile at {tmp_path / 'nope'}\n"
    status, out = build(root + ["build", str(tmp_path / "gone")], monkeypatch, capsys)
    assert status == 1 and out.err.count("\n") == 1 and "not found" in out.err
    status, out = build(root + ["build", "-f", "-", "-"], monkeypatch, capsys)
    assert status == 1 and "stdin for both" in out.err
