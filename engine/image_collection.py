"""The image collection of one engine (docker-py's `client.images`), over the image store."""
from __future__ import annotations

from .errors import InvalidArgument


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
            from .filters import select_images
            return select_images(self.engine, images, filters, name)
        return images

    def inspect(self, ref: str) -> dict:
        return self.store.inspect(self.store.get(ref))

    def history(self, ref: str) -> list[dict]:
        return self.store.history(self.store.get(ref))

    def tag(self, ref: str, new_ref: str):
        self.store.tag(ref, new_ref)

    def remove(self, ref: str, force=False) -> list[dict]:
        return self.store.remove(ref, force=force, in_use=self.engine.containers.images_in_use())

    def prune(self, all=False) -> dict:
        return self.store.prune(in_use=self.engine.containers.images_in_use(), all=all)

    def bootstrap(self, name="busybox", tag=None):
        """An image made on this host without a registry; only `busybox` is known."""
        if name.split(":")[0] != "busybox":
            raise InvalidArgument(f"can't bootstrap {name!r}: only busybox is known "
                                  "(from the host's static busybox binary)")
        from .image.bootstrap import bootstrap_busybox
        return bootstrap_busybox(self.store, tag or (name if ":" in name else "busybox:latest"))

    def import_image(self, source, reference=None, changes=None, message=None):
        """docker import: a rootfs tarball (path or file object) becomes a one-layer image."""
        from .image.bootstrap import import_tarball
        return import_tarball(self.store, source, reference, changes=changes, message=message)

    def build(self, dockerfile=None, **kwargs):
        from .builder.build import build
        return build(self.engine, dockerfile, **kwargs)

    def commit(self, container, repository=None, tag=None, *, message=None, author=None,
               changes=None, conf=None):
        from .builder.commit import commit
        return commit(self.engine, container, repository, tag, message=message, author=author,
                      changes=changes, conf=conf)

    def pull(self, name, *, platform=None, on_event=None):
        """docker pull: the Image, stored and tagged (by digest: untagged, found by name@digest)."""
        from .registry.pull import pull
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
