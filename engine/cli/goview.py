"""Docker's inspect JSON as the Go values `docker inspect --format` sees: objects are structs
(a missing field is an error) unless Docker declares them maps (Labels, Networks, Ports...:
a missing key prints <no value>), and a null prints as its Go type's nil does ([] for a
slice, map[] for a map, <nil> for a pointer).

    docker inspect -f '{{.Config.Entrypoint}} {{.Config.Labels.x}} {{.State.Health}}'
    -> '[] <no value> <nil>'
"""
from .gotemplate import GoMap, GoNil, Struct

# Objects Docker declares as map[string]string: a missing key `index`es as "".
STRING_MAPS = {"Labels", "Options", "DriverOpts", "Sysctls", "StorageOpt", "Annotations", "Data",
               "Tmpfs", ("LogConfig", "Config")}
# Other maps, by what their values are: a missing key `index`es as that type's zero.
OTHER_MAPS = {"Networks": None, "Ports": GoNil("slice"), "PortBindings": GoNil("slice"),
              "ExposedPorts": Struct(), "Volumes": Struct(), "Containers": Struct(),
              "Status": None}
SLICES = {"Args", "Cmd", "Entrypoint", "Env", "OnBuild", "Shell", "Binds", "Links", "Aliases",
          "DNSNames", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "CapAdd",
          "CapDrop", "SecurityOpt", "VolumesFrom", "Devices", "DeviceCgroupRules",
          "DeviceRequests", "Ulimits", "BlkioWeightDevice", "BlkioDeviceReadBps",
          "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "MaskedPaths",
          "ReadonlyPaths", "ExecIDs", "SecondaryIPAddresses", "SecondaryIPv6Addresses",
          "RepoTags", "RepoDigests", "Layers", "Mounts", "ConsoleSize", "Log", "Test",
          ("IPAM", "Config")}
# Pointers Docker leaves out of the JSON when nil (omitempty), by the object they belong to.
OMITTED_POINTERS = {"State": ("Health",)}


def go_view(value, path: tuple = ()):
    """`value` (inspect JSON) with Go's types attached, as described above."""
    name = path[-1] if path else ""
    key = path[-2:] if len(path) > 1 else None
    if isinstance(value, dict):
        if name in STRING_MAPS or key in STRING_MAPS:
            return GoMap(value, zero="")
        if name in OTHER_MAPS:
            return GoMap({k: go_view(v, path + ("*",)) for k, v in value.items()},
                         zero=OTHER_MAPS[name])
        struct = Struct((k, go_view(v, path + (k,))) for k, v in value.items())
        for field in OMITTED_POINTERS.get(name, ()):
            struct.setdefault(field, GoNil("ptr", field, omit=True))
        return struct
    if isinstance(value, list):
        return [go_view(v, path + ("*",)) for v in value]
    if value is None:
        if name in OTHER_MAPS or name in STRING_MAPS or key in STRING_MAPS:
            return GoNil("map", name)
        return GoNil("slice" if name in SLICES or key in SLICES else "ptr", name)
    return value
