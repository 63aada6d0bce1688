"""docker search: Docker's /v1/search API of an index (Docker Hub's unless the term names one).

    search("nginx", limit=5)      # [{"name", "description", "star_count", "is_official", ...}]

Without network access this fails at once with a RegistryError that says which index could
not be reached; a plain distribution registry has no search and says so (404).
"""
import json
from urllib.parse import quote

import httpx

from ..errors import RegistryError
from .transport import Transport

HUB_INDEX = "index.docker.io"


def _index_and_query(term: str) -> tuple[str, str]:
    """("index.docker.io", "nginx") or ("localhost:5000", "app") for "localhost:5000/app"."""
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return HUB_INDEX, term


def search(term: str, *, limit: int = 25,
           transport: Transport | httpx.BaseTransport | None = None) -> list[dict]:
    """The index's results for `term`, through `transport` (a Transport given is not closed)."""
    index, query = _index_and_query(term)
    local = index.split(":")[0] in ("localhost", "127.0.0.1", "::1")
    url = f"{'http' if local else 'https'}://{index}/v1/search?q={quote(query)}&n={limit}"
    owned = transport is None or isinstance(transport, httpx.BaseTransport)
    if owned:
        transport = Transport(timeout=15, transport=transport)
    try:
        response = transport.request("GET", url, attempts=1)
        body = response.body()
    except RegistryError as exc:
        raise RegistryError(f"search {term}: cannot reach the search index {index} "
                            f"(offline?): {exc}") from None
    finally:
        if owned:
            transport.close()
    if response.status == 404:
        raise RegistryError(f"search {term}: {index} has no search API (GET /v1/search "
                            "answered 404)")
    if response.status >= 400:
        raise RegistryError(f"search {term}: {index} answered {response.status}")
    try:
        return json.loads(body)["results"][:limit]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"search {term}: {index} answered something that is not a "
                            "search result") from None
