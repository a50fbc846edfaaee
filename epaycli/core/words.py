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


# ---- words kept beside a JSON document (the listener's journal) ---------------------------
# A report written as JSON keeps only the English. ``words_of`` lists, by their English, how
# its sentences are said (id, template, fields), so that a later reader in another language
# (the inspector, ``epay events show``) can say them again: ``with_words`` puts them back.


def words_of(value: object) -> dict[str, object]:
    """``{english: how to say it}`` for every Text, Joined or Bilingual in a JSON-shaped
    value (its keys and other values aside)."""
    found: dict[str, object] = {}
    _collect(value, found)
    return found


def _collect(value: object, found: dict[str, object]) -> None:
    if isinstance(value, Text | Joined | Bilingual):
        found.setdefault(str(value), _spec(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found)


def _spec(value: object) -> object:
    if isinstance(value, Text):
        return {"id": value.id, "template": value.template,
                "fields": {name: _spec(field) for name, field in value.fields.items()}}
    if isinstance(value, Joined):
        return {"id": value.id, "separator": value.separator,
                "items": [_spec(item) for item in value.items]}
    if isinstance(value, Bilingual):
        return {"en": str(value), "zh": value.chinese}
    if value is None or isinstance(value, bool | int | float | str):
        return str(value) if isinstance(value, str) else value
    return {"text": str(value)}  # (a Decimal, a Path: its text is what was said)


def _said(spec: object) -> object:
    if not isinstance(spec, Mapping):
        return spec
    if "template" in spec:
        fields = spec.get("fields")
        return Text(str(spec["id"]), spec["template"],
                    **{str(k): _said(v) for k, v in (fields or {}).items()})
    if "separator" in spec:
        return Joined(str(spec["id"]), str(spec["separator"]),
                      [_said_text(item) for item in spec.get("items") or ()])
    if "zh" in spec:
        return Bilingual(str(spec["en"]), str(spec["zh"]))
    return str(spec.get("text", ""))


def _said_text(spec: object) -> str:
    said = _said(spec)
    return said if isinstance(said, str) else str(said)


def with_words(value: object, words: Mapping[str, object]) -> object:
    """``value`` with each string that ``words`` knows put back as the sentence it was (whose
    English is that string): a reader in another language can then say it. A string whose
    words cannot be rebuilt stays as it is."""
    if isinstance(value, str):
        spec = words.get(value)
        if spec is None:
            return value
        try:
            said = _said(spec)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return value
        return said if isinstance(said, str) and str(said) == value else value
    if isinstance(value, Mapping):
        return {key: with_words(item, words) for key, item in value.items()}
    if isinstance(value, list):
        return [with_words(item, words) for item in value]
    return value
