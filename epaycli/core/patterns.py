"""Regular expressions compiled when first used, not when their module is imported.

`epay sign` imports some twenty patterns and uses a handful; compiling them all costs ~2 ms of
its start (the budget is what ``import typer`` costs, ~50 ms). ``lazy(r"…")`` stands where
``re.compile(r"…")`` would, with the methods epay uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class LazyPattern:
    __slots__ = ("_compiled", "_source")

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source)
        return self._compiled

    def match(self, string: str) -> re.Match[str] | None:
        return self.compiled.match(string)

    def fullmatch(self, string: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(string)

    def search(self, string: str) -> re.Match[str] | None:
        return self.compiled.search(string)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], string: str) -> str:
        return self.compiled.sub(replacement, string)

    def findall(self, string: str) -> list[Any]:
        return self.compiled.findall(string)


def lazy(source: str) -> LazyPattern:
    return LazyPattern(source)
