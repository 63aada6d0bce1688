"""Docker's filter rules, the fields list rows show, and the units they print in: each case is
what Docker's daemon or CLI does with the same input."""
import pytest

from dockyard.engine.cli.rows import ContainerRow, StatsRow, displayable_ports, ellipsis
from dockyard.engine.errors import InvalidArgument
from dockyard.engine.filters import Filters, path_match, select_networks, until
from dockyard.engine.container_inspect import command_text, host_config, port_bindings, status_text
from dockyard.engine.network.model import Network
from dockyard.engine.runtime.process import State
from dockyard.engine.units import bytes_size, human_duration, human_size


@pytest.mark.parametrize("key, values, source, matches", [
    ("name", ["web"], "/myweb1", True),              # unanchored regular expressions
    ("name", ["^/web$"], "/myweb1", False),
    ("name", ["db", "web"], "/web", True),           # values of one key are alternatives
    ("name", ["["], "[", True),                      # a bad regex still matches exactly
    ("id", [], "abc", True),                         # no values: no filter
])
def test_match(key, values, source, matches):
    assert Filters({key: values}).match(key, source) is matches


@pytest.mark.parametrize("values, labels, matches", [
    (["env"], {"env": "prod"}, True),
    (["env=prod"], {"env": "prod"}, True),
    (["env=dev"], {"env": "prod"}, False),
    (["env", "tier=web"], {"env": "x", "tier": "web"}, True),     # every label filter must hold
    (["env", "tier=web"], {"env": "x"}, False),
    (["env!=prod"], {"env": "dev"}, True),
    (["env!=prod"], {"env": "prod"}, False),
])
def test_labels(values, labels, matches):
    assert Filters({"label": values}).match_labels("label", labels) is matches


def test_parsing_and_validation():
    f = Filters.of(["name=a", "Name=b", "label=k=v=w"])
    assert f.values == {"name": ["a", "b"], "label": ["k=v=w"]}
    assert Filters.of({"dangling": True, "name": ["x", "y"]}).values == {
        "dangling": ["true"], "name": ["x", "y"]}
    assert Filters.of({"dangling": True}).boolean("dangling") is True
    with pytest.raises(InvalidArgument, match=r"bad format of filter \(expected name=value\): x"):
        Filters.of(["x"])
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        Filters.of(["colour=red"]).validate({"name"})
    with pytest.raises(InvalidArgument, match="invalid filter 'dangling=maybe'"):
        Filters.of(["dangling=maybe"]).boolean("dangling")


@pytest.mark.parametrize("pattern, name, matches", [
    ("app", "app", True), ("app*", "app2", True), ("*", "library/app", False),
    ("*/app", "library/app", True), ("app:?", "app:1", True), ("app:[0-9]", "app:x", False),
    ("app:[^0-9]", "app:x", True), ("a\\*", "a*", True),
])
def test_path_match_is_go_path_match(pattern, name, matches):
    assert path_match(pattern, name) is matches


def test_until_reads_durations_timestamps_and_dates():
    assert until("10m", 1000.0) == 400.0
    assert until("1h30m", 10000.0) == 10000.0 - 5400
    assert until("1700000000", 0) == 1700000000.0
    assert until("2024-01-02", 0) == until("2024-01-02T00:00:00Z", 0) == 1704153600.0
    with pytest.raises(InvalidArgument):
        until("soon", 0)


def network(name, driver="bridge", labels=None, endpoints=None, default=False):
    return Network(id=f"{name:0<64}"[:64].replace(" ", "0"), name=name, driver=driver,
                   subnet="10.0.0.0/24", gateway="10.0.0.1", internal=False, bridge="b",
                   created="2024-01-01T00:00:00Z", labels=labels or {}, default=default,
                   endpoints=endpoints or {})


NETWORKS = [network("bridge", default=True, endpoints={"c1": {}}),
            network("front", labels={"env": "prod"}, endpoints={"c2": {}}),
            network("spare", driver="macvlan")]


@pytest.mark.parametrize("filters, names", [
    (["name=front"], ["front"]),
    (["name=r"], ["bridge", "front", "spare"]),
    (["driver=bridge"], ["bridge", "front"]),
    (["label=env=prod"], ["front"]),
    (["type=builtin"], ["bridge"]),
    (["type=custom"], ["front", "spare"]),
    (["dangling=true"], ["spare"]),
    (["dangling=false"], ["bridge", "front"]),
    (["scope=local"], ["bridge", "front", "spare"]),
    (["scope=swarm"], []),
    (["id=front"], ["front"]),
])
def test_network_filters(filters, names):
    assert [n.name for n in select_networks(NETWORKS, filters)] == names


def test_network_filter_errors():
    with pytest.raises(InvalidArgument, match="invalid filter 'type=odd'"):
        select_networks(NETWORKS, ["type=odd"])
    with pytest.raises(InvalidArgument, match="invalid filter 'ipv6'"):
        select_networks(NETWORKS, ["ipv6=true"])


