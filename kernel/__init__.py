"""dockyard's Jupyter kernel: ipykernel with the dockyard extension preloaded."""
