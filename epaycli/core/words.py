"""Human text that core builds, kept sayable in another language.

Core is pure and does not know the message catalogue: where it writes a finished sentence (a
diagnosis, a verdict's reason, a note), it writes a ``Text`` — the English, which is what every
plain-string consumer (``--json``, the listener's journal, a log) keeps seeing — carrying the
message id, its English template and the fields that fill it, so that an edge can word the same
message in the run's language (``Messages.say``). A field may itself be a ``Text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class Text(str):
    """The English of message ``id``: ``template`` filled from ``fields``."""

    id: str
    template: str
    fields: dict[str, object]

    def __new__(cls, message_id: str, template: str, /, **fields: object) -> Text:
        text = super().__new__(cls, template.format_map(fields))
        text.id, text.template, text.fields = message_id, template, fields
        return text

    def __reduce__(self) -> tuple[object, tuple[str, str, dict[str, object]]]:
        # a copy (or pickle) keeps the id and fields
        return _text, (self.id, self.template, self.fields)


def _text(message_id: str, template: str, fields: dict[str, object]) -> Text:
    return Text(message_id, template, **fields)


class Texts:
    """A table of English templates whose ids share a catalogue prefix:
    ``money_text = Texts("money", MONEY_TEXTS)``, then ``money_text("empty", money=…)``."""

    def __init__(self, prefix: str, table: Mapping[str, str]) -> None:
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
