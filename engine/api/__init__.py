"""dockyard's Docker Engine API server (`dockyard daemon`): routes over the Engine."""
