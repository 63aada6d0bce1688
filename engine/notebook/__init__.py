"""The notebook as an environment spec: its environment cells, their lock, and drift.

    cells.py      environment_cells(nb): %%dockerfile, %image bootstrap|pull, %dockyard use
    lockfile.py   the lock: versioned JSON (lock.schema.json), in metadata.dockyard or a sidecar
    record.py     a cell's lock entry from the builder's events (keys, diff_ids, bases)
    drift.py      compare(locked, current): same, drifted (first step and why), missing
    nbfile.py     notebooks in and out with nbformat, atomically

Pure except for reading and writing files: building is the engine's (notebook_collection.py).
"""
