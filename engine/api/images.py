"""Image routes: list, inspect, history, tag, remove, prune, pull and import (create), push,
save (get), load, commit, search (the index's /v1/search; an index out of reach is a 502
naming it, as any registry error is)."""
import base64
import binascii
import json

from ..errors import DockyardError, InvalidArgument
from .http import JSON, Reply, json_line, json_reply
from .progress import pull_messages, push_messages

ROUTES = [
    ("GET", "/images/json", "list_images"),
    ("POST", "/images/create", "create"),
    ("POST", "/images/load", "load"),
    ("GET", "/images/get", "save_many"),
    ("GET", "/images/search", "search"),
    ("POST", "/images/prune", "prune"),
    ("POST", "/commit", "commit"),
    ("GET", "/images/{name*}/json", "inspect"),
    ("GET", "/images/{name*}/history", "history"),
    ("GET", "/images/{name*}/get", "save_one"),
    ("POST", "/images/{name*}/tag", "tag"),
    ("POST", "/images/{name*}/push", "push"),
    ("DELETE", "/images/{name*}", "remove"),
]

def list_images(api, request):
    from ..image.inspect import summary
    from .containers import filters_of
    # API < 1.41 sent a reference pattern as `filter`
    images = api.engine.images.list(name=request.arg("filter") or None,
                                    filters=filters_of(request))
    return [summary(image) for image in images]


def inspect(api, request):
    return api.engine.images.inspect(request.params["name"])


def history(api, request):
    return api.engine.images.history(request.params["name"])


def tag(api, request):
    repo = request.arg("repo")
    if not repo:
        raise InvalidArgument("tag needs a repository (?repo=)")
    new = f"{repo}:{request.arg('tag')}" if request.arg("tag") else repo
    image = api.engine.images.get(request.params["name"])
    api.engine.images.tag(request.params["name"], new)
    return Reply(201)


def remove(api, request):
    return api.engine.images.remove(request.params["name"], force=request.flag("force"))


def prune(api, request):
    from .containers import filters_of
    wanted = filters_of(request, ("dangling", "label", "until"))
    if wanted.get("label") or wanted.get("until"):
        raise InvalidArgument("image prune filters other than dangling are not supported")
    return api.engine.images.prune(all=wanted.boolean("dangling") is False)


def search(api, request):
    term = request.arg("term")
    if not term:
        raise InvalidArgument("search needs a term (?term=)")
    return api.engine.images.search(term, limit=request.number("limit", 25) or 25)


# -- pull, import, push --------------------------------------------------------------------------
def credentials(request) -> tuple[str, str] | None:
    """(username, password) from X-Registry-Auth (base64url JSON), or None."""
    header = request.headers.get("x-registry-auth")
    if not header:
        return None
    try:
        padded = header + "=" * (-len(header) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        raise InvalidArgument("invalid X-Registry-Auth header") from None
    if data.get("auth") and not data.get("username"):
        user, _, password = base64.b64decode(data["auth"]).decode().partition(":")
        return (user, password)
    if data.get("username"):
        return (data["username"], data.get("password") or "")
    return None


class LazyStream:
    """A JSON progress stream whose status line goes out with its first message, so an error
    before any progress is still an HTTP error (docker pull of a missing image: 404)."""

    def __init__(self, request, content_type: str = JSON):
        self.request, self.content_type, self.out = request, content_type, None

    def write(self, data: bytes) -> None:
        if self.out is None:
            self.out = self.request.stream(self.content_type)
        self.out.write(data)

    def send(self, message: dict) -> None:
        self.write(json_line(message))

    def run(self, work) -> None:
        """Run work(); an engine error after the first message goes in the stream."""
        try:
            work()
        except DockyardError as exc:
            if self.out is None:
                raise
            self.send({"errorDetail": {"message": str(exc)}, "error": str(exc)})
        if self.out is None:
            self.out = self.request.stream(self.content_type)
        self.out.close()


def create(api, request):
    if request.arg("fromSrc"):
        return _import(api, request)
    name = request.arg("fromImage")
    if not name:
        raise InvalidArgument("fromImage or fromSrc is required")
    tag = request.arg("tag")
    if tag:
        name = f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"
    platform = request.arg("platform") or None
    out = LazyStream(request)
    render = pull_messages(name)

    def work():
        image = api.engine.images.pull(name, platform=platform, credentials=credentials(request),
                                       on_event=lambda e: [out.send(m) for m in render(e)])
    out.run(work)


def _import(api, request):
    if request.arg("fromSrc") != "-":
        raise InvalidArgument("import from a URL is not supported; send the tarball (fromSrc=-)")
    repo, tag = request.arg("repo"), request.arg("tag")
    ref = f"{repo}:{tag}" if repo and tag else repo
    image = api.engine.images.import_image(request.file(), ref or None,
                                           changes=request.args("changes") or None,
                                           message=request.arg("message"))
    out = request.stream(JSON)
    out.write(json_line({"status": image.id}))
    out.close()


def push(api, request):
    name = request.params["name"]
    if request.arg("tag"):
        name = f"{name}:{request.arg('tag')}"
    api.engine.images.get(name)             # 404 before any progress
    out = LazyStream(request)
    render = push_messages(name)
    for message in render(None):
        out.send(message)

    platform = _platform_object(request.arg("platform"))

    def work():
        api.engine.images.push(name, credentials=credentials(request), platform=platform,
                               on_event=lambda e: [out.send(m) for m in render(e)])
    out.run(work)


def _platform_object(text: str | None) -> str | None:
    """API 1.46's push `platform`: a JSON OCI platform object, as `os/arch[/variant]`."""
    if not text:
        return None
    try:
        given = json.loads(text)
        parts = [given["os"], given["architecture"], given.get("variant") or ""]
    except (ValueError, TypeError, KeyError):
        raise InvalidArgument(f"invalid platform {text!r}: a JSON OCI platform "
                              '{"os": ..., "architecture": ...}') from None
    return "/".join(p for p in parts if p)


# -- save, load, commit --------------------------------------------------------------------------
def save_one(api, request):
    _save(api, request, [request.params["name"]])


def save_many(api, request):
    names = request.args("names")
    if not names:
        raise InvalidArgument("save needs at least one image (?names=)")
    _save(api, request, names)


def _save(api, request, names) -> None:
    for name in names:
        api.engine.images.get(name)         # 404 before the tar starts
    out = LazyStream(request, "application/x-tar")
    api.engine.images.save(names, out)
    if out.out is None:
        out.out = request.stream("application/x-tar")
    out.out.close()


def load(api, request):
    loaded = api.engine.images.load(request.file())
    out = request.stream(JSON)
    for entry in loaded:
        names = entry.tags or (entry.image.id,)
        for name in names:
            what = "Loaded image" if entry.tags else "Loaded image ID"
            # quiet only drops progress bars; the CLI asks for it whenever it has no terminal
            out.write(json_line({"stream": f"{what}: {name}\n"}))
    out.close()


def commit(api, request):
    container = api.engine.containers.get(request.arg("container") or "")
    config = request.json()
    changes = request.args("changes")
    image = container.commit(request.arg("repo") or None, request.arg("tag") or None,
                             message=request.arg("comment") or None,
                             author=request.arg("author") or None,
                             changes=changes or None, conf=config or None)
    return json_reply({"Id": image.id}, 201)

