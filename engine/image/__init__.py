"""Images: OCI blobs, layer tars with whiteouts, chain-id snapshots and a tags index.

    from dockyard.engine.image.store import ImageStore
    from dockyard.engine.image.bootstrap import bootstrap_busybox, import_tarball

reference.py parses names, blobs.py stores content, layers.py converts trees and tars,
snapshots.py unpacks layers for overlayfs, store.py ties them together under one lock.
"""
