"""`docker save` / `docker load`: images as a tar that Docker, Podman, skopeo and umoci read.

    save(store, ["busybox:latest", "app:1"], "images.tar")                  # docker-archive
    save(store, ["busybox:latest"], "busybox.tar", format="oci-archive")
    [loaded] = load(store, open("busybox.tar", "rb"))      # loaded.image, loaded.tags

Two formats, named as Podman names them, both holding any number of images whose layers are the
uncompressed tars, named by their diff_ids:
- `docker-archive` (the default) is Docker 25's layout, two views over one set of blobs:
  `manifest.json` (Config, RepoTags, Layers) and `repositories` for `docker load` and
  `skopeo docker-archive:`, and an OCI image layout whose index names each tag as Docker does
  (`io.containerd.image.name`: the full name, `org.opencontainers.image.ref.name`: the tag).
- `oci-archive` is the OCI image layout alone (`oci-layout`, `index.json`, `blobs/sha256/`),
  each tag's `org.opencontainers.image.ref.name` the full name as Podman writes it, so
  `skopeo copy oci-archive:images.tar:docker.io/library/busybox:latest` picks one.
load() reads both, older Docker archives (`<id>/layer.tar`, symlinked duplicates), Podman's and
skopeo's (gzip or zstd layers), as tar or tar.gz, from a path or a stream. Every config and layer
is checked against its digest before anything enters the store, so a truncated or corrupt
archive raises ContentError and leaves nothing behind.
"""
from __future__ import annotations

import json
import os
import posixpath
import tarfile
import tempfile
from dataclasses import dataclass, field

from .errors import ContentError, InvalidArgument
from .image import reference
from .image.blobs import sha256_digest
from .image.compression import TAR_TYPE
from .image.layerdata import descriptor
from .image.layers import left_out_note
from .image.model import CONFIG_TYPE, INDEX_TYPE, MANIFEST_TYPE, canonical_json
from .image.platform import choose
from .image.snapshots import chain_id
from .image.staging import Staged
from .image.tarballs import open_source

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
FORMATS = ("docker-archive", "oci-archive")


@dataclass(frozen=True)
class Loaded:
    """One image load() stored, with the tags the archive gave it (familiar form)."""
    image: object
    tags: tuple[str, ...] = field(default=())


# -- save ----------------------------------------------------------------------------------

