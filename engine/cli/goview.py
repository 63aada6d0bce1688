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
# Fields Docker's JSON leaves out when zero (omitempty), by the object they belong to, with
# the zero value a template still sees.
OMITTED = {
    "State": {"Health": GoNil("ptr", "Health", omit=True)},
    "Config": {"ExposedPorts": GoNil("map", "ExposedPorts", omit=True),
               "Healthcheck": GoNil("ptr", "Healthcheck", omit=True), "ArgsEscaped": False,
               "NetworkDisabled": False, "MacAddress": "", "StopSignal": "",
               "StopTimeout": GoNil("ptr", "StopTimeout", omit=True),
               "Shell": GoNil("slice", "Shell", omit=True)},
    "HostConfig": {"Annotations": GoNil("map", "Annotations", omit=True),
                   "StorageOpt": GoNil("map", "StorageOpt", omit=True),
                   "Tmpfs": GoNil("map", "Tmpfs", omit=True),
                   "Sysctls": GoNil("map", "Sysctls", omit=True), "Runtime": "",
                   "Mounts": GoNil("slice", "Mounts", omit=True),
                   "Init": GoNil("ptr", "Init", omit=True)},
}
# Go field names that differ from their JSON keys: `{{.ID}}` and `{{.Id}}` both work.
ALIASES = {"ID": "Id"}


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
        struct.aliases = ALIASES
        absent = {k: v for k, v in OMITTED.get(name, {}).items() if k not in struct}
        struct.update(absent)
        struct.hidden = frozenset(absent)
        return struct
    if isinstance(value, list):
        return [go_view(v, path + ("*",)) for v in value]
    if value is None:
        if name in OTHER_MAPS or name in STRING_MAPS or key in STRING_MAPS:
            return GoNil("map", name)
        return GoNil("slice" if name in SLICES or key in SLICES else "ptr", name)
    return value
