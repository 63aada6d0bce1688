"""Docker's go-units: human sizes (decimal 4.26MB, binary 1.5GiB) and durations ("3 hours").

    human_size(4261550)     -> '4.26MB'        (docker images, ps -s, NET I/O, BLOCK I/O)
    bytes_size(1610612736)  -> '1.5GiB'        (docker stats' memory)
    human_duration(7200)    -> '2 hours'       (Up 2 hours, 2 hours ago)
"""
DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scaled(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def _g(value: float, precision: int) -> str:
    """Go's %.Ng: at most N significant digits, no trailing zeros."""
    return f"{value:.{precision}g}"


def human_size(size: float, precision: int = 3) -> str:
    """units.HumanSizeWithPrecision: decimal units, `precision` significant digits."""
    value, unit = _scaled(float(size), 1000.0, DECIMAL)
    return _g(value, precision) + unit


def bytes_size(size: float) -> str:
    """units.BytesSize: binary units, 4 significant digits."""
    value, unit = _scaled(float(size), 1024.0, BINARY)
    return _g(value, 4) + unit


def human_duration(seconds: float) -> str:
    """units.HumanDuration: 'Less than a second', '5 seconds', 'About a minute', '3 hours'."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"
