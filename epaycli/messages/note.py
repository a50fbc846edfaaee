"""Human text a library hands up (a note, a warning, a phrase inside an error) that the edge
may say in another language. Each *is* its English text (a ``str``, so every English path
prints it unchanged) and knows how to say itself: ``said(messages)``.

``Note`` keeps its message id and fields (worded from the catalogue); ``Bilingual`` carries
both languages itself (data that is written in both, such as the errors catalogue)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import Messages, Template, render


class Note(str):
    """``Note("gateway.no_type", MESSAGES["no_type"], kind=…)``: English text, id and fields.
    A field may itself be a ``Note`` or ``Bilingual``: it is said in the same language."""

    message_id: str
    template: Template
    fields: dict[str, object]

    def __new__(cls, message_id: str, template: Template, /, **fields: object) -> Note:
        note = super().__new__(cls, render(template, fields))
        note.message_id, note.template, note.fields = message_id, template, fields
        return note

    def said(self, messages: Messages) -> str:
        return messages.text(self.message_id, self.template, **said_fields(self.fields, messages))


def note_maker(prefix: str, table: Mapping[str, Template]) -> Callable[..., Note]:
    """``note("no_type", …)`` for a module's table of English templates: its ids under
    ``prefix`` in the catalogue (``gateway.no_type``)."""
    def note(message_id: str, /, **fields: object) -> Note:
        return Note(f"{prefix}.{message_id}", table[message_id], **fields)

    return note


class Bilingual(str):
    """English text that also has its Chinese (``Bilingual(entry.en, entry.zh)``)."""

    chinese: str

    def __new__(cls, english: str, chinese: str) -> Bilingual:
        text = super().__new__(cls, english)
        text.chinese = chinese
        return text

    def said(self, messages: Messages) -> str:
        return self.chinese if messages.language == "zh" and self.chinese else str(self)


def say(text: str, messages: Messages) -> str:
    """A line in the run's language: a ``Note`` or ``Bilingual`` said, other text as it is."""
    return text.said(messages) if isinstance(text, (Note, Bilingual)) else text


def said_fields(fields: Mapping[str, object], messages: Messages) -> dict[str, object]:
    """The fields of a template with every ``Note`` and ``Bilingual`` among them said."""
    return {name: say(value, messages) if isinstance(value, str) else value
            for name, value in fields.items()}


def error_said(error: Any) -> str:
    """An error's message as a phrase inside another message: a worded error (raised with
    ``fields``) as a ``Note`` said by its code, plain words as they are."""
    templates = getattr(error, "templates", None)
    if templates is None:
        return str(error.message)
    return Note(f"errors.{error.code}.message", templates[0], **error.fields)
