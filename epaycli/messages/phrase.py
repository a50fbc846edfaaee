"""A sentence an engine says without knowing the language it will be read in: a message id,
its English template and the fields that fill it. A ``Phrase`` *is* its English text (a
``str``: what ``--json`` and the English output keep, byte for byte, and what code that reads
the text still reads); ``said(messages)`` is the same sentence in the run's language.

A field may itself be a phrase (an answer's description inside a grade's reason): it is said
in the same language, as a value, never glued to another fragment (``Messages.text``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from . import Template, render

if TYPE_CHECKING:
    from . import Messages


class Phrase(str):
    id: str
    english: Template
    fields: dict[str, object]

    def __new__(cls, message_id: str, english: Template, /, **fields: object) -> Phrase:
        self = super().__new__(cls, render(english, fields))
        self.id, self.english, self.fields = message_id, english, fields
        return self

    def said(self, messages: Messages) -> str:
        return messages.text(self.id, self.english, **self.fields)


def phrasebook(prefix: str, table: Mapping[str, Template]) -> Callable[..., Phrase]:
    """``said(id, **fields)``: the phrase ``prefix.id`` of a module's English ``table``."""
    def said(message_id: str, /, **fields: object) -> Phrase:
        return Phrase(f"{prefix}.{message_id}", table[message_id], **fields)

    return said


def say(value: object, messages: Messages) -> object:
    """A phrase in the run's language; any other value as it is."""
    return value.said(messages) if isinstance(value, Phrase) else value


def table_ids(prefix: str, table: Mapping[str, Template]) -> dict[str, Template]:
    """A module's English table, keyed by the catalogue's ids (for the completeness tests)."""
    return {f"{prefix}.{key}": english for key, english in table.items()}
