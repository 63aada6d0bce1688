"""Docker's predefined proxy args reach RUN from the builder's environment and --build-arg,
and stay out of the image's history and the step cache key."""
from dockyard.engine.builder.stages import proxy_env

DOCKERFILE = "FROM busybox\nRUN echo \"$HTTP_PROXY|$no_proxy|$ALL_PROXY\" > /proxies\n"


def test_proxy_env_environment_then_build_args():
    env = {"HTTP_PROXY": "http://env:3128", "no_proxy": "localhost", "HOME": "/root"}
    assert proxy_env({"HTTP_PROXY": "http://arg:3128", "OTHER": "x"}, env) == [
        "HTTP_PROXY=http://arg:3128", "no_proxy=localhost"]


def test_proxies_reach_run_but_not_history_or_cache_key(engine, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    image = engine.images.build(DOCKERFILE, context=None, tag="proxies:1", nocache=True)
    out = engine.containers.run("proxies:1", ["cat", "/proxies"], remove=True, network="none")
    assert out == b"http://proxy.invalid:3128|localhost,127.0.0.1|\n"
    history = " ".join(h.get("CreatedBy", "") for h in engine.images.history("proxies:1"))
    assert "proxy.invalid" not in history and "127.0.0.1" not in history
    # another proxy (or none): the same cache key, so the step is not run again
    monkeypatch.setenv("HTTP_PROXY", "http://elsewhere.invalid:8080")
    events = []
    again = engine.images.build(DOCKERFILE, context=None, tag="proxies:2",
                                buildargs={"ALL_PROXY": "socks5://x.invalid"},
                                on_event=events.append)
    assert again.id == image.id
    assert any(e["type"] == "cache-hit" for e in events)
