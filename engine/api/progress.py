"""Engine progress events as Docker's JSON progress messages (pull, push), per layer.

    render = pull_messages("busybox:latest")
    for message in render({"type": "layer", "digest": ..., "status": "done", "size": 1}): ...

The CLI draws a line per `id` and docker-py yields the dicts; both key on `status`, `id`,
`progressDetail` and `progress`.
"""


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def bar(current: int, total: int) -> str:
    """Docker's `[=====>      ]  1.2MB/4.5MB`."""
    from ..units import human_size as size
    if total <= 0:
        return ""
    filled = min(50, int(50 * current / total))
    arrow = ("=" * filled + (">" if filled < 50 else "")).ljust(50)
    return f"[{arrow}] {size(current):>8}/{size(total)}"


def pull_messages(name: str):
    """A renderer: engine pull event -> list of Docker messages."""
    from ..image.reference import familiar, parse
    ref = parse(name)
    started = []

    def render(event: dict) -> list[dict]:
        out = []
        if not started:
            started.append(True)
            out.append({"status": f"Pulling from {ref.path}", "id": ref.tag or ref.digest})
        if event["type"] == "layer":
            layer, status = _short(event["digest"]), event["status"]
            if status == "exists":
                out.append({"status": "Already exists", "progressDetail": {}, "id": layer})
            elif status == "downloading" and not event.get("current"):
                out.append({"status": "Pulling fs layer", "progressDetail": {}, "id": layer})
            elif status == "downloading":
                current, total = event["current"], event.get("size") or 0
                out.append({"status": "Downloading",
                            "progressDetail": {"current": current, "total": total},
                            "progress": bar(current, total), "id": layer})
            elif status == "done":
                out.append({"status": "Pull complete", "progressDetail": {}, "id": layer})
        elif event["type"] == "pulled":
            what = "Image is up to date for" if event["status"] == "up to date" else \
                "Downloaded newer image for"
            out += [{"status": f"Digest: {event['digest']}"},
                    {"status": f"Status: {what} {familiar(ref)}"}]
        return out
    return render


def push_messages(name: str):
    """A renderer: engine push event (None: the opening line) -> list of Docker messages."""
    from ..image.reference import parse
    ref = parse(name)

    def render(event: dict | None) -> list[dict]:
        if event is None:
            return [{"status": f"The push refers to repository [{ref.name}]"}]
        if event["type"] == "pushed":
            return [{"status": f"{ref.tag}: digest: {event['digest']} size: {event['size']}"},
                    {"progressDetail": {}, "aux": {"Tag": ref.tag, "Digest": event["digest"],
                                                   "Size": event["size"]}}]
        if event["type"] != "layer":             # docker push shows layers, not the config
            return []
        layer, status = _short(event.get("layer") or event["digest"]), event["status"]
        if status == "preparing":
            return [{"status": "Preparing", "progressDetail": {}, "id": layer}]
        if status == "exists":
            return [{"status": "Layer already exists", "progressDetail": {}, "id": layer}]
        if status == "mounted":
            return [{"status": f"Mounted from {event.get('from', '')}", "progressDetail": {},
                     "id": layer}]
        if status == "uploading":
            current, total = event["current"], event.get("size") or 0
            return [{"status": "Pushing", "progressDetail": {"current": current, "total": total},
                     "progress": bar(current, total), "id": layer}]
        if status == "done":
            return [{"status": "Pushed", "progressDetail": {}, "id": layer}]
        return []
    return render
