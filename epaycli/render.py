"""All output goes through here: data to stdout, status and hints to stderr.

The only module that imports rich, and only when writing to a terminal (``NO_COLOR`` honoured):
pipes and files get plain, stable text, and scripts never pay rich's import time.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

from .core.errors import EpayError, OutputError
from .core.patterns import lazy
from .core.redact import escape_controls, scrub_text
from .env import Environment

_STYLES = {"ok": "bold green", "bad": "bold red", "warn": "yellow", "dim": "dim", "info": "",
           "": ""}


class Output:
    """Writes for one run, to the streams of its ``Environment``. Safe to share between the
    threads of a server: each line is written whole.

    Every line passes one masking pass first — data, status, hints, errors, tables and JSON
    alike: the run's secrets (``add_secrets``; ``add_secret_source`` for ones that are costly to
    learn and only looked up when something is printed) never show whole, nor in runs of 8 or
    more of their characters."""

    def __init__(self, env: Environment, *, secrets: Iterable[str] = ()) -> None:
        self.env = env
        self._consoles: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._live: Any = None  # rich's Live of a dashboard (board), once one is drawn
        self._secrets: tuple[str, ...] = tuple(s for s in secrets if s)
        self._secret_sources: list[Callable[[], Iterable[str]]] = []
        self._sources_lock = threading.Lock()
        self._revealed = False

    def add_secrets(self, *secrets: str) -> None:
        """Mask these in everything printed from now on (a key the run learned)."""
        self._secrets = (*self._secrets, *(s for s in secrets if s))

    def add_secret_source(self, source: Callable[[], Iterable[str]]) -> None:
        """Secrets to look up the first time anything is printed (the configured profile's
        key); a source that fails with an ``EpayError`` adds nothing — the command that needs
        those settings reports the failure itself."""
        self._secret_sources.append(source)

    def forget_secret_sources(self) -> None:
        """Drop the sources not looked up yet (their settings are known to be unreadable)."""
        with self._sources_lock:
            self._secret_sources.clear()

    def reveal_secrets(self) -> None:
        """The user asked to see the keys (``profile show --reveal``): data lines are printed
        as they are; errors stay masked."""
        self._revealed = True

    def clean(self, text: str) -> str:
        """``text`` with the run's secrets masked (the one masking pass)."""
        if self._secret_sources:
            self._learn_secrets()
        return scrub_text(text, self._secrets) if self._secrets and text else text

    def _learn_secrets(self) -> None:
        with self._sources_lock:
            while self._secret_sources:
                source = self._secret_sources.pop()
                try:
                    self.add_secrets(*source())
                except (EpayError, OSError, ValueError):
                    pass  # printing never fails for settings it cannot read

    def _console(self, stream: TextIO) -> Any:  # a rich Console (rich is imported here only)
        console = self._consoles.get(id(stream))
        if console is None:
            from rich.console import Console

            console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
            self._consoles[id(stream)] = console
        return console

    def _write(self, stream: TextIO | None, text: str, style: str, *,
               flush: bool = True) -> None:
        if stream is None:
            return
        if not (self._revealed and stream is self.env.stdout):
            text = self.clean(text)
        text = escape_controls(text)  # pasted input never drives the terminal
        with self._lock:
            try:
                if style and self.env.colour(stream):
                    self._console(stream).print(text, style=_STYLES[style], markup=False)
                else:
                    stream.write(text + "\n")
                    if flush:
                        stream.flush()
            except UnicodeEncodeError as error:
                raise cannot_encode(error, stream) from None
            except OSError as error:
                raise cannot_write(error, stream is self.env.stdout) from None

    def data(self, text: str = "", style: str = "") -> None:
        """A line of the command's result (stdout)."""
        self._write(self.env.stdout, text, style)

    def status(self, text: str, style: str = "info") -> None:
        """A line about what is happening, or a hint (stderr)."""
        self._write(self.env.stderr, text, style)

    def json_object(self, value: Any) -> None:
        """One JSON object on stdout: the ``--json`` contract."""
        import json

        text = json.dumps(value, ensure_ascii=False, indent=2)
        self._write(self.env.stdout, _json_text(text), "")

    def json_line(self, value: Any, *, flush: bool = True) -> None:
        """One JSON object on one line: what servers print per event with ``--json``.
        ``flush=False`` leaves it in the stream's buffer until ``flush()`` (or the next line
        that is flushed): a server writes a batch of lines with one system call."""
        from .core.jsontext import json_text

        self._write(self.env.stdout, _json_text(json_text(value)), "", flush=flush)

    def flush(self) -> None:
        """Put out the stdout lines written with ``flush=False``."""
        stream = self.env.stdout
        if stream is None:
            return
        with self._lock:
            try:
                stream.flush()
            except OSError as error:
                raise cannot_write(error, True) from None

    def error(self, message: str, hint: str | None = None, *, label: str = "error") -> None:
        """The one-line error the CLI boundary prints for every failure (never fails itself:
        on a terminal that cannot show a character, the character is written escaped).
        ``label`` is the run's word for "error" (``错误`` in Chinese)."""
        separator = ": " if label.isascii() else "："
        line = self.clean(f"epay: {label}{separator}{message}" + (f" — {hint}" if hint else ""))
        stream = self.env.stderr
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            line.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            line = line.replace("—", "-").replace("…", "...")
            line = line.encode("ascii", "backslashreplace").decode("ascii")
        try:
            self._write(stream, line, "bad")
        except OutputError:
            pass  # stderr is gone too: the exit code is all that is left

    def table(self, rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> None:
        """Rows as aligned columns (a rich table on a terminal); each cell is shown as its text."""
        stdout = self.env.stdout
        if stdout is not None and self.env.colour(stdout):
            from rich.table import Table

            grid = Table(box=None, pad_edge=False)
            for column in columns:
                grid.add_column(column.upper(), style="bold" if column == "name" else "")
            for row in rows:
                grid.add_row(*(self.clean(str(row.get(c, ""))) for c in columns))
            with self._lock:
                self._console(stdout).print(grid)
            return
        cells = [[c.upper() for c in columns]] + [[str(r.get(c, "")) for c in columns]
                                                  for r in rows]
        from .messages.width import display_width  # CJK cells take two columns

        widths = [max(display_width(line[i]) for line in cells) for i in range(len(columns))]
        for line in cells:
            self.data("  ".join(cell + " " * (width - display_width(cell))
                                for cell, width in zip(line, widths)).rstrip())

    def fields(self, pairs: list[tuple[str, str]]) -> None:
        """``label  value`` lines, labels aligned."""
        from .messages.width import display_width  # CJK labels take two columns a character

        width = max((display_width(label) for label, _ in pairs), default=0)
        for label, value in pairs:
            self.data(f"{label}{' ' * (width - display_width(label))}  {value}")

    def board(self, lines: list[tuple[str, str]]) -> None:
        """A block of (text, style) lines redrawn in place on a terminal (a live dashboard);
        elsewhere the lines are written once each time."""
        stdout = self.env.stdout
        if stdout is None or not self.env.is_terminal(stdout):
            for text, _ in lines:
                self.data(text)
            return
        from rich.console import Group
        from rich.live import Live
        from rich.text import Text

        colour = self.env.colour(stdout)
        group = Group(*(Text(escape_controls(text), style=_STYLES.get(style, "") if colour
                             else "") for text, style in lines))
        with self._lock:
            live = self._live
            if live is None:
                live = self._live = Live(console=self._console(stdout), auto_refresh=False,
                                         transient=False)
                live.start()
            live.update(group, refresh=True)

    def board_close(self) -> None:
        live = self._live
        if live is not None:
            self._live = None
            live.stop()

    def qr_code(self, text: str) -> bool:
        """``text`` as a QR code on stdout, only when stdout is a terminal (segno is imported
        only then). Says whether one was drawn."""
        stdout = self.env.stdout
        if stdout is None or not self.env.is_terminal(stdout) or not text:
            return False
        import segno

        code = segno.make(text, error="l")
        with self._lock:
            code.terminal(out=stdout, compact=True, border=2)
            stdout.flush()
        return True

_DEL_AND_C1 = lazy("[\x7f-\x9f]")


def _json_text(text: str) -> str:
    """JSON with DEL and C1 controls as \\u escapes (json.dumps escapes only C0): still valid
    JSON, and safe on a terminal. The listener writes one of these per notify: most lines are
    cleared at C speed (ASCII without DEL, or printable) before the regex looks."""
    if ("\x7f" not in text and text.isascii()) or text.isprintable():
        return text
    return _DEL_AND_C1.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def cannot_encode(error: UnicodeEncodeError, stream: TextIO | None) -> OutputError:
    """A terminal or pipe whose encoding cannot show the text (e.g. PYTHONIOENCODING=ascii)."""
    encoding = getattr(stream, "encoding", None) or error.encoding
    shown = error.object[error.start:error.end]
    return OutputError(
        f"the output has characters ({shown.encode('unicode_escape').decode('ascii')}) that "
        f"the {encoding} encoding of this terminal cannot show",
        "use a UTF-8 terminal (LANG=C.UTF-8, or PYTHONIOENCODING=utf-8)")


def cannot_write(error: OSError, is_stdout: bool) -> OutputError:
    """A full disk, a closed pipe, a device error: the result could not be written."""
    where = "standard output" if is_stdout else "standard error"
    if error.errno == errno.EPIPE or isinstance(error, BrokenPipeError):
        return OutputError(f"{where} was closed before the output was written (a closed pipe)",
                           "keep the reading end open, e.g. do not pipe into 'head' early",
                           code="output_closed")
    if error.errno == errno.ENOSPC:
        return OutputError(f"cannot write to {where}: no space left on the device",
                           "free some space, or write the output elsewhere", code="output_full")
    return OutputError(f"cannot write to {where}: {error.strerror or error}",
                       "check where the output is redirected to")
