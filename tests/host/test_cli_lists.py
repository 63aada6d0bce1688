"""`ps`, `network ls`, `stats` and `inspect` on real containers and networks: --filter,
--format and the fields Docker exposes, one command line per row."""
import json
import re

import pytest

from dockyard.engine.cli import main as cli


@pytest.fixture(scope="module")
def fleet(engine):
    """web (running, on lsnet, port 80 published), done (exited 3), fresh (created)."""
    nets = engine.networks
    nets.create("lsnet", labels={"team": "a"})
    nets.create("lsspare")
    web = engine.containers.run("busybox", ["sleep", "300"], detach=True, name="web",
                                labels={"env": "prod", "tier": "front"}, network="lsnet",
                                ports=["80"])
    done = engine.containers.run("busybox", ["sh", "-c", "exit 3"], detach=True, name="done",
                                 labels={"env": "dev"}, network="none")
    done.wait()
    fresh = engine.containers.create("busybox", ["true"], name="fresh", network="none")
    yield {"web": web, "done": done, "fresh": fresh}
    for c in (web, done, fresh):
        c.remove(force=True)
    for name in ("lsnet", "lsspare"):
        nets.remove(name)


@pytest.fixture
def dockyard(engine, capsys):
    def run(*argv, ok=True):
        rc = cli.main(["--data-root", str(engine.root), *argv])
        out, err = capsys.readouterr()
        if ok:
            assert (rc, err) == (0, ""), err
            return out
        return rc, out, err
    return run


@pytest.mark.parametrize("argv, names", [
    ([], ["web"]),
    (["-a"], ["fresh", "done", "web"]),                         # newest first
    (["-a", "--filter", "status=exited"], ["done"]),
    (["--filter", "status=created"], ["fresh"]),                # a status filter implies -a
    (["-a", "--filter", "label=env=prod"], ["web"]),
    (["-a", "--filter", "label=env"], ["done", "web"]),
    (["-a", "--filter", "label=env", "--filter", "label=tier"], ["web"]),
    (["-a", "--filter", "name=we"], ["web"]),                   # an unanchored regex
    (["-a", "-f", "name=web", "-f", "name=done"], ["done", "web"]),
    (["-a", "--filter", "exited=3"], ["done"]),
    (["-a", "--filter", "exited=0"], []),
    (["-a", "--filter", "ancestor=busybox"], ["fresh", "done", "web"]),
    (["-a", "--filter", "ancestor=busybox:nosuchtag"], []),
    (["-a", "--filter", "before=done"], ["web"]),
    (["-a", "--filter", "since=web"], ["fresh", "done"]),
    (["-a", "--filter", "network=lsnet"], ["web"]),
    (["-a", "--filter", "publish=80"], ["web"]),
    (["-a", "--filter", "expose=80-90/tcp"], ["web"]),
    (["-a", "--filter", "health=none", "--filter", "status=running"], ["web"]),
    (["-a", "--filter", "is-task=true"], []),
    (["-n", "2"], ["fresh", "done"]),                           # -n: any state
    (["-l"], ["fresh"]),
])
def test_ps_filters(fleet, dockyard, argv, names):
    assert dockyard("ps", *argv, "--format", "{{.Names}}").splitlines() == names


def test_ps_filter_by_id_and_volume(fleet, dockyard):
    cid = fleet["done"].id
    assert dockyard("ps", "-a", "--filter", f"id={cid[:10]}", "-q") == cid[:12] + "\n"
    assert dockyard("ps", "-a", "--filter", "volume=/nowhere", "-q") == ""


