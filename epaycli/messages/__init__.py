"""Which language epay speaks, and its human text by message id.

English is the source and lives beside the code that says it, in small tables of
``id → template`` (named ``{fields}``, never sentences glued from fragments). Simplified
Chinese is a full translation kept in ``zh.toml`` and ``zh/*.toml`` (one file per area, so
that areas are translated side by side) beside this file, keyed by the same ids.
A TOML table rather than gettext's compiled ``.mo`` files: no build step, nothing binary in
the repository, reviewable diffs, and the catalogue test can list every id. The catalogue is
read only when Chinese is chosen: the English path reads no file and imports nothing new.

Plurals: an English entry may be a table ``{one = "…", other = "…"}`` chosen by the
``count`` field; Chinese has one form, so its entries are plain strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal, overload

Language = Literal["en", "zh"]
Template = str | Mapping[str, str]

# The variables that choose the language, first set wins (the profile's `lang` comes after
# EPAY_LANG and before the locale, see choose_language).
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def language_of(value: str | None) -> Language | None:
    """``zh``, ``zh_CN``, ``zh_CN.UTF-8``, ``zh-Hans`` … → zh; any other set value → en."""
    if not value or not value.strip():
        return None
    return "zh" if value.strip().lower().replace("-", "_").startswith("zh") else "en"


def choose_language(environ: Mapping[str, str], profile_lang: str | None = None, *,
                    encoding: str | None = "utf-8") -> Language:
    """EPAY_LANG, then the profile's ``lang``, then LC_ALL, LC_MESSAGES, LANG. A stream that
    cannot write Chinese (ASCII, Latin-1) gets English rather than mojibake or a crash."""
    chosen = language_of(environ.get("EPAY_LANG")) or language_of(profile_lang)
    for variable in LOCALE_VARIABLES:
        if chosen is not None:
            break
        chosen = language_of(environ.get(variable))
    if chosen == "zh" and not can_write_chinese(encoding):
        return "en"
    return chosen or "en"


def can_write_chinese(encoding: str | None) -> bool:
    try:
        "商户密钥".encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


class Messages:
    """The text of message ids in one language; English templates are given by the caller
    (they live beside the code), the Chinese ones come from the catalogue."""

    def __init__(self, language: Language = "en",
                 catalogue: Mapping[str, str] | None = None) -> None:
        self.language = language
        self._catalogue = catalogue if catalogue is not None else (
            load_catalogue(language) if language != "en" else {})

    def text(self, message_id: str, english: Template, /, **fields: object) -> str:
        template = self._catalogue.get(message_id, english)
        # a field that is itself a sentence (a core.words Text) is said in this language too
        return render(template, self.said_fields(fields) if self.language != "en" else fields)

    def say(self, text: str) -> str:
        """A ``core.words`` Text (or Joined list of them, or Bilingual phrase) in this language,
        its fields said too; any other string as it is. English is the text itself."""
        if self.language == "en" or not isinstance(text, str):
            return text
        from ..core.words import Bilingual, Joined, Text

        if isinstance(text, Bilingual):
            return text.chinese or text
        if isinstance(text, Joined):
            return self.text(text.id, text.separator).join(self.say(item) for item in text.items)
        if not isinstance(text, Text):
            return text
        return self.text(text.id, text.template, **self.said_fields(text.fields))

    def say_error(self, error: Any) -> tuple[str, str | None]:
        """An ``EpayError``'s message and hint in this language: a worded one (raised with
        ``fields``) by its wording's id (``errors.<id>.message``/``.hint``), its Text fields said
        too; plain words as they are."""
        if error.templates is None or self.language == "en":
            return error.message, error.hint
        template, hint_template = error.templates
        wording, fields = error.words or error.code, self.said_fields(error.fields)
        return (self.text(f"errors.{wording}.message", template, **fields),
                self.text(f"errors.{wording}.hint", hint_template, **fields) if hint_template
                else error.hint)

    def said_fields(self, fields: Mapping[str, object]) -> dict[str, object]:
        """Template fields with every Text, Joined or Bilingual among them said."""
        return {name: self.say(value) if isinstance(value, str) else value
                for name, value in fields.items()}

    @overload
    def say_all(self, value: dict[str, Any]) -> dict[str, Any]: ...

    @overload
    def say_all(self, value: object) -> object: ...

    def say_all(self, value: object) -> object:
        """A JSON-shaped value with every Text in it worded (its keys and other values kept)."""
        if self.language == "en":
            return value
        if isinstance(value, dict):
            return {key: self.say_all(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.say_all(item) for item in value]
        return self.say(value) if isinstance(value, str) else value


def render(template: Template, fields: Mapping[str, object]) -> str:
    if not isinstance(template, str):  # {one, other}: chosen by the count
        template = template["one" if fields.get("count") == 1 else "other"]
    return template.format_map(fields)


def load_catalogue(language: Language) -> dict[str, str]:
    """The translation table of ``language`` (``zh.toml`` and ``zh/*.toml``), flattened to
    ``id → template``. An id given twice is a mistake in the catalogue, not a choice."""
    catalogue: dict[str, str] = {}
    for name, table in _tables(language):
        for message_id, template in _flatten(table):
            if message_id in catalogue:
                raise ValueError(f"message id {message_id} is given twice ({name})")
            catalogue[message_id] = template
    return catalogue


def fold(text: str) -> str:
    """A help text as the catalogue keys it: white space folded, paragraphs kept."""
    return "\n\n".join(" ".join(part.split()) for part in text.strip().split("\n\n")
                       if part.strip())


def load_help(language: Language) -> dict[str, str]:
    """``--help`` texts of ``language``, keyed by their folded English text (from
    ``zh-help.toml`` and ``zh-help/*.toml``)."""
    return {fold(entry["en"]): entry["zh"].strip()
            for _, table in _tables(f"{language}-help") for entry in table.get("help", ())}


def _tables(stem: str) -> Iterator[tuple[str, dict[str, Any]]]:  # parsed TOML
    """``stem.toml`` and every ``stem/*.toml`` beside this module, parsed, in name order."""
    import tomllib
    from importlib import resources

    here = resources.files(__package__)
    files = [here.joinpath(f"{stem}.toml")]
    folder = here.joinpath(stem)
    if folder.is_dir():
        files += sorted((f for f in folder.iterdir() if f.name.endswith(".toml")),
                        key=lambda f: f.name)
    for file in files:
        yield file.name, tomllib.loads(file.read_text("utf-8"))


def _flatten(table: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in table.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", str(value)
