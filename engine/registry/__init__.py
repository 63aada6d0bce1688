"""Registries: an OCI distribution client, pull and push into the image store, login credentials.

    from dockyard.engine.registry.pull import pull
    image = pull(store, "127.0.0.1:5000/busybox:latest", on_event=print)

Only the standard library talks HTTP here (http.client), so importing costs nothing.
"""
