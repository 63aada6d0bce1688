"""Unpacked layers under `<root>/snapshots/<chain-id hex>/`, shared by every image and container.

    snapshots/<hex>/diff/        the layer in overlay lower format
    snapshots/<hex>/tar-split    the layer tar minus file content (tarsplit.py)
    snapshots/<hex>/orphans/     files of the tar that a later entry replaced (rare)
    snapshots/<hex>/layer.json   diff_id, size, parent chain id, link, the digest manifests
                                 name it by, its compressed blobs ("compressed": {"gzip":
                                 {"digest", "size"}}), "split" (an index exists), "moved"
    snapshots/l/<LINK>           -> ../<hex>/diff, a 26-character name as in Docker's overlay2

Containers chdir to `snapshots/` and mount with `lowerdir=l/<LINK>:l/<LINK>...`, which keeps
the mount options under the one-page limit with ~140 layers instead of ~40.
A snapshot appears by renaming a finished temp directory into place, so a directory named by
a chain id is always complete; removal renames it away first for the same reason.
"""
import base64
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .merged import read_merged  # noqa: F401  (here for store.read_file)

LINK_LENGTH = 26


def chain_id(parent: str | None, diff_id: str) -> str:
    """The OCI ChainID: diff_id for a base layer, else sha256(parent + " " + diff_id)."""
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def link_name(chain: str) -> str:
    """A short, stable name for the snapshot of `chain` (base32 of its hash, 26 characters)."""
    raw = bytes.fromhex(chain.split(":", 1)[1])
    return base64.b32encode(raw).decode()[:LINK_LENGTH]


class Snapshots:
    """The snapshot directories of one data root; callers hold the root lock for commit/remove."""

    def __init__(self, root: Path):
        self.root = Path(root) / "snapshots"

    def directory(self, chain: str) -> Path:
        return self.root / chain.split(":", 1)[1]

    def diff_dir(self, chain: str) -> Path:
        return self.directory(chain) / "diff"

    def meta(self, chain: str) -> dict | None:
        """The snapshot's layer.json, or None when there is no such snapshot."""
        try:
            return json.loads((self.directory(chain) / "layer.json").read_text())
        except FileNotFoundError:
            return None

    def exists(self, chain: str) -> bool:
        return (self.directory(chain) / "layer.json").exists()

    def touch(self, chain: str) -> None:
        """Mark the snapshot as recently wanted (garbage collection spares young snapshots)."""
        os.utime(self.directory(chain) / "layer.json")

    def mtime(self, chain: str) -> float:
        return (self.directory(chain) / "layer.json").stat().st_mtime

    def new_temp(self) -> Path:
        """A fresh temp directory inside snapshots/ (same filesystem, so commit can rename it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))

    def commit(self, temp: Path, meta: dict) -> bool:
        """Rename `temp` (holding diff/) into place as meta["chain_id"]; False if it existed.

        An existing snapshot wins and `temp` is removed: the content is the same by definition.
        """
        chain = meta["chain_id"]
        if self.exists(chain):
            shutil.rmtree(temp, ignore_errors=True)
            self.touch(chain)
            return False
        shutil.rmtree(self.directory(chain), ignore_errors=True)   # a stale half (crash)
        meta = dict(meta, link=link_name(chain))
        _write_json(temp / "layer.json", meta)
        # The link first: a kill between the two renames leaves a dangling link (a leftover
        # the next writer sweeps), never a snapshot that containers can't mount.
        links = self.root / "l"
        links.mkdir(exist_ok=True)
        tmp_link = links / f".tmp-{meta['link']}"
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(f"../{chain.split(':', 1)[1]}/diff", tmp_link)
        os.rename(tmp_link, links / meta["link"])
        os.rename(temp, self.directory(chain))
        return True

    def record_compressed(self, chain: str, kind: str, blob: dict) -> None:
        """Note in layer.json that `blob` ({"digest", "size"}) is this layer as `kind`."""
        meta = self.meta(chain)
        if meta is None:
            return
        meta.setdefault("compressed", {})[kind] = {"digest": blob["digest"],
                                                    "size": blob["size"]}
        temp = self.directory(chain) / f".layer.json.{os.getpid()}"
        _write_json(temp, meta)
        os.rename(temp, self.directory(chain) / "layer.json")

    def remove(self, chain: str) -> int:
        """Delete the snapshot and its link; returns the bytes freed."""
        directory = self.directory(chain)
        if not directory.exists():
            return 0
        size = disk_usage(directory)
        trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=self.root))
        os.rename(directory, trash / "x")
        try:                    # after the directory: a kill in between leaves a dangling link
            os.unlink(self.root / "l" / link_name(chain))
        except FileNotFoundError:
            pass
        shutil.rmtree(trash, ignore_errors=True)
        return size

    def dangling_links(self) -> list[Path]:
        """Links in l/ whose snapshot is not there (left by a kill mid-commit or mid-remove)."""
        links = self.root / "l"
        if not links.is_dir():
            return []
        return [links / n for n in os.listdir(links)
                if not n.startswith(".") and not os.path.exists(links / n)]

    def chains(self) -> list[str]:
        """Chain ids of every complete snapshot."""
        if not self.root.is_dir():
            return []
        return ["sha256:" + name for name in os.listdir(self.root)
                if len(name) == 64 and (self.root / name / "layer.json").exists()]

    def leftovers(self) -> list[Path]:
        """Temp and trash directories that a crashed process left behind."""
        if not self.root.is_dir():
            return []
        return [self.root / n for n in os.listdir(self.root) if n.startswith((".tmp-", ".trash-"))]


def disk_usage(path: Path) -> int:
    """Bytes in the regular files under `path` (apparent sizes; hard links once)."""
    total, seen = 0, set()
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def _write_json(path: Path, value) -> None:
    with open(path, "w") as f:
        json.dump(value, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