def test_ps_default_table_json_and_size(fleet, dockyard):
    header, *rows = dockyard("ps", "-a").splitlines()
    assert re.split(r"\s{2,}", header) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                           "STATUS", "PORTS", "NAMES"]
    web = next(r for r in rows if r.endswith(" web"))
    assert web.startswith(fleet["web"].short_id + "   busybox   \"sleep 300\"")
    assert re.search(r"Up (Less than a second|\d+ seconds?)\s+0\.0\.0\.0:\d+->80/tcp\s+web$", web)
    done = next(r for r in rows if r.endswith(" done"))
    assert re.search(r"Exited \(3\) .* ago", done)
    entry = json.loads(dockyard("ps", "--format", "json"))
    assert sorted(entry) == ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes",
                             "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size",
                             "State", "Status"]
    assert (entry["Names"], entry["Labels"], entry["Networks"], entry["State"]) == (
        "web", "env=prod,tier=front", "lsnet", "running")
    header, row = dockyard("ps", "-s").splitlines()
    assert header.endswith("   SIZE")
    assert re.search(r"\d+(\.\d+)?k?B \(virtual [\d.]+[kM]B\)$", row)
    out = dockyard("ps", "--no-trunc", "--format", "{{.ID}} {{.Command}} {{.Label \"tier\"}}")
    assert out == f'{fleet["web"].id} "sleep 300" front\n'


@pytest.mark.parametrize("argv, error", [
    (["--filter", "colour=red"], "Error: invalid filter 'colour'\n"),
    (["--filter", "status=sleepy"], "Error: invalid filter 'status=sleepy'\n"),
    (["--filter", "before=nosuch"], "Error: No such container: nosuch\n"),
    (["--format", "{{.Nope}}"], 'Error: template parsing error: template: :1:2: executing "" at '
                                '<.Nope>: can\'t evaluate field Nope in type '
                                '*formatter.ContainerContext\n'),
    (["--format", "{{.Names"], "Error: template parsing error: template: :1: unclosed action\n"),
])
def test_ps_errors_are_one_line(fleet, dockyard, argv, error):
    rc, out, err = dockyard("ps", *argv, ok=False)
    assert rc != 0 and (out, err) == ("", error)


@pytest.mark.parametrize("argv, names", [
    ([], ["lsnet", "lsspare"]),
    (["--filter", "name=spare"], ["lsspare"]),
    (["--filter", "label=team=a"], ["lsnet"]),
    (["--filter", "dangling=true"], ["lsspare"]),
    (["--filter", "dangling=false"], ["lsnet"]),
    (["--filter", "type=custom", "--filter", "driver=bridge"], ["lsnet", "lsspare"]),
    (["--filter", "type=builtin"], []),
    (["--filter", "scope=local", "--filter", "name=lsnet"], ["lsnet"]),
])
def test_network_ls(fleet, dockyard, argv, names):
    assert dockyard("network", "ls", *argv, "--format", "{{.Name}}").splitlines() == names


def test_network_ls_table_quiet_and_json(fleet, engine, dockyard):
    net = engine.networks.get("lsnet")
    header, *rows = dockyard("network", "ls").splitlines()
    assert header == "NETWORK ID     NAME      DRIVER    SCOPE"
    assert rows[0] == f"{net.id[:12]}   lsnet     bridge    local"
    assert dockyard("network", "ls", "-q", "--filter", f"id={net.id[:8]}") == net.id[:12] + "\n"
    assert dockyard("network", "ls", "-q", "--no-trunc", "-f", "name=lsnet") == net.id + "\n"
    entry = json.loads(dockyard("network", "ls", "--format", "json", "-f", "name=lsnet"))
    assert sorted(entry) == ["CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels",
                             "Name", "Scope"]
    assert (entry["Labels"], entry["IPv6"], entry["Internal"]) == ("team=a", "false", "false")


CONTAINER_KEYS = ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                  "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver",
                  "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs",
                  "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"]
ENDPOINT_KEYS = ["IPAMConfig", "Links", "Aliases", "MacAddress", "DriverOpts", "NetworkID",
                 "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway",
                 "GlobalIPv6Address", "GlobalIPv6PrefixLen", "DNSNames"]