@pytest.mark.parametrize("ports, text", [
    ([], ""),
    ([{"PrivatePort": 80, "Type": "tcp"}], "80/tcp"),
    ([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
      {"PrivatePort": 443, "Type": "tcp"}], "443/tcp, 0.0.0.0:8080->80/tcp"),
    ([{"PrivatePort": p, "Type": "tcp"} for p in (8000, 8001, 8002, 9000)], "8000-8002/tcp, 9000/tcp"),
    ([{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "udp"} for p in (53, 54)],
     "0.0.0.0:53-54->53-54/udp"),
])
def test_ports_column(ports, text):
    assert displayable_ports(ports) == text


def test_ellipsis_and_command():
    assert ellipsis("sh -c 'while :; do :; done'", 20) == "sh -c 'while :; do …"
    assert ellipsis("short", 20) == "short"
    assert command_text({"Path": "sh", "Args": ["-c", "echo hi"]}) == "sh -c 'echo hi'"
    row = ContainerRow({"Id": "a" * 64, "Names": ["/web"], "Command": "sh -c 'echo hi'",
                        "Image": "busybox", "ImageID": "sha256:" + "b" * 64})
    assert (row.ID(), row.Names(), row.Command(), row.Image()) == (
        "a" * 12, "web", "\"sh -c 'echo hi'\"", "busybox")
    assert ContainerRow({"Id": "a" * 64, "Image": "sha256:" + "b" * 64,
                         "ImageID": "sha256:" + "b" * 64}).Image() == "b" * 12


@pytest.mark.parametrize("state, text", [
    (State("running", started_at="2024-01-01T00:00:00Z"), "Up 2 hours"),
    (State("exited", exit_code=137, started_at="2024-01-01T00:00:00Z",
           finished_at="2024-01-01T01:59:57Z"), "Exited (137) 3 seconds ago"),
    (State("created"), "Created"),
    (State("dead"), "Dead"),
])
def test_status_text(state, text):
    assert status_text(state, now=1704067200.0 + 7200) == text


def test_host_config_is_dockers():
    hc = host_config({"PortBindings": ["8080:80", "127.0.0.1::53/udp", "9000"],
                      "Tmpfs": ["/run:size=1m", "/tmp"], "NetworkMode": "default",
                      "CapAdd": [], "Init": False, "Dns": ["1.1.1.1"]})
    assert hc["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                  "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                                  "9000/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert hc["Tmpfs"] == {"/run": "size=1m", "/tmp": ""} and hc["NetworkMode"] == "bridge"
    assert hc["CapAdd"] is None and "Init" not in hc and hc["Dns"] == ["1.1.1.1"]
    assert list(hc)[:4] == ["Binds", "ContainerIDFile", "LogConfig", "NetworkMode"]
    assert port_bindings(["8000-8001:80-81"]) == {
        "80/tcp": [{"HostIp": "", "HostPort": "8000"}], "81/tcp": [{"HostIp": "", "HostPort": "8001"}]}


@pytest.mark.parametrize("function, value, text", [
    (human_size, 0, "0B"), (human_size, 999, "999B"), (human_size, 4261550, "4.26MB"),
    (human_size, 1000, "1kB"), (human_size, 1.5e9, "1.5GB"),
    (bytes_size, 0, "0B"), (bytes_size, 1536, "1.5KiB"), (bytes_size, 264 * 1024, "264KiB"),
    (bytes_size, 25275858944, "23.54GiB"), (bytes_size, 64 << 20, "64MiB"),
    (human_duration, 0.5, "Less than a second"), (human_duration, 1, "1 second"),
    (human_duration, 59, "59 seconds"), (human_duration, 61, "About a minute"),
    (human_duration, 3599, "59 minutes"), (human_duration, 5400, "2 hours"),
    (human_duration, 86400 * 3, "3 days"), (human_duration, 86400 * 20, "2 weeks"),
    (human_duration, 86400 * 90, "3 months"), (human_duration, 86400 * 800, "2 years"),
])
def test_units(function, value, text):
    assert function(value) == text


def test_stats_row_shows_docker_columns():
    row = StatsRow({"Container": "web", "Name": "/web", "ID": "c" * 64, "CPUPercentage": 12.345,
                    "Memory": 264 * 1024, "MemoryLimit": 64 << 20, "MemoryPercentage": 0.403,
                    "NetworkRx": 1500, "NetworkTx": 2.5e6, "BlockRead": 0, "BlockWrite": 4096,
                    "PidsCurrent": 3})
    assert [row.ID(), row.Name(), row.CPUPerc(), row.MemUsage(), row.MemPerc(), row.NetIO(),
            row.BlockIO(), row.PIDs()] == ["c" * 12, "web", "12.35%", "264KiB / 64MiB", "0.40%",
                                           "1.5kB / 2.5MB", "0B / 4.1kB", "3"]


def test_block_io_counters_of_both_cgroup_versions():
    from dockyard.engine.runtime.cgroups import _blkio_v1, _io_v2
    v1 = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 100\nTotal 4708\n"
    assert _blkio_v1(v1) == (4196, 512)
    v2 = "8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0\n"
    assert _io_v2(v2) == (4196, 512)
    assert _blkio_v1("") == _io_v2(None) == (0, 0)


def test_lists_sort_names_naturally():
    from dockyard.engine.cli.rows import natural_key
    assert sorted(["net10", "net2", "db", "net1a"], key=natural_key) == ["db", "net1a", "net2",
                                                                         "net10"]
