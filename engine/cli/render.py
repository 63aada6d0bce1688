"""Shared by the CLI commands: Docker's tables, sizes, relative times, inspect output, KEY=VALUE."""
import sys
import time

from ..errors import DockyardError, InvalidArgument, TemplateError
from .main import describe


def table(headers: list[str], rows: list[list[str]], out=None) -> None:
    """Left-aligned columns three spaces apart, as `docker ps` prints them."""
    out = out or sys.stdout
    widths = [max([len(h), *(len(str(r[i])) for r in rows)]) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths)]
        out.write("   ".join(cells).rstrip() + "\n")


def size(n: int | float) -> str:
    """Docker's human sizes: 4.26MB, 1.2GB, 512B (decimal units)."""
    from ..units import human_size      # ~1 ms that `run` doesn't need
    return human_size(n)


def ago(rfc3339: str | None) -> str:
    """'3 seconds ago', '2 hours ago' from an RFC 3339 UTC time."""
    from .timestamps import unix_seconds  # ~5 ms (datetime, calendar): `ago` only
    if not rfc3339:
        return ""
    return ago_seconds(unix_seconds(rfc3339))


def ago_seconds(unix: float) -> str:
    return duration(max(0.0, time.time() - unix)) + " ago"


def duration(seconds: float) -> str:
    """Docker's HumanDuration: 'Less than a second', '5 seconds', 'About a minute', '3 hours'."""
    from ..units import human_duration      # ~1 ms that `run` doesn't need
    return human_duration(seconds)


def print_inspect(values: list, template: str | None = None) -> None:
    """`inspect` output: a JSON array, `--format json` compact, or each value through a
    template; a template failing on some values prints the others, then raises."""
    from .format import inspect_text  # ~25 ms: Go templates, for inspect only
    try:
        sys.stdout.write(inspect_text(values, template))
    except TemplateError as exc:
        sys.stdout.write(getattr(exc, "text", ""))
        raise


def for_each(names, action) -> list[str]:
    """Docker's multi-name verbs: `action(name)` for every name; each one that fails is an
    `Error: ...` line on stderr and the rest go on. Returns the names that failed."""
    failed = []
    for name in names:
        try:
            action(name)
        except (DockyardError, OSError) as exc:
            print(f"Error: {describe(exc)}", file=sys.stderr, flush=True)
            failed.append(name)
    return failed


def for_each_container(engine, refs, action) -> int:
    """Docker's multi-name container verbs (stop, kill, rm, pause, ...): `action(container)`
    for each, printing each name done and an error line for each that failed; 1 if any did."""
    def one(ref):
        action(engine.containers.get(ref))
        print(ref)
    return 1 if for_each(refs, one) else 0


def inspect_each(names, get, template: str | None = None) -> int:
    """Docker's inspect of several: the ones found (JSON or `template`), then an error line
    for each that wasn't; 1 if any wasn't."""
    found, errors = [], []
    for name in names:
        try:
            found.append(get(name))
        except (DockyardError, OSError) as exc:
            errors.append(describe(exc))
    print_inspect(found, template)
    for error in errors:
        print(f"Error: {error}", file=sys.stderr)
    return 1 if errors else 0


def confirm(warning: str) -> bool:
    """Docker's prune prompt: the warning, then `Are you sure you want to continue? [y/N]`."""
    sys.stdout.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def print_deleted(report: dict, sections) -> None:
    """A prune's report as Docker prints it: each non-empty (title, key) list, then the total."""
    for title, key in sections:
        if report.get(key):
            print(f"{title}:\n" + "\n".join(report[key]) + "\n")


def key_values(items: list[str], flag: str) -> dict:
    """["a=1", "b="] -> {"a": "1", "b": ""}; InvalidArgument naming the flag otherwise."""
    pairs = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {flag} {item!r}: want KEY=VALUE")
        pairs[key] = value
    return pairs


def binary(stream):
    """`stream`'s binary side: sys.stdout.buffer in a terminal, a decoding adapter where the
    text stream has none (a Jupyter kernel's stdout), so commands also work in a notebook."""
    return getattr(stream, "buffer", None) or _TextSink(stream)


def binary_stdout(verb: str):
    """Where a tar goes without -o: the real stdout; a notebook has none, so say to use -o."""
    out = getattr(sys.stdout, "buffer", None)
    if out is None:
        raise InvalidArgument(f"{verb} writes a tar archive: give -o FILE here")
    return out


class _TextSink:
    def __init__(self, stream):
        self.stream = stream

    def write(self, data: bytes) -> int:
        self.stream.write(data.decode(errors="replace"))
        return len(data)

    def flush(self) -> None:
        self.stream.flush()
