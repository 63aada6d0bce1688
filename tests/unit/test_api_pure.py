"""The Engine API server's pure parts: HTTP over a socket pair, routing, the error table, the
create body mapping, filters, events, progress messages, stat modes."""
import json
import socket
import stat
import struct
import threading
import time

import pytest

from dockyard.engine import errors
from dockyard.engine.api import hostconfig
from dockyard.engine.api.app import Api
from dockyard.engine.api.http import Connection, Reply
from dockyard.engine.api.progress import pull_messages, push_messages
from dockyard.engine.api.status import status_of
from dockyard.engine.api.streams import frame
from dockyard.engine.api.transfer import go_file_mode


# -- HTTP over a socket pair -------------------------------------------------------------------
def serve(handler, headers=lambda: {"Api-Version": "1.47"}):
    """(client socket, server thread) with `handler(request)` answering on the server side."""
    client, server = socket.socketpair()
    thread = threading.Thread(target=Connection(server, handler, headers).serve, daemon=True)
    thread.start()
    client.settimeout(5)
    return client, thread


def read_response(sock) -> tuple[bytes, dict, bytes]:
    """(status line, headers, body) of one response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {k.decode().lower(): v.decode() for k, v in (line.split(b": ", 1) for line in lines)}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        body += sock.recv(65536)
    return status, headers, body


def test_keep_alive_chunked_request_body_and_head():
    seen = []

    def handler(request):
        seen.append((request.method, request.path, request.read()))
        return Reply(200, b"pong", "text/plain")
    client, _ = serve(handler)
    client.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    status, headers, body = read_response(client)
    assert status == b"HTTP/1.1 200 OK" and body == b"pong" and headers["api-version"] == "1.47"
    client.sendall(b"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = _head(client)
    assert headers["content-length"] == "4" and body == b""
    assert seen == [("POST", "/a", b"abcde"), ("HEAD", "/b", b"")]


def _head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    return status, {k.decode().lower(): v.decode() for k, v in
                    (line.split(b": ", 1) for line in lines)}, rest


def test_hijack_keeps_buffered_bytes_and_writes_after_half_close():
    def handler(request):
        raw = request.hijack("application/vnd.docker.raw-stream")
        received = b""
        while chunk := raw.read():
            received += chunk
        raw.write(b"got:" + received)          # after the client's shutdown(SHUT_WR)
        raw.close()
    client, thread = serve(handler)
    client.sendall(b"POST /attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                   b"Content-Length: 0\r\n\r\nearly-")
    client.sendall(b"late")
    client.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED") and b"Upgrade: tcp" in head
    assert rest == b"got:early-late"
    thread.join(5)


def test_api_routes_versions_and_errors_are_docker_shaped():
    api = Api(engine=None)
    client, _ = serve(api, api.common_headers)
    client.sendall(b"GET /v1.47/_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = read_response(client)
    assert (status, body) == (b"HTTP/1.1 200 OK", b"OK") and headers["ostype"] == "linux"
    client.sendall(b"GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = read_response(client)
    assert status.startswith(b"HTTP/1.1 400") and headers["content-type"] == "application/json"
    assert "Minimum supported API version is 1.24" in json.loads(body)["message"]
    client.sendall(b"GET /v1.47/nothing/here HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body = read_response(client)
    assert status.startswith(b"HTTP/1.1 404") and json.loads(body) == {"message": "page not found"}


@pytest.mark.parametrize("error, status", [
    (errors.ContainerNotFound("x"), 404), (errors.Conflict("x"), 409),
    (errors.DockerfileError("x"), 400), (errors.Unauthorized("x"), 401),
    (errors.RegistryError("x"), 502), (errors.Unsupported("x"), 501),
    (errors.HostError("x"), 500), (errors.BuildError("x"), 500), (OSError("x"), 500),
])
def test_error_table(error, status):
    assert status_of(error) == status


# -- the create body ---------------------------------------------------------------------------
CLI_BODY = {  # what docker run -p 8080:80 -v data:/data --rm -it sends (zero values trimmed)
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": True, "Tty": True,
    "OpenStdin": True, "StdinOnce": True, "Env": ["A=1"], "Cmd": ["sh"], "Image": "busybox",
    "Volumes": {}, "WorkingDir": "", "Entrypoint": None, "Labels": {"l": "v"},
    "ExposedPorts": {"80/tcp": {}},
    "HostConfig": {"Binds": ["data:/data"], "NetworkMode": "default",
                   "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                   "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": True,
                   "ConsoleSize": [30, 100], "LogConfig": {"Type": "", "Config": {}},
                   "CapAdd": None, "Dns": [], "DnsOptions": [], "ExtraHosts": None,
                   "CgroupnsMode": "private", "IpcMode": "private", "ShmSize": 0,
                   "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None,
                   "Devices": [], "Ulimits": [{"Name": "nofile", "Soft": 100, "Hard": 200}],
                   "Mounts": [{"Type": "tmpfs", "Target": "/scratch",
                               "TmpfsOptions": {"SizeBytes": 1048576}}]},
    "NetworkingConfig": {"EndpointsConfig": {"default": {}}},
}


def test_cli_create_body_becomes_run_options():
    plan = hostconfig.create_plan(CLI_BODY, name="web")
    o = plan.options
    assert (o.image, o.command, o.name, o.tty, o.stdin_open, o.auto_remove) == \
        ("busybox", ("sh",), "web", True, True, True)
    assert o.ports == ("8080:80/tcp",) and o.volumes == ("data:/data",)
    assert o.environment == ("A=1",) and o.labels == {"l": "v"} and o.network is None
    assert o.ulimits == ("nofile=100:200",)
    assert o.mounts == ("type=tmpfs,target=/scratch,tmpfs-size=1048576",)
    assert plan.console_size == (30, 100) and plan.connect == []
    assert o.expose == ("80/tcp",) and o.log_driver == "json-file" and o.dns == ()


def test_host_config_fields_the_engine_took_on():
    body = {"Image": "busybox", "HostConfig": {
        "Dns": ["10.0.0.53"], "DnsSearch": ["corp"], "ExtraHosts": ["db:10.0.0.2"],
        "ShmSize": 1 << 26, "Sysctls": {"net.ipv4.ip_forward": "1"}, "GroupAdd": ["audio"],
        "CpuShares": 512, "CpusetCpus": "0", "MemoryReservation": 1 << 25,
        "LogConfig": {"Type": "none"}, "OomKillDisable": True,
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x",
                     "CgroupPermissions": "rw"}]}}
    o = hostconfig.create_plan(body, platform="linux/amd64").options
    assert (o.dns, o.dns_search, o.extra_hosts) == (("10.0.0.53",), ("corp",), ("db:10.0.0.2",))
    assert (o.shm_size, o.cpu_shares, o.cpuset_cpus, o.memory_reservation) == \
        (1 << 26, 512, "0", 1 << 25)
    assert o.devices == ("/dev/null:/dev/x:rw",) and o.log_driver == "none"
    assert o.sysctls == {"net.ipv4.ip_forward": "1"} and o.group_add == ("audio",)
    assert o.oom_kill_disable and o.platform == "linux/amd64"


def test_restart_policy_health_check_and_log_options_reach_the_monitor():
    body = {**CLI_BODY, "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 100_000_000},
            "HostConfig": {**CLI_BODY["HostConfig"], "AutoRemove": False,
                           "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                           "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}}}
    o = hostconfig.create_plan(body).options
    assert o.restart_policy == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert o.healthcheck == {"Test": ["CMD-SHELL", "true"], "Interval": 100_000_000}
    assert o.log_opts == {"max-size": "1m"} and o.console_size == (30, 100)


@pytest.mark.parametrize("section, field, value", [
    ("HostConfig", "UTSMode", "host"), ("HostConfig", "CgroupnsMode", "host"),
    ("HostConfig", "Links", ["db:db"]), ("HostConfig", "PidMode", "host"),
    ("HostConfig", "BlkioWeight", 300), ("Config", "MacAddress", "02:42:ac:11:00:02"),
])
def test_unsupported_fields_are_named(section, field, value):
    body = json.loads(json.dumps(CLI_BODY))
    (body["HostConfig"] if section == "HostConfig" else body)[field] = value
    with pytest.raises(errors.InvalidArgument, match=f"{section}.{field}"):
        hostconfig.create_plan(body)


def test_unknown_fields_are_ignored_and_networks_split():
    plan = hostconfig.create_plan({
        "Image": "busybox", "SomethingNew": {"x": 1}, "Volumes": {"/data": {}, "/anon": {}},
        "HostConfig": {"NetworkMode": "front", "Binds": ["v:/data:rw"], "FutureField": True},
        "NetworkingConfig": {"EndpointsConfig": {
            "front": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.9.0.5"}},
            "back": {"Aliases": ["api"]}}}})
    o = plan.options
    assert (o.network, o.ip, o.network_aliases) == ("front", "10.9.0.5", ("web",))
    assert o.volumes == ("v:/data:rw", "/anon")      # /data is the bind's, not anonymous
    assert plan.connect == [("back", ("api",), None)]


@pytest.mark.parametrize("entrypoint, expected", [(None, None), ([], ()), ([""], ()),
                                                   (["/bin/sh", "-c"], ("/bin/sh", "-c"))])
def test_entrypoint(entrypoint, expected):
    body = {"Image": "busybox", "Entrypoint": entrypoint}
    assert hostconfig.create_plan(body).options.entrypoint == expected


# -- the build context -------------------------------------------------------------------------
def _tar(members) -> "io.BytesIO":
    import io
    import tarfile
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    data.seek(0)
    return data


def _member(name, content=b"", kind=None, link=""):
    import tarfile
    info = tarfile.TarInfo(name)
    info.size = len(content) if kind is None else 0
    if kind:
        info.type, info.linkname = kind, link
    return info, content if kind is None else None


def test_context_unpacks_files_links_and_refuses_escapes(tmp_path):
    import os
    import tarfile
    from dockyard.engine.api.build import unpack_context
    unpack_context(_tar([_member("./Dockerfile", b"FROM busybox\n"),
                         _member("dir/a", b"a"), _member("dir/b", kind=tarfile.LNKTYPE,
                                                          link="dir/a"),
                         _member("up", kind=tarfile.SYMTYPE, link="/etc/shadow"),
                         _member("up-hard", kind=tarfile.LNKTYPE, link="up")]), str(tmp_path))
    assert (tmp_path / "Dockerfile").read_bytes() == b"FROM busybox\n"
    assert (tmp_path / "dir" / "b").read_bytes() == b"a"
    assert os.readlink(tmp_path / "up-hard") == "/etc/shadow"     # the link, not its target
    for bad in (_member("../evil", b"x"), _member("/abs", b"x"),
                _member("x", kind=tarfile.LNKTYPE, link="../../etc/shadow")):
        with pytest.raises(errors.InvalidArgument, match="inside the build context"):
            unpack_context(_tar([bad]), str(tmp_path / "other"))


# -- filters, events, progress, modes ----------------------------------------------------------
def test_pull_and_push_messages():
    pull = pull_messages("localhost:5000/app:1")
    first = pull({"type": "layer", "digest": "sha256:" + "ab" * 32, "status": "downloading",
                  "size": 100})
    assert first == [{"status": "Pulling from app", "id": "1"},
                     {"status": "Pulling fs layer", "progressDetail": {}, "id": "ab" * 6}]
    moving = pull({"type": "layer", "digest": "sha256:" + "ab" * 32, "status": "downloading",
                   "size": 100, "current": 50})[0]
    assert moving["progressDetail"] == {"current": 50, "total": 100}
    assert moving["progress"].startswith("[" + "=" * 25 + ">")
    push = push_messages("localhost:5000/app:1")
    assert push(None) == [{"status": "The push refers to repository [localhost:5000/app]"}]
    done = push({"type": "pushed", "digest": "sha256:" + "cd" * 32, "size": 527})
    assert done[0]["status"] == f"1: digest: sha256:{'cd' * 32} size: 527"


def test_frames_and_go_file_modes():
    assert frame("stderr", b"err\n") == struct.pack(">BxxxL", 2, 4) + b"err\n"
    assert go_file_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert go_file_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert go_file_mode(stat.S_IFREG | stat.S_ISUID | 0o4755 & 0o777) == (1 << 23) | 0o755
