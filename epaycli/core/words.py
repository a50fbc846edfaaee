"""Human text that core builds, kept sayable in another language.

Core is pure and does not know the message catalogue: where it writes a finished sentence (a
diagnosis, a verdict's reason, a note), it writes a ``Text`` — the English, which is what every
plain-string consumer (``--json``, the listener's journal, a log) keeps seeing — carrying the
message id, its English template and the fields that fill it, so that an edge can word the same
message in the run's language (``Messages.say``). A field may itself be a ``Text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# A template, or its plural forms {one = …, other = …} chosen by the ``count`` field.
Template = str | Mapping[str, str]


def fill(template: Template, fields: Mapping[str, object]) -> str:
    """``template`` filled from ``fields`` (the plural form of ``count`` for a table)."""
    if not isinstance(template, str):
        template = template["one" if fields.get("count") == 1 else "other"]
    return template.format_map(fields)


class Text(str):
    """The English of message ``id``: ``template`` filled from ``fields``."""

    id: str
    template: Template
    fields: dict[str, object]

    def __new__(cls, message_id: str, template: Template, /, **fields: object) -> Text:
        text = super().__new__(cls, fill(template, fields))
        text.id, text.template, text.fields = message_id, template, fields
        return text

    def __reduce__(self) -> tuple[object, tuple[str, Template, dict[str, object]]]:
        # a copy (or pickle) keeps the id and fields
        return _text, (self.id, self.template, self.fields)


def _text(message_id: str, template: Template, fields: dict[str, object]) -> Text:
    return Text(message_id, template, **fields)


class Bilingual(str):
    """English text that carries its Chinese itself (data written in both languages, such as
    the errors catalogue's meanings)."""

    chinese: str

    def __new__(cls, english: str, chinese: str) -> Bilingual:
        text = super().__new__(cls, english)
        text.chinese = chinese
        return text

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return Bilingual, (str(self), self.chinese)


class Texts:
    """A table of English templates whose ids share a catalogue prefix:
    ``money_text = Texts("money", MONEY_TEXTS)``, then ``money_text("empty", money=…)``."""

    def __init__(self, prefix: str, table: Mapping[str, Template]) -> None:
        self.prefix, self.table = prefix, table

    def __call__(self, text_id: str, /, **fields: object) -> Text:
        return Text(f"{self.prefix}.{text_id}", self.table[text_id], **fields)


class Joined(str):
    """Whole messages listed one after another, ``separator`` between them (a list of
    sentences, not a sentence glued from fragments)."""

    id: str
    separator: str
    items: tuple[str, ...]

    def __new__(cls, message_id: str, separator: str, items: Iterable[str]) -> Joined:
        listed = tuple(items)
        text = super().__new__(cls, separator.join(listed))
        text.id, text.separator, text.items = message_id, separator, listed
        return text

    def __reduce__(self) -> tuple[object, tuple[str, str, tuple[str, ...]]]:
        return Joined, (self.id, self.separator, self.items)
