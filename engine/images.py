"""The image collection of one engine (docker-py's `client.images`), over the image store.

Every call that writes into the store (pull, load, import, build, commit, bootstrap) records an
intent while it runs; temp files of such a call that was killed are removed by the next engine
use or prune once no writer is alive (recovery.py).
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager

from .errors import InvalidArgument


class Images:
    def __init__(self, engine):
        self.engine = engine
        self.store = engine.store

    def get(self, ref: str):
        return self.store.get(ref)

    def list(self, all=False):
        return self.store.list()

    def inspect(self, ref: str) -> dict:
        return self.store.inspect(self.store.get(ref))

    def history(self, ref: str) -> list[dict]:
        return self.store.history(self.store.get(ref))

    def tag(self, ref: str, new_ref: str):
        self.store.tag(ref, new_ref)

    @contextmanager
    def _writing(self, op: str):
        from . import intents
        from .recovery import WRITER_PREFIX
        with intents.held(self.engine.root, WRITER_PREFIX + secrets.token_hex(8), op):
            yield

    def remove(self, ref: str, force=False) -> list[dict]:
        return self.store.remove(ref, force=force, in_use=self.engine.containers.images_in_use())

    def prune(self, all=False) -> dict:
        """docker image prune; also the temp files of writes that were killed."""
        from .recovery import sweep_store, writers_alive
        report = self.store.prune(in_use=self.engine.containers.images_in_use(), all=all)
        if not writers_alive(self.engine):
            sweep_store(self.engine)
        return report

    def bootstrap(self, name="busybox", tag=None):
        """An image made on this host without a registry; only `busybox` is known."""
        if name.split(":")[0] != "busybox":
            raise InvalidArgument(f"can't bootstrap {name!r}: only busybox is known "
                                  "(from the host's static busybox binary)")
        from .image.bootstrap import bootstrap_busybox
        with self._writing("bootstrap"):
            return bootstrap_busybox(self.store, tag or (name if ":" in name else "busybox:latest"))

    def import_image(self, source, reference=None, changes=None, message=None):
        """docker import: a rootfs tarball (path or file object) becomes a one-layer image."""
        from .image.bootstrap import import_tarball
        with self._writing("import"):
            return import_tarball(self.store, source, reference, changes=changes, message=message)

    def build(self, dockerfile=None, **kwargs):
        from .build.builder import build
        with self._writing("build"):
            return build(self.engine, dockerfile, **kwargs)

    def commit(self, container, repository=None, tag=None, *, message=None, author=None,
               changes=None, conf=None):
        from .build.commit import commit
        with self._writing("commit"):
            return commit(self.engine, container, repository, tag, message=message,
                          author=author, changes=changes, conf=conf)

    def pull(self, name, *, platform=None, on_event=None):
        """docker pull: the Image, stored and tagged (by digest: untagged, found by name@digest)."""
        from .registry.pull import pull
        with self._writing("pull"):
            return pull(self.store, name, platform=platform, on_event=on_event)

    def push(self, name, *, on_event=None, chunk_size=None) -> dict:
        """docker push: {"ref", "digest", "size"} of the manifest the registry now has."""
        from .registry.push import push
        return push(self.store, name, on_event=on_event, chunk_size=chunk_size)

    def save(self, refs, out):
        """docker save: write the images to `out` (a path or a binary stream)."""
        from .archive import save
        save(self.store, [refs] if isinstance(refs, str) else list(refs), out)

    def load(self, source):
        """docker load: the Loaded(image, tags) entries of an archive (a path or binary stream)."""
        from .archive import load
        with self._writing("load"):
            return load(self.store, source)

    def login(self, server, username, password):
        """docker login: check the credentials with the registry, then keep them in auth.json."""
        from .registry.auth import registry_domain, save_credentials
        from .registry.client import RegistryClient
        RegistryClient(registry_domain(server), root=self.engine.root,
                       credentials=(username, password)).login()
        save_credentials(self.engine.root, server, username, password)

    def logout(self, server) -> bool:
        """docker logout: forget the server's credentials; False when there were none."""
        from .registry.auth import remove_credentials
        return remove_credentials(self.engine.root, server)
