"""Registries: an OCI distribution client, pull and push into the image store, login credentials.

    from dockyard.engine.registry.pull import pull
    image = pull(store, "127.0.0.1:5000/busybox:latest", on_event=print)

HTTP goes through httpx (transport.py), imported by the modules that talk to a registry, never
by this package itself, so importing it costs nothing.
"""
