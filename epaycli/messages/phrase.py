"""A sentence an engine says without knowing the language it will be read in: a message id,
its English template and the fields that fill it. ``str()`` is the English (what ``--json``
and the English output keep, byte for byte); ``said(messages)`` is the run's language.

A field may itself be a phrase (an answer's description inside a grade's reason): it is said
in the same language, as a value, never glued to another fragment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import Template, render

if TYPE_CHECKING:
    from . import Messages


class Phrase:
    __slots__ = ("english", "fields", "id")

    def __init__(self, message_id: str, english: Template, /, **fields: object) -> None:
        self.id, self.english, self.fields = message_id, english, fields

    def __str__(self) -> str:
        return render(self.english, {k: _english(v) for k, v in self.fields.items()})

    def __repr__(self) -> str:  # as its text: a template's {field!r} quotes the words
        return repr(str(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other) if isinstance(other, Phrase | str) else NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def said(self, messages: Messages) -> str:
        return messages.text(self.id, self.english, **self.fields)  # (it says inner phrases)


def say(value: object, messages: Messages) -> object:
    """A phrase in the run's language; any other value as it is."""
    return value.said(messages) if isinstance(value, Phrase) else value


def _english(value: object) -> object:
    return str(value) if isinstance(value, Phrase) else value


def table_ids(prefix: str, table: Mapping[str, Template]) -> dict[str, Template]:
    """A module's English table, keyed by the catalogue's ids (for the completeness tests)."""
    return {f"{prefix}.{key}": english for key, english in table.items()}
