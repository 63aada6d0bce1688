"""How much work the safe extractor does per entry, and that batching files keeps tar order."""
import io
import os
import tarfile

from dockyard.engine.image import extract as extract_module
from dockyard.engine.image.extract import extract


def small_files_tar(names_and_data) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in names_and_data:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


def test_into_an_empty_root_names_are_not_looked_up_before_they_are_made(tmp_path,
                                                                        monkeypatch):
    looked_up = []
    real = os.path.lexists
    monkeypatch.setattr(os.path, "lexists", lambda p: looked_up.append(p) or real(p))
    root = tmp_path / "root"
    root.mkdir()
    files = [(f"d{i % 4}/f{i:03d}", b"x" * i) for i in range(300)]
    extract(small_files_tar(files), root)
    # nothing is there but what this layer made: only each new directory is checked, once
    assert sorted(looked_up) == [str(root / f"d{i}") for i in range(4)]
    assert (root / "d3/f299").read_bytes() == b"x" * 299
    assert oct((root / "d0/f000").stat().st_mode & 0o777) == "0o640"


def test_into_a_root_with_content_every_name_is_checked(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "d0").mkdir(parents=True)
    os.symlink(tmp_path / "outside", root / "d0" / "f000")      # must be replaced, not followed
    looked_up = []
    real = os.path.lexists
    monkeypatch.setattr(os.path, "lexists", lambda p: looked_up.append(p) or real(p))
    extract(small_files_tar([("d0/f000", b"in"), ("d0/f001", b"too")]), root)
    assert str(root / "d0" / "f000") in looked_up
    assert not (tmp_path / "outside").exists()
    assert (root / "d0" / "f000").read_bytes() == b"in"


def test_a_file_twice_in_one_batch_keeps_the_last(tmp_path, monkeypatch):
    monkeypatch.setattr(extract_module, "BATCH", 1000)
    root = tmp_path / "root"
    root.mkdir()
    extract(small_files_tar([("a", b"first"), ("b", b"b"), ("a", b"second")]), root)
    assert (root / "a").read_bytes() == b"second" and (root / "b").read_bytes() == b"b"