def test_inspect_has_dockers_fields(fleet, engine, dockyard):
    web = fleet["web"]
    [info] = json.loads(dockyard("inspect", "web"))
    assert list(info) == CONTAINER_KEYS and info["RestartCount"] == 0
    assert "Health" not in info["State"]                        # no healthcheck: omitted
    net = engine.networks.get("lsnet").inspect()
    endpoint = info["NetworkSettings"]["Networks"]["lsnet"]
    assert list(endpoint) == ENDPOINT_KEYS
    assert endpoint["NetworkID"] == net["Id"] and len(endpoint["EndpointID"]) == 64
    assert endpoint["EndpointID"] == net["Containers"][web.id]["EndpointID"]
    assert endpoint["DNSNames"] == ["web", web.short_id]
    assert info["NetworkSettings"]["IPAddress"] == ""           # not on the default bridge
    assert info["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert info["HostConfig"]["NetworkMode"] == "lsnet"
    assert net["IPAM"]["Config"][0]["Subnet"] == net["IPAM"]["Config"][0]["Subnet"]
    text = dockyard("inspect", "-f", "{{.ID}} {{.RestartCount}} {{.State.Health}} "
                    "{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}}{{end}} "
                    "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostIp}}", "web")
    assert text == f"{web.id} 0 <nil> lsnet={endpoint['IPAddress']} 0.0.0.0\n"
    rc, out, err = dockyard("inspect", "-f", "{{.State.Health.Status}}", "web", ok=False)
    assert rc != 0 and out == "\n" and err == (
        'Error: template parsing error: template: :1:8: executing "" at <.State.Health.Status>: '
        'map has no entry for key "Health"\n')
    sizes = json.loads(dockyard("inspect", "--size", "web"))[0]
    assert sizes["SizeRootFs"] >= sizes["SizeRw"] >= 0
    subnet = dockyard("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
                      "lsnet")
    assert subnet.strip() == net["IPAM"]["Config"][0]["Subnet"]


def test_image_inspect_fields_and_commit_comment(fleet, engine, dockyard):
    assert dockyard("image", "inspect", "-f", "[{{.Config.User}}] {{.Config.Cmd}}",
                    "busybox") == "[] [sh]\n"
    image = fleet["done"].commit("lscommit", message="fixed the thing")
    try:
        assert dockyard("inspect", "-f", "{{.Comment}}|{{.ID}}", "lscommit") == (
            f"fixed the thing|{image.id}\n")
    finally:
        engine.images.remove("lscommit")


def test_stats_shows_dockers_columns(fleet, dockyard):
    web = fleet["web"]
    gateway = web.attrs["NetworkSettings"]["Networks"]["lsnet"]["Gateway"]
    web.exec_run(["ping", "-c", "1", "-W", "1", gateway])      # some traffic to count
    header, row = dockyard("stats", "--no-stream", "web").splitlines()
    assert re.split(r"\s{2,}", header) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
                                           "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
    cells = re.split(r"\s{2,}", row)
    assert cells[:2] == [web.short_id, "web"] and re.fullmatch(r"\d+\.\d\d%", cells[2])
    assert re.fullmatch(r"[\d.]+(B|KiB|MiB) / [\d.]+(MiB|GiB|TiB)", cells[3])
    assert re.fullmatch(r"\d+\.\d\d%", cells[4]) and cells[7] == "1"
    rx, tx = cells[5].split(" / ")
    assert rx != "0B" and tx != "0B" and re.fullmatch(r"[\d.]+k?B", rx)
    assert re.fullmatch(r"[\d.]+[kMG]?B / [\d.]+[kMG]?B", cells[6])
    out = dockyard("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}")
    assert sorted(out.splitlines()) == ["done 0.00% 0", "fresh 0.00% 0",
                                        f"web {out.split('web ')[1].split()[0]} 1"]
    entry = json.loads(dockyard("stats", "--no-stream", "--format", "json", "web"))
    assert sorted(entry) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage",
                             "Name", "NetIO", "PIDs"]
    assert (entry["Container"], entry["Name"]) == ("web", "web")
