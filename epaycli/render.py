"""All output goes through here: data to stdout, status and hints to stderr.

The only module that imports rich, and only when writing to a terminal (``NO_COLOR`` honoured):
pipes and files get plain, stable text, and scripts never pay rich's import time.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any, TextIO

_STYLES = {"ok": "bold green", "bad": "bold red", "warn": "yellow", "dim": "dim", "info": ""}


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def styled(stream: TextIO) -> bool:
    """Whether output to ``stream`` may be drawn by rich (``--help`` asks before it is built)."""
    return _colour(stream)


@lru_cache(maxsize=2)
def _console(stderr: bool):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def _write(stream: TextIO, text: str, style: str) -> None:
    if style and _colour(stream):
        _console(stream is sys.stderr).print(text, style=_STYLES[style], markup=False)
    else:
        stream.write(text + "\n")


def data(text: str = "", style: str = "") -> None:
    """A line of the command's result (stdout)."""
    _write(sys.stdout, text, style)


def status(text: str, style: str = "info") -> None:
    """A line about what is happening, or a hint (stderr)."""
    _write(sys.stderr, text, style)


def json_object(value: Any) -> None:
    """One JSON object on stdout: the ``--json`` contract."""
    import json
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def error(message: str, hint: str | None = None) -> None:
    """The one-line error the CLI boundary prints for every failure."""
    line = f"epay: error: {message}" + (f" — {hint}" if hint else "")
    _write(sys.stderr, line, "bad")


def table(rows: list[dict[str, str]], columns: list[str]) -> None:
    """Rows as aligned columns (a rich table on a terminal)."""
    if _colour(sys.stdout):
        from rich.table import Table

        grid = Table(box=None, pad_edge=False)
        for column in columns:
            grid.add_column(column.upper(), style="bold" if column == "name" else "")
        for row in rows:
            grid.add_row(*(row.get(c, "") for c in columns))
        _console(False).print(grid)
        return
    widths = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in columns}
    lines = [[c.upper() for c in columns]] + [[r.get(c, "") for c in columns] for r in rows]
    for cells in lines:
        data("  ".join(cell.ljust(widths[c]) for cell, c in zip(cells, columns)).rstrip())


def fields(pairs: list[tuple[str, str]]) -> None:
    """``label  value`` lines, labels aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    for label, value in pairs:
        data(f"{label.ljust(width)}  {value}")
