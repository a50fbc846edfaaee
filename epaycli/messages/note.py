"""Human text a library hands up (a note, a warning, a phrase inside an error) that the edge
may say in another language. Each *is* its English text (a ``str``, so every English path
prints it unchanged, and ``--json`` keeps it) and can be said in the run's language.

``Note`` keeps its message id, English template and fields (worded from the catalogue; the
same shape as ``core.words.Text``, which ``say`` words alike); ``Bilingual`` carries both
languages itself (data written in both, such as the errors catalogue's meanings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import Messages, Template, render


class Note(str):
    """``Note("gateway.no_type", MESSAGES["no_type"], kind=…)``: English text, id and fields.
    A field may itself be a ``Note`` or ``Bilingual``: it is said in the same language."""

    id: str
    template: Template
    fields: dict[str, object]

    def __new__(cls, message_id: str, template: Template, /, **fields: object) -> Note:
        note = super().__new__(cls, render(template, fields))
        note.id, note.template, note.fields = message_id, template, fields
        return note

    def __reduce__(self) -> tuple[Any, ...]:  # a copy keeps the id and fields
        return _note, (self.id, self.template, self.fields)


def _note(message_id: str, template: Template, fields: dict[str, object]) -> Note:
    return Note(message_id, template, **fields)


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

    def __reduce__(self) -> tuple[Any, ...]:
        return Bilingual, (str(self), self.chinese)


def say(text: str, messages: Messages) -> str:
    """A line in the run's language: a ``Note`` (or anything of its shape: an id, a template,
    fields; a list of such with its separator) by its id, a ``Bilingual`` in its own words;
    other text as it is."""
    if messages.language == "en":
        return str(text)
    if isinstance(text, Bilingual):
        return text.chinese or str(text)
    if hasattr(text, "separator") and hasattr(text, "items"):  # whole messages listed
        joined: Any = text
        return messages.text(joined.id, joined.separator).join(
            say(item, messages) for item in joined.items)
    template, message_id = getattr(text, "template", None), getattr(text, "id", None)
    if template is None or not isinstance(message_id, str):
        return text
    return messages.text(message_id, template, **said_fields(getattr(text, "fields", {}),
                                                               messages))


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
