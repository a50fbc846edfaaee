"""The world a command runs in — streams, whether they are terminals, the environment
variables, the clock — built once at the CLI boundary and passed down.

Nothing below the boundary reads ``sys.stdout``, ``os.environ`` or ``time.time`` itself: a
threaded server can be handed its own streams, and tests hand in theirs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO


class Environment:
    """(Not a dataclass: every command builds one, and a dataclass costs start-up time.)"""

    __slots__ = ("stdin", "stdout", "stderr", "environ", "clock")

    def __init__(self, stdin: TextIO | None, stdout: TextIO | None, stderr: TextIO,
                 environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ: Mapping[str, str] = {} if environ is None else environ
        self.clock = clock

    @classmethod
    def from_process(cls) -> Environment:
        if sys.stderr is None:  # started with 2>&- : errors go nowhere rather than crash
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
        return cls(sys.stdin, sys.stdout, sys.stderr, os.environ)

    def now(self) -> int:
        """Unix seconds."""
        return int(self.clock())

    def is_terminal(self, stream: TextIO | None) -> bool:
        try:
            return stream is not None and stream.isatty()
        except (ValueError, OSError):  # a closed stream
            return False

    def colour(self, stream: TextIO | None) -> bool:
        """Rich output only on a terminal, and never with NO_COLOR or TERM=dumb."""
        return (self.is_terminal(stream) and not self.environ.get("NO_COLOR")
                and self.environ.get("TERM") != "dumb")
