"""Name resolution by kept-current /etc/hosts files.

dockyard has no daemon, so an embedded DNS server (Docker's 127.0.0.11) would need a resolver
process kept alive per network or per container. A hosts file needs none: the runtime
bind-mounts `<bundle>/hosts` as the container's /etc/hosts, and the engine rewrites that file
in place (same inode, so the bind mount sees it) whenever a container joins or leaves a
network. Every libc and busybox reads /etc/hosts before DNS, and names change only when the
engine itself changes the networks, so nothing is missed between rewrites.

    render_hosts([("172.18.0.2", ["web", "www"])])
    -> "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n...172.18.0.2\tweb www\n"
"""
import os

BASE = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def render_hosts(entries: list[tuple[str, list[str]]]) -> str:
    """The hosts file text: the loopback lines, then one line per (address, names), names deduplicated."""
    lines = []
    for address, names in entries:
        unique = list(dict.fromkeys(n for n in names if n))
        if unique:
            lines.append(f"{address}\t{' '.join(unique)}\n")
    return BASE + "".join(lines)


def write_in_place(path: str, text: str) -> None:
    """Overwrite `path` keeping its inode, so a bind mount of it shows the new content."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        # Write before truncating: a reader never sees an empty file, at worst a longer tail.
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
