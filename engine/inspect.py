"""`docker inspect` JSON for a container, from its record and the monitor's state."""
from .containerfs import lowerdirs_abs


def container_inspect(container) -> dict:
    record, state = container.record, container.state
    endpoints = record.get("Endpoints") or {}
    first = next(iter(endpoints.values()), {})
    return {
        "Id": record["Id"], "Created": record["Created"], "Name": record["Name"],
        "Path": record["Path"], "Args": record["Args"],
        "State": {
            # restarting counts as running, as in Docker (rm, stop... treat it so)
            "Status": state.status, "Running": state.status in ("running", "restarting"),
            "Paused": False, "Restarting": state.status == "restarting",
            "OOMKilled": bool(state.oom_killed), "Dead": state.status == "dead",
            "Pid": state.pid or 0 if state.status == "running" else 0,
            "ExitCode": state.exit_code or 0, "Error": state.error or "",
            "StartedAt": state.started_at or "0001-01-01T00:00:00Z",
            "FinishedAt": state.finished_at or "0001-01-01T00:00:00Z",
            **({"Health": state.health} if state.health else {}),
        },
        "RestartCount": state.restart_count,
        "Image": record["Image"],
        "ResolvConfPath": str(container.bundle / "resolv.conf"),
        "HostnamePath": str(container.bundle / "hostname"),
        "HostsPath": str(container.bundle / "hosts"),
        "LogPath": str(container.bundle / "container.log"),
        "Driver": "overlay2",
        "Platform": "linux",
        "Config": record["Config"],
        "HostConfig": record["HostConfig"],
        "GraphDriver": {"Name": "overlay2", "Data": {
            "LowerDir": ":".join(lowerdirs_abs(container)),
            "UpperDir": str(container.bundle / "upper"),
            "WorkDir": str(container.bundle / "work"),
            "MergedDir": str(container.bundle / "merged")}},
        "Mounts": record.get("Mounts", []),
        "NetworkSettings": {
            "IPAddress": first.get("IPAddress", ""), "Gateway": first.get("Gateway", ""),
            "MacAddress": first.get("MacAddress", ""),
            "Ports": record.get("Ports") or {},
            "Networks": endpoints,
        },
    }
