"""Images: OCI blobs, layer tars with whiteouts, chain-id snapshots and a tags index.

    from dockyard.engine.image.store import ImageStore
    from dockyard.engine.image.bootstrap import bootstrap_busybox, import_tarball

reference.py parses names, blobs.py stores content, layers.py turns trees into tars and
extract.py tars into trees (tarstream.py reads them, tarsplit.py keeps what rebuilds them),
compression.py reads and writes gzip and zstd, snapshots.py holds the unpacked layers,
layerdata.py and layerstore.py make and read them, staging.py reads an image archive in one
pass, store.py ties them together under one lock.
"""
