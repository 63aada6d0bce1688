"""The image collection of one engine (docker-py's `client.images`), over the image store.

Every call that writes into the store (pull, load, import, build, commit, bootstrap) records an
intent while it runs; temp files of such a call that was killed are removed by the next engine
use or prune once no writer is alive (recovery.py).

The builder, the registry client and the archive formats are imported by the calls that use
them (the figures: CPU time of the import on top of the image store), so listing images or
running a container pays for none of them.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager

from . import events, intents
from .errors import ContentError, DockyardError, ImageNotFound, InvalidArgument
from .image.layers import apply
from .image.reference import parse
from .recovery import WRITER_PREFIX, sweep_store, writers_alive


class Images:
    def __init__(self, engine):
        self.engine = engine
        self.store = engine.store

    def get(self, ref: str):
        return self.store.get(ref)

    def list(self, name=None, all=False, filters=None):
        """Images, newest first; `name` (REPOSITORY[:TAG], globs allowed) and `filters`
        (docker-py's dict or `--filter` strings) as `docker images` applies them."""
        images = self.store.list()
        if name or filters:
            from .filters import select_images       # ~5 ms: filtered lists only
            return select_images(self.engine, images, filters, name)
        return images

    def get_or_pull(self, ref: str, pull: str = "missing", *, platform=None, on_event=None):
        """The image to run: local, or pulled as `docker run --pull` says (missing|always|never);
        with `platform` ("linux/arm64") a local image for another platform is pulled again."""
        if pull == "always":
            return self.pull(ref, platform=platform, on_event=on_event)
        try:
            image = self.get(ref)
        except ImageNotFound as missing:
            if pull == "never" or _looks_like_an_id(ref):
                raise
            try:
                return self.pull(ref, platform=platform, on_event=on_event)
            except DockyardError as exc:
                raise ImageNotFound(f"{missing}, and pulling it failed: {exc}") from None
        if platform and _platform_of(image) != _normal_platform(platform):
            if pull == "never" or _looks_like_an_id(ref):
                raise ImageNotFound(
                    f"image with reference {ref} was found but does not match the specified "
                    f"platform: wanted {_normal_platform(platform)}, actual: {_platform_of(image)}")
            return self.pull(ref, platform=platform, on_event=on_event)
        return image

    def inspect(self, ref: str) -> dict:
        return self.store.inspect(self.store.get(ref))

    def summary(self, image) -> dict:
        """The image as `GET /images/json` lists it (what `docker images` shows): familiar
        RepoTags and RepoDigests, Created in Unix seconds, Size, Labels."""
        from .image.inspect import summary as image_summary     # ~5 ms: list output only
        return image_summary(image)

    def history(self, ref: str) -> list[dict]:
        return self.store.history(self.store.get(ref))

    def tag(self, ref: str, new_ref: str):
        self.store.tag(ref, new_ref)
        self._emit("tag", self.store.get(new_ref).id, new_ref)

    def remove(self, ref: str, force=False) -> list[dict]:
        images = {image.id for image in self.store.list()}
        report = self.store.remove(ref, force=force, in_use=self.engine.containers.images_in_use())
        self._report(report, images)
        return report

    def prune(self, all=False) -> dict:
        """docker image prune; also the temp files of writes that were killed."""
        images = {image.id for image in self.store.list()}
        report = self.store.prune(in_use=self.engine.containers.images_in_use(), all=all)
        self._report(report.get("ImagesDeleted") or [], images)
        if not writers_alive(self.engine):
            sweep_store(self.engine)
        return report

    @contextmanager
    def _writing(self, op: str):
        with intents.held(self.engine.root, WRITER_PREFIX + secrets.token_hex(8), op):
            yield

    def _emit(self, action: str, actor: str, name: str | None = None) -> None:
        events.record(self.engine.root, "image", action, actor, {"name": name or actor})

    def _report(self, report: list[dict], images: set) -> None:
        """untag and delete events for an rmi/prune report (not for the layers it names)."""
        for entry in report:
            if "Untagged" in entry:
                self._emit("untag", entry["Untagged"])
            elif entry.get("Deleted") in images:
                self._emit("delete", entry["Deleted"])

    def bootstrap(self, name="busybox", tag=None, *, suite="bookworm", include=(),
                  cache_dir=None, on_event=None, epoch=None):
        """An image made on this host without a registry: busybox (from the host's static
        busybox), debian or python (mmdebstrap from the host's apt sources)."""
        kind = name.split(":")[0]
        if kind in ("debian", "python"):
            from .image.debian import bootstrap     # ~24 ms
            with self._writing("bootstrap"):      # a store sweep leaves its layer alone
                return bootstrap(self.store, kind, suite=suite, include=include, tag=tag,
                                 cache_dir=cache_dir, on_event=on_event, epoch=epoch)
        if kind != "busybox":
            raise InvalidArgument(f"can't bootstrap {name!r}: known are busybox, debian, python")
        if include:
            raise InvalidArgument("--include is for debian and python, not busybox")
        from .image.bootstrap import bootstrap_busybox      # ~7 ms
        with self._writing("bootstrap"):
            return bootstrap_busybox(self.store, tag or (name if ":" in name else "busybox:latest"))

    def import_image(self, source, reference=None, changes=None, message=None, on_event=None):
        """docker import: a rootfs tarball (path or file object) becomes a one-layer image;
        device nodes it holds are left out, named in one {"type": "note"} event."""
        from .image.bootstrap import import_tarball     # ~7 ms
        with self._writing("import"):
            image = import_tarball(self.store, source, reference, changes=changes,
                                   message=message, on_event=on_event)
        self._emit("import", image.id, reference)
        return image

    def build(self, dockerfile=None, *, context=None, **kwargs):
        """docker build; `context` is a directory, or a binary file holding a tar of one (plain
        or compressed: `docker build -`), unpacked for the build and removed after."""
        with self._writing("build"):
            return self._build(dockerfile, context=context, **kwargs)

    def _build(self, dockerfile, *, context, **kwargs):
        from .builder.build import build            # ~30 ms: the builder
        if context is None or not hasattr(context, "read"):
            return self._tagged(build(self.engine, dockerfile, context=context, **kwargs))
        base = self.engine.root / "buildcache" / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        unpacked = tempfile.mkdtemp(prefix="context-", dir=base)
        try:
            try:
                apply(context, unpacked, overlay=False)
            except ContentError as exc:
                raise InvalidArgument(f"the build context is not a usable tar archive: "
                                      f"{exc}") from None
            name = kwargs.get("dockerfile_path") or "Dockerfile"
            if dockerfile is None and not os.path.isfile(os.path.join(unpacked, name)):
                raise InvalidArgument(f"the build context (a tar archive) has no {name}")
            return self._tagged(build(self.engine, dockerfile, context=unpacked, **kwargs))
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)

    def _tagged(self, image):
        """tag events for a built image, as Docker's builder names it."""
        for name in image.tags:
            self._emit("tag", image.id, name)
        return image

    def commit(self, container, repository=None, tag=None, *, message=None, author=None,
               changes=None, conf=None):
        from .builder.commit import commit          # ~31 ms: the builder
        with self._writing("commit"):
            image = commit(self.engine, container, repository, tag, message=message,
                           author=author, changes=changes, conf=conf)
        container.emit("commit", comment=message or "", imageID=image.id)
        return image

    def pull(self, name, *, platform=None, on_event=None, credentials=None):
        """docker pull: the Image, stored and tagged (by digest: untagged, found by name@digest).

        credentials: (username, password) for this pull only (else the saved login's). A
        Docker Hub name is tried on the engine's registry mirrors first, in order; one that
        fails is passed over with a {"type": "note"} event saying why."""
        from .registry.pull import pull             # ~29 ms: the registry client
        client, mirrors = self._client(name, credentials), self._mirrors(name)
        try:
            with self._writing("pull"):
                image = pull(self.store, name, platform=platform, on_event=on_event,
                             client=client, mirrors=mirrors)
        finally:
            for each in (client, *mirrors):
                each.close()
        self._emit("pull", name)
        return image

    def push(self, name, *, on_event=None, chunk_size=None, credentials=None,
             compression=None, platform=None) -> dict:
        """docker push: {"ref", "digest", "size"} of the manifest the registry now has.

        `compression` ("gzip" or "zstd") is how layers made here travel; the default comes
        from $DOCKYARD_COMPRESSION or registries.json, else gzip. `platform` ("linux/amd64"):
        the image must be for it."""
        from .registry.push import push             # ~29 ms: the registry client
        with self._client(name, credentials) as client:
            result = push(self.store, name, on_event=on_event, chunk_size=chunk_size,
                          client=client, compression=compression, platform=platform)
        self._emit("push", name)
        return result

    def _client(self, name, credentials=None, *, domain=None):
        """A RegistryClient for the registry `name` names (or `domain`), with the engine's
        transport and settings."""
        from .registry.client import RegistryClient     # ~26 ms
        domain = domain or parse(name).domain
        return RegistryClient(domain, root=self.engine.root,
                              credentials=tuple(credentials) if credentials else None,
                              transport=self.engine.registry_transport,
                              insecure=domain in self.engine.registry_config()["insecure"])

    def _mirrors(self, name) -> list:
        """Clients of the engine's Docker Hub mirrors, for a Docker Hub name (else none)."""
        from .registry.client import RegistryClient     # ~26 ms
        if parse(name).domain != "docker.io":
            return []
        config = self.engine.registry_config()
        return [RegistryClient("docker.io", root=self.engine.root, endpoint=url,
                               transport=self.engine.registry_transport,
                               insecure=url.split("://")[-1] in config["insecure"])
                for url in config["mirrors"]]

    def save(self, refs, out, *, format=None):
        """docker save: write the images to `out` (a path or a binary stream) as `format`:
        "docker-archive" (the default, which is also an OCI layout) or "oci-archive"."""
        from .archive import save           # ~8 ms: docker save's formats
        refs = [refs] if isinstance(refs, str) else list(refs)
        save(self.store, refs, out, format=format)
        for ref in refs:
            self._emit("save", ref)

    def load(self, source, on_event=None):
        """docker load: the Loaded(image, tags) entries of an archive (a path or binary stream);
        device nodes in a layer are left out, named in {"type": "note"} events."""
        from .archive import load           # ~8 ms: docker load's formats
        with self._writing("load"):
            loaded = load(self.store, source, on_event)
        for entry in loaded:
            self._emit("load", entry.image.id, next(iter(entry.tags), None))
        return loaded

    def diff(self, first: str, second: str) -> dict:
        """Two images compared (files, config, layers, Debian and Python packages); the
        shape is engine/diff/compare.py's."""
        from .diff.compare import diff_images      # ~5 ms (the layer readers): diff only
        return diff_images(self.get(first), self.get(second), names=(first, second))

    def layer_contents(self, ref: str, index: int) -> list[dict]:
        """What layer `index` (0 = the bottom) of the image adds, changes and removes."""
        from .diff.compare import layer_contents   # ~5 ms (the layer readers): diff only
        return layer_contents(self.get(ref), index)

    def search(self, term: str, limit: int = 25) -> list[dict]:
        """docker search: results of the index's /v1/search (Docker Hub unless named)."""
        from .registry.search import search         # ~19 ms
        return search(term, limit=limit, transport=self.engine.registry_transport)

    def login(self, server, username, password, *, remember=True):
        """docker login: check the credentials with the registry, then keep them in auth.json
        (remember=False: only check, as dockerd's /auth does for the docker CLI)."""
        # ~26 ms: the registry client
        from .registry.auth import registry_domain, save_credentials
        with self._client(None, (username, password), domain=registry_domain(server)) as client:
            client.login()
        if remember:
            save_credentials(self.engine.root, server, username, password)

    def logout(self, server) -> bool:
        """docker logout: forget the server's credentials; False when there were none."""
        from .registry.auth import remove_credentials   # ~1 ms, with the registry package
        return remove_credentials(self.engine.root, server)


def _platform_of(image) -> str:
    config = image.config
    return "/".join(p for p in (config.get("os") or "linux", config.get("architecture") or "",
                                config.get("variant") or "") if p)


def _normal_platform(platform: str) -> str:
    """"amd64" -> "linux/amd64"; "linux/arm64/v8" stays."""
    return platform if "/" in platform else f"linux/{platform}"


def _looks_like_an_id(ref: str) -> bool:
    hexpart = ref.removeprefix("sha256:")
    return ref.startswith("sha256:") or (len(hexpart) >= 12 and all(
        c in "0123456789abcdef" for c in hexpart))