def save(store, refs: list[str], out, *, format: str | None = None) -> None:
    """Write the images `refs` name to `out` (a path, written atomically, or a binary stream)
    as `format` (docker-archive, the default, or oci-archive)."""
    format = format or FORMATS[0]
    if format not in FORMATS:
        raise InvalidArgument(f"unknown save format {format!r}: use docker-archive or "
                              "oci-archive")
    if not refs:
        raise InvalidArgument("save needs at least one image")
    images = _images_to_save(store, refs)
    docker = format == "docker-archive"
    if not isinstance(out, (str, os.PathLike)):
        _write_archive(store, images, out, docker)
        return
    if os.path.isdir(out):
        raise InvalidArgument(f"can't save to {out}: is a directory")
    directory = os.path.dirname(os.path.abspath(out))
    try:
        fd, temp = tempfile.mkstemp(prefix=".save-", dir=directory)
    except FileNotFoundError:
        raise InvalidArgument(f"can't save to {out}: no such directory {directory}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            _write_archive(store, images, f, docker)
        os.rename(temp, out)
    except BaseException:
        os.unlink(temp)
        raise


def _images_to_save(store, refs) -> dict:
    """{image id: (Image, [full tags to record])}, in the order first named."""
    images: dict = {}
    for text in refs:
        image = store.get(text)
        entry = images.setdefault(image.id, (image, []))
        try:
            name = str(reference.parse(text))
        except InvalidArgument:
            name = None
        if name in image.tags and name not in entry[1]:
            entry[1].append(name)
    return images


def _write_archive(store, images: dict, out, docker: bool) -> None:
    """The OCI layout, and with `docker` Docker's manifest.json and repositories beside it."""
    manifests, index, repositories, written = [], [], {}, set()
    tar = _TarOut(out)
    tar.add(_info("blobs/", kind=tarfile.DIRTYPE))
    tar.add(_info("blobs/sha256/", kind=tarfile.DIRTYPE))
    for image, tags in images.values():
        config = store.blobs.read(_config_digest(store, image))
        config_digest = sha256_digest(config)
        _add_blob(tar, config_digest, written, data=config)
        for layer in image.layers:
            _add_layer(tar, store, layer, written)
        oci = canonical_json({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": config_digest,
                       "size": len(config)},
            "layers": [{"mediaType": TAR_TYPE, "digest": layer.diff_id,
                        "size": layer.size} for layer in image.layers]})
        oci_digest = sha256_digest(oci)
        _add_blob(tar, oci_digest, written, data=oci)
        descriptor = {"mediaType": MANIFEST_TYPE, "digest": oci_digest, "size": len(oci),
                      "platform": _platform(config)}
        index += [{**descriptor, "annotations": {
            "io.containerd.image.name": tag,
            "org.opencontainers.image.ref.name": reference.parse(tag).tag if docker else tag}}
            for tag in tags] or [descriptor]
        manifests.append({"Config": _blob_name(config_digest),
                          "RepoTags": [reference.familiar(t) for t in tags] or None,
                          "Layers": [_blob_name(layer.diff_id) for layer in image.layers]})
        for tag in tags:
            ref = reference.parse(tag)
            top = image.layers[-1].diff_id.split(":", 1)[1] if image.layers else ""
            repositories.setdefault(reference.familiar_name(ref), {})[ref.tag] = top
    _add_file(tar, "index.json", canonical_json(
        {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": index}))
    if docker:
        _add_file(tar, "manifest.json", json.dumps(manifests).encode())
    _add_file(tar, "oci-layout", OCI_LAYOUT)
    if docker and repositories:
        _add_file(tar, "repositories", json.dumps(repositories).encode())
    tar.close()


def _platform(config: bytes) -> dict:
    """The index descriptor's platform, from the image config."""
    document = json.loads(config)
    platform = {"architecture": document.get("architecture") or "amd64",
                "os": document.get("os") or "linux"}
    if document.get("variant"):
        platform["variant"] = document["variant"]
    return platform


class _TarOut:
    """A tar written straight to `out`: headers from tarfile, content streamed in chunks."""

    def __init__(self, out):
        self.out, self.offset = out, 0

    def add(self, info: tarfile.TarInfo, chunks=()) -> None:
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        self.out.write(header)
        written = 0
        for chunk in chunks:
            self.out.write(chunk)
            written += len(chunk)
        if written != info.size:
            raise ContentError(f"{info.name}: {written} bytes, its header says {info.size}")
        padding = -written % tarfile.BLOCKSIZE
        self.out.write(bytes(padding))
        self.offset += len(header) + written + padding

    def close(self) -> None:
        end = 2 * tarfile.BLOCKSIZE
        self.out.write(bytes(end + (-(self.offset + end) % tarfile.RECORDSIZE)))


def _config_digest(store, image) -> str:
    return json.loads(store.blobs.read(image.manifest_digest))["config"]["digest"]


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _info(name: str, size: int = 0, kind=tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime = size, kind, 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def _add_file(tar: _TarOut, name: str, data: bytes) -> None:
    tar.add(_info(name, len(data)), [data])


def _add_blob(tar: _TarOut, digest: str, written: set, *, data: bytes) -> None:
    if digest not in written:
        written.add(digest)
        _add_file(tar, _blob_name(digest), data)


def _add_layer(tar: _TarOut, store, layer, written: set) -> None:
    """The layer's uncompressed tar as blobs/sha256/<diff_id>, rebuilt and checked as it
    streams (ContentError at its end if it doesn't match: the caller drops the output)."""
    if layer.diff_id in written:
        return
    written.add(layer.diff_id)
    tar.add(_info(_blob_name(layer.diff_id), layer.size), store.layer_tar(layer))


# -- load ----------------------------------------------------------------------------------

def load(store, source, on_event=None) -> list[Loaded]:
    """Load every image of a Docker or OCI archive (path or binary stream, plain or gzip).

    One pass: layers are unpacked while the archive streams (image/staging.py), their diff
    ids hashed on the way, and checked against the configs once the manifest has been read;
    nothing enters the store until every image checks out. Device nodes in a layer are left
    out, each such layer named in a `{"type": "note", "message": ...}` event.
    """
    staged = Staged(store)
    try:
        if isinstance(source, (str, os.PathLike)):
            with open_source(source) as f:
                staged.read(f)
        else:
            staged.read(source)
        plans = [_verify(staged, plan) for plan in _plans(staged)]
        return [_store_image(store, staged, plan, on_event) for plan in plans]
    finally:
        staged.cleanup()


@dataclass
class _Plan:
    """One image to load: its config file, layer files and tags (full references)."""
    config: str
    layers: list[str]
    tags: list[str]
    config_digest: str | None = None      # the digest the archive names the config by
    config_bytes: bytes = b""


def _plans(archive: Staged) -> list[_Plan]:
    """The images the archive describes; ContentError when its manifest is malformed."""
    try:
        return _described(archive)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ContentError(f"the archive's manifest.json or index.json is malformed: "
                           f"{type(exc).__name__}: {exc}") from None


def _described(archive: Staged) -> list[_Plan]:
    if archive.has("manifest.json"):
        return [_Plan(entry["Config"], list(entry.get("Layers") or []),
                      [reference.normalize(t) for t in entry.get("RepoTags") or []],
                      _digest_in_name(entry["Config"]))
                for entry in archive.json("manifest.json")]
    if archive.has("index.json"):
        return [plan for descriptor in archive.json("index.json").get("manifests", [])
                for plan in _oci_plans(archive, descriptor)]
    raise ContentError("not an image archive: no manifest.json or index.json")


def _oci_plans(archive, descriptor: dict, names=()) -> list[_Plan]:
    """Plans for an OCI descriptor: a manifest, or an index (this host's platform picked)."""
    annotations = descriptor.get("annotations") or {}
    name = annotations.get("io.containerd.image.name") or annotations.get(
        "org.opencontainers.image.ref.name")
    tags = list(names) + ([reference.normalize(name)] if name and _is_reference(name) else [])
    document = archive.json(_blob_name(descriptor["digest"]))
    if "manifests" in document:
        entry = choose(document["manifests"], None, "the archive's index")
        return _oci_plans(archive, entry, tags)
    return [_Plan(_blob_name(document["config"]["digest"]),
                  [_blob_name(layer["digest"]) for layer in document.get("layers", [])],
                  tags, document["config"]["digest"])]


def _is_reference(name: str) -> bool:
    """True for a full reference (`busybox:1`), False for a bare OCI ref.name such as `1.0`."""
    try:
        reference.parse(name)
    except InvalidArgument:
        return False
    return "/" in name or ":" in name


def _digest_in_name(name: str) -> str | None:
    """`blobs/sha256/<hex>` or legacy `<hex>.json` -> `sha256:<hex>`, else None."""
    base = posixpath.basename(name).removesuffix(".json")
    return "sha256:" + base if len(base) == 64 else None


def _verify(staged: Staged, plan: _Plan) -> _Plan:
    """Check the config and every layer against their digests before anything is stored."""
    plan.config_bytes = staged.bytes(plan.config)
    digest = sha256_digest(plan.config_bytes)
    if plan.config_digest and plan.config_digest != digest:
        raise ContentError(f"the archive's config {plan.config} is corrupt: its content is "
                           f"{digest}")
    try:
        config = json.loads(plan.config_bytes)
        diff_ids = config["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ContentError(f"the archive's config {plan.config} is not an image config") from exc
    if not isinstance(diff_ids, list) or len(diff_ids) != len(plan.layers):
        raise ContentError(f"image {digest[7:19]}: {len(plan.layers)} layers in the archive, "
                           f"{len(diff_ids)} diff_ids in its config")
    for name, diff_id in zip(plan.layers, diff_ids):
        actual = staged.layer(name).digest
        if actual != diff_id:
            raise ContentError(f"the archive's layer {name} is corrupt: its content is "
                               f"{actual}, the config says {diff_id}")
    plan.layers = list(zip(plan.layers, diff_ids))
    return plan


def _store_image(store, staged: Staged, plan: _Plan, on_event) -> Loaded:
    parent, layers = None, []
    for name, diff_id in plan.layers:
        chain = chain_id(parent.chain_id if parent else None, diff_id)
        if store.snapshots.exists(chain):
            parent = store.layer(chain)
        else:
            parent = staged.commit(name, parent)
            left_out = staged.layer(name).left_out
            if left_out and on_event is not None:
                on_event({"type": "note", "message": f"layer {name}: "
                          + left_out_note(left_out)})
        layers.append(parent)
    manifest = canonical_json({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": sha256_digest(plan.config_bytes),
                   "size": len(plan.config_bytes)},
        "layers": [descriptor(store, layer) for layer in layers]})
    image = store.add_image(plan.config_bytes, manifest, tags=plan.tags)
    return Loaded(image, tuple(reference.familiar(t) for t in plan.tags))
