"""All output goes through here: data to stdout, status and hints to stderr.

The only module that imports rich, and only when writing to a terminal (``NO_COLOR`` honoured):
pipes and files get plain, stable text, and scripts never pay rich's import time.
"""

from __future__ import annotations

import threading
from typing import Any, TextIO

from .env import Environment

_STYLES = {"ok": "bold green", "bad": "bold red", "warn": "yellow", "dim": "dim", "info": ""}


class Output:
    """Writes for one run, to the streams of its ``Environment``. Safe to share between the
    threads of a server: each line is written whole."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._consoles: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _console(self, stream: TextIO):
        console = self._consoles.get(id(stream))
        if console is None:
            from rich.console import Console

            console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
            self._consoles[id(stream)] = console
        return console

    def _write(self, stream: TextIO | None, text: str, style: str) -> None:
        if stream is None:
            return
        with self._lock:
            if style and self.env.colour(stream):
                self._console(stream).print(text, style=_STYLES[style], markup=False)
            else:
                stream.write(text + "\n")
                stream.flush()

    def data(self, text: str = "", style: str = "") -> None:
        """A line of the command's result (stdout)."""
        self._write(self.env.stdout, text, style)

    def status(self, text: str, style: str = "info") -> None:
        """A line about what is happening, or a hint (stderr)."""
        self._write(self.env.stderr, text, style)

    def json_object(self, value: Any) -> None:
        """One JSON object on stdout: the ``--json`` contract."""
        import json

        self._write(self.env.stdout, json.dumps(value, ensure_ascii=False, indent=2), "")

    def json_line(self, value: Any) -> None:
        """One JSON object on one line: what servers print per event with ``--json``."""
        import json

        self._write(self.env.stdout, json.dumps(value, ensure_ascii=False), "")

    def error(self, message: str, hint: str | None = None) -> None:
        """The one-line error the CLI boundary prints for every failure."""
        line = f"epay: error: {message}" + (f" — {hint}" if hint else "")
        self._write(self.env.stderr, line, "bad")

    def table(self, rows: list[dict[str, str]], columns: list[str]) -> None:
        """Rows as aligned columns (a rich table on a terminal)."""
        stdout = self.env.stdout
        if self.env.colour(stdout):
            from rich.table import Table

            grid = Table(box=None, pad_edge=False)
            for column in columns:
                grid.add_column(column.upper(), style="bold" if column == "name" else "")
            for row in rows:
                grid.add_row(*(str(row.get(c, "")) for c in columns))
            with self._lock:
                self._console(stdout).print(grid)
            return
        cells = [[c.upper() for c in columns]] + [[str(r.get(c, "")) for c in columns]
                                                  for r in rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        for line in cells:
            self.data("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())

    def fields(self, pairs: list[tuple[str, str]]) -> None:
        """``label  value`` lines, labels aligned."""
        width = max((len(label) for label, _ in pairs), default=0)
        for label, value in pairs:
            self.data(f"{label.ljust(width)}  {value}")

    def qr_code(self, text: str) -> bool:
        """``text`` as a QR code on stdout, only when stdout is a terminal (segno is imported
        only then). Says whether one was drawn."""
        stdout = self.env.stdout
        if not self.env.is_terminal(stdout) or not text:
            return False
        import segno

        code = segno.make(text, error="l")
        with self._lock:
            code.terminal(out=stdout, compact=True, border=2)
            stdout.flush()
        return True
