"""dockyard's Docker Engine API server (`dockyard daemon`): Docker's routes over the Engine.

    server.py      listeners (unix, TLS-only TCP), a thread per connection, SIGTERM
    http.py        HTTP/1.1 with h11: requests, replies, chunked streams, the attach/exec hijack
    app.py         the route tables, the /vX.Y prefix, errors -> statuses (status.py)
    system.py      _ping, version, info, events (the engine's log), system df, auth
    containers.py  create (hostconfig.py), list, inspect, life, rename, update, prune
    streams.py     attach, logs, wait;  exec.py: exec instances;  lifecycle.py: exits, --rm
    transfer.py    docker cp (archive), export, stats (stats.py)
    images.py      images, pull/push (progress.py), save/load;  build.py: classic /build
    networks.py, volumes.py
"""
