"""The plain values a caller gets back: Network (with Docker's inspect shape) and Endpoint."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    """One container's attachment to one network: its address and its interface inside."""

    network: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    aliases: tuple[str, ...]
    ifname: str
    container_id: str = ""
    name: str = ""
    hostname: str = ""
    host_ifname: str = ""
    default_route: bool = False

    @classmethod
    def from_record(cls, network: dict, container_id: str) -> "Endpoint":
        ep = network["endpoints"][container_id]
        return cls(network=network["name"], ip=ep["ip"], prefixlen=int(network["subnet"].split("/")[1]),
                   gateway=network["gateway"], mac=ep["mac"], aliases=tuple(ep["aliases"]),
                   ifname=ep["ifname"], container_id=container_id, name=ep.get("name") or "",
                   hostname=ep.get("hostname") or "", host_ifname=ep["host_ifname"],
                   default_route=ep["default_route"])


@dataclass(frozen=True)
class Network:
    """A network as stored: a Linux bridge, its subnet and gateway, and who is attached."""

    id: str
    name: str
    driver: str
    subnet: str
    gateway: str
    internal: bool
    bridge: str
    created: str
    labels: dict = field(default_factory=dict)
    default: bool = False
    endpoints: dict = field(default_factory=dict)      # container id -> endpoint record

    @classmethod
    def from_record(cls, record: dict) -> "Network":
        return cls(id=record["id"], name=record["name"], driver=record["driver"],
                   subnet=record["subnet"], gateway=record["gateway"], internal=record["internal"],
                   bridge=record["bridge"], created=record["created"], labels=dict(record["labels"]),
                   default=record["default"], endpoints=dict(record["endpoints"]))

    def inspect(self) -> dict:
        """The `docker network inspect` dict for this network (API 1.47's keys and order)."""
        prefixlen = self.subnet.split("/")[1]
        containers = {
            cid: {"Name": ep.get("name") or "", "EndpointID": endpoint_id(self.id, cid),
                  "MacAddress": ep["mac"], "IPv4Address": f"{ep['ip']}/{prefixlen}", "IPv6Address": ""}
            for cid, ep in self.endpoints.items()
        }
        return {
            "Name": self.name, "Id": self.id, "Created": self.created, "Scope": "local",
            "Driver": self.driver, "EnableIPv4": True, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {},
                     "Config": [{"Subnet": self.subnet, "Gateway": self.gateway}]},
            "Internal": self.internal, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": containers,
            "Options": {"com.docker.network.bridge.name": self.bridge},
            "Labels": dict(self.labels),
        }


def endpoint_id(network_id: str, container_id: str) -> str:
    """A container's endpoint on a network, named as Docker names endpoints: 64 hex digits,
    the same in `network inspect` and the container's NetworkSettings."""
    import hashlib
    return hashlib.sha256(f"{network_id}/{container_id}".encode()).hexdigest()
