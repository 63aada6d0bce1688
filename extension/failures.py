"""Show dockyard's errors in a cell as one line in the error style, never a traceback."""
from dockyard.engine.errors import DockyardError

RED, RESET = "\x1b[0;31m", "\x1b[0m"


def one_line(exc: BaseException) -> str:
    """`ImageNotFound: no such image: nope`, coloured like IPython's error name."""
    return f"{RED}{type(exc).__name__}{RESET}: {exc}"


def show_error(shell, etype, value, tb, tb_offset=None):
    """IPython custom-exception handler: the cell fails with one line, the kernel stays healthy."""
    stb = [one_line(value)]
    # IPython's documented hook for an exception's own traceback: showtraceback() then shows
    # this one line, through whatever display the shell has (terminal or kernel error message).
    value._render_traceback_ = lambda: stb
    shell.showtraceback((etype, value, tb))
    return stb


def install(shell) -> None:
    """Route DockyardError (magics and plain Python alike) through show_error."""
    shell.set_custom_exc((DockyardError,), show_error)


def uninstall(shell) -> None:
    """Give IPython back its normal tracebacks for our errors."""
    shell.set_custom_exc((), None)
