"""A real registry for tests: Debian's docker-registry (distribution 2.8) on a free port of
127.0.0.1, its storage in the test's temp dir; stop() ends it.

    registry = Registry(tmp_path / "registry", users={"alice": "s3cret"})
    engine.images.push(f"{registry.address}/app:1")
"""
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings

REGISTRY = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def htpasswd_line(user: str, password: str) -> str:
    # The registry accepts only bcrypt; glibc's crypt(3) (libxcrypt) makes $2b$ hashes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"


class Registry:
    """A running docker-registry: `.address` is host:port, `.storage` its filesystem root;
    with `proxy` (a registry's URL) it is a pull-through mirror of that registry."""

    def __init__(self, directory, users=None, proxy=None):
        directory.mkdir()
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.storage = directory / "storage"
        config = (f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                  f"    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
                  f"http:\n  addr: {self.address}\n")
        if users:
            (directory / "htpasswd").write_text("".join(htpasswd_line(u, p)
                                                        for u, p in users.items()))
            config += (f"auth:\n  htpasswd:\n    realm: dockyard-test\n"
                       f"    path: {directory / 'htpasswd'}\n")
        if proxy:                                  # a pull-through cache of `proxy`
            config += f"proxy:\n  remoteurl: {proxy}\n"
        (directory / "config.yml").write_text(config)
        self.process = subprocess.Popen([REGISTRY, "serve", str(directory / "config.yml")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                break
            except urllib.error.HTTPError:
                break                                  # 401: up, and asking for auth
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"docker-registry did not start: "
                                       f"{self.process.stderr.read().decode()[-500:]}")
                time.sleep(0.05)

    def blob_file(self, digest: str):
        hexpart = digest.split(":")[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()
