"""TarReader against tarfile: the same members from every format a layer may come in, content
that arrives as views of a decompressor's buffer, and one-line errors for broken headers."""
import gzip
import hashlib
import io
import tarfile

import pytest

from dockyard.engine.errors import ContentError
from dockyard.engine.image.compression import Decompressed
from dockyard.engine.image.tarstream import TarReader

FIELDS = ("name", "size", "mode", "uid", "gid", "mtime", "linkname", "devmajor", "devminor")
MEMBERS = [  # name, type, uid, content
    ("etc/hostname", tarfile.REGTYPE, 0, b"box\n"),
    ("usr/", tarfile.DIRTYPE, 0, None),
    ("usr/bin/sh", tarfile.SYMTYPE, 0, None),
    ("deep/" * 25 + "leaf.txt", tarfile.REGTYPE, 1000, b"x" * 700),   # a ustar prefix or more
    ("caf\u00e9/\u00fcber", tarfile.REGTYPE, 0, b""),                  # non-ASCII names
    ("dev/null", tarfile.CHRTYPE, 0, None),
    ("big-ids", tarfile.REGTYPE, 3_000_000, b"ids"),                   # base-256 in GNU tars
]


def _tar(fmt) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, kind, uid, content in MEMBERS:
            if fmt == tarfile.USTAR_FORMAT and (uid > 0o7777777 or len(name) > 200
                                                or not name.isascii()):
                continue
            info = tarfile.TarInfo(name)
            info.type, info.uid, info.gid, info.mode = kind, uid, uid, 0o4755
            info.mtime = 1_700_000_000
            info.linkname = "/bin/busybox" if kind == tarfile.SYMTYPE else ""
            info.devmajor, info.devminor = (1, 3) if kind == tarfile.CHRTYPE else (0, 0)
            info.size = len(content or b"")
            tf.addfile(info, io.BytesIO(content) if content is not None else None)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
@pytest.mark.parametrize("wrap", ["plain", "gzip"])
def test_members_match_tarfile(fmt, wrap):
    data = _tar(fmt)
    stream = io.BytesIO(gzip.compress(data) if wrap == "gzip" else data)
    reader = TarReader(Decompressed(stream))
    seen = []
    for entry in reader:
        seen.append((entry, b"".join(bytes(piece) for piece in reader.content())))
    expected = tarfile.open(fileobj=io.BytesIO(data)).getmembers()
    assert len(seen) == len(expected)
    for (entry, content), member in zip(seen, expected):
        assert {f: getattr(entry, f) for f in FIELDS} == {f: getattr(member, f) for f in FIELDS}
        if member.isfile():
            assert content == tarfile.open(fileobj=io.BytesIO(data)).extractfile(
                member.name).read()
    assert reader.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert reader.size == len(data)


def test_an_old_v7_directory_is_a_directory():
    info = tarfile.TarInfo("olddir/")
    info.type = tarfile.AREGTYPE
    entry = next(iter(TarReader(io.BytesIO(info.tobuf(tarfile.USTAR_FORMAT) + bytes(1024)))))
    assert (entry.name, entry.kind) == ("olddir", "dir")


@pytest.mark.parametrize("offset, message", [(0, "bad checksum"), (100, "bad checksum")])
def test_a_damaged_header_is_one_content_error(offset, message):
    data = bytearray(_tar(tarfile.PAX_FORMAT))
    data[offset] ^= 0x01
    with pytest.raises(ContentError, match=f"corrupt layer archive: {message}"):
        list(TarReader(io.BytesIO(bytes(data))))
