"""Go's text/tabwriter as Docker's tables use it (minwidth 10, padding 3, spaces): cells end at
tabs; a column is the cells of consecutive lines at one position, each padded to the column's
widest cell plus the padding; the text after a line's last tab is not part of any column.

    tabwrite("CONTAINER ID\\tNAMES\\nabc\\tweb\\n")
    -> "CONTAINER ID   NAMES\\nabc            web\\n"
"""
import unicodedata


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _format(lines, 0, len(lines), [], minwidth, padding, out)
    return "\n".join(out)


def display_width(text: str) -> int:
    """Terminal columns of `text`: East Asian wide characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _format(lines, line0: int, line1: int, widths: list[int], minwidth, padding, out) -> None:
    """Go's Writer.format: find each block of lines that has a cell in the next column, size
    that column, and format the block's further columns the same way."""
    column, this = len(widths), line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write(lines, line0, this, widths, out)
        line0, width = this, minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, display_width(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, widths + [width], minwidth, padding, out)
        line0 = this
    _write(lines, line0, line1, widths, out)


def _write(lines, line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[line0:line1]:
        out.append("".join(
            cell + " " * (widths[j] - display_width(cell)) if j < len(widths) else cell
            for j, cell in enumerate(cells)))
