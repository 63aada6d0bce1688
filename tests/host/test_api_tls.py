"""`dockyard daemon` on TCP: only with TLS client certificates (made here with openssl)."""
import shutil
import socket
import subprocess
import sys

import pytest

from api_daemon import DOCKER, Daemon

pytestmark = pytest.mark.skipif(not (DOCKER and shutil.which("openssl")),
                                reason="needs the docker CLI and openssl")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(d):
    """ca.pem; server-cert.pem/server-key.pem (127.0.0.1); cert.pem/key.pem (a client);
    other-cert.pem/other-key.pem (a client signed by another CA)."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN={ca}", "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
                          ("other", "other-ca", "client.ext")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
                f"{name}-key.pem", "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                f"{ca}-key.pem", "-CAcreateserial", "-days", "2", "-extfile", ext, "-out",
                f"{name}-cert.pem", cwd=d)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_needs_tls_client_certificates(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certificates(certs)
    port = free_port()
    host = f"tcp://127.0.0.1:{port}"
    with Daemon(tmp_path, hosts=[host], extra=[
            "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
            "--tlscert", str(certs / "server-cert.pem"),
            "--tlskey", str(certs / "server-key.pem")]) as daemon:
        def docker(*args, cert="client"):
            tls = ["--tlsverify", "--tlscacert", str(certs / "ca.pem")]
            if cert:
                tls += ["--tlscert", str(certs / f"{cert}-cert.pem"),
                        "--tlskey", str(certs / f"{cert}-key.pem")]
            env = {k: v for k, v in daemon.env.items() if k != "DOCKER_HOST"}
            return subprocess.run([DOCKER, "-H", host, *tls, *args], capture_output=True,
                                  text=True, env=env, timeout=60)
        ok = docker("version", "--format", "{{.Server.APIVersion}}")
        assert (ok.returncode, ok.stdout) == (0, "1.47\n"), ok.stderr
        attached = docker("run", "--rm", "busybox", "sh", "-c", "echo over-tls; exit 2")
        assert (attached.returncode, attached.stdout) == (2, "over-tls\n"), attached.stderr
        piped = subprocess.run(
            [DOCKER, "-H", host, "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
             "--tlscert", str(certs / "client-cert.pem"), "--tlskey",
             str(certs / "client-key.pem"), "run", "-i", "--rm", "busybox", "cat"],
            input="stdin over tls\n", capture_output=True, text=True, timeout=60,
            env={k: v for k, v in daemon.env.items() if k != "DOCKER_HOST"})
        assert piped.stdout == "stdin over tls\n", piped.stderr
        assert docker("version", cert=None).returncode != 0          # no client certificate
        assert docker("version", cert="other").returncode != 0       # a stranger's CA
        assert not daemon.sock.exists()                               # no unix socket asked


def test_tcp_without_tls_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root",
                             str(tmp_path / "root"), "daemon", "-H",
                             f"tcp://127.0.0.1:{free_port()}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Error: ") and "TLS" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
