"""Finding what an Epay error means: by code, by id, or by its message as a gateway sent it —
with the order numbers and amounts it interpolated, and punctuation that differs (full-width
or not, a missing ``！``). Unknown input gets the closest entries, not silence.

The data is ``errors.toml`` beside this file; it is read once per process.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from ..core.words import Bilingual, Text

PLACEHOLDER = re.compile(r"\{(\w+)\}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,6}")
CLOSE_ENOUGH = 0.55  # difflib ratio from which a fuzzy match is shown as "closest"
PARTIAL_SHARE = 0.8  # how much of a fragment must appear, in order, in a message's text
CLOSEST_CHARS = 120  # a guess compares the start of a long text (a page), not all of it
# Characters that turn a statement into its opposite: 订单号不存在 is no match for 订单号已存在.
_NEGATIONS = frozenset("不未没无非")


@dataclass(frozen=True)
class Entry:
    id: str
    codes: tuple[int, ...]
    messages: tuple[str, ...]
    zh: str
    en: str
    cause: str
    fix: str
    source: str = "epay"
    where: str = ""
    aliases: tuple[str, ...] = ()  # what people call it (签名错误), matched whole
    patterns: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)
    literals: tuple[str, ...] = field(default=(), compare=False, repr=False)  # fixed text

    @property
    def from_other_gateways(self) -> bool:
        return self.source == "other"

    @property
    def meaning(self) -> Bilingual:
        """What the message means, as one clause in either language (no final stop)."""
        return Bilingual(self.en.rstrip("."), self.zh.rstrip("。"))

    @property
    def fix_said(self) -> Text:
        """The fix, said in the run's language (``errors_catalogue.<id>.fix`` in Chinese)."""
        return _catalogue_note(self.id, "fix", self.fix)

    @property
    def cause_said(self) -> Text:
        return _catalogue_note(self.id, "cause", self.cause)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "codes": list(self.codes), "messages": list(self.messages),
                "zh": self.zh, "en": self.en, "cause": self.cause, "fix": self.fix,
                "source": self.source, "where": self.where, "aliases": list(self.aliases)}


def _catalogue_note(entry_id: str, part: str, english: str) -> Text:
    """An entry's cause or fix as a note: its Chinese is the catalogue's, by the entry's id."""
    return Text(f"errors_catalogue.{entry_id}.{part}",
                english.replace("{", "{{").replace("}", "}}"))


@dataclass(frozen=True)
class CodeMeaning:
    code: int
    zh: str
    en: str
    source: str = "epay"

    @property
    def said(self) -> Bilingual:
        """The meaning as one clause in either language (no final stop)."""
        return Bilingual(self.en.rstrip("."), self.zh.rstrip("。"))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "zh": self.zh, "en": self.en, "source": self.source}


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float  # 1.0 exact (values aside); lower: closest
    how: str  # exact | template | alias | contains | partial | closest | code | http | id
    values: dict[str, str] = field(default_factory=dict)  # what filled the {placeholders}

    def to_dict(self) -> dict[str, Any]:
        return {"how": self.how, "score": round(self.score, 3), "values": self.values,
                **self.entry.to_dict()}


@dataclass(frozen=True)
class Lookup:
    query: str
    matches: tuple[Match, ...]
    code: CodeMeaning | None = None

    @property
    def found(self) -> bool:
        """Something really matched (not only the closest guesses)."""
        return self.code is not None or any(m.how != "closest" for m in self.matches)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "found": self.found,
                "code": self.code.to_dict() if self.code else None,
                "matches": [m.to_dict() for m in self.matches]}


def normalize(text: str) -> str:
    """Letters and digits only, width-folded and lowercased: ``该订单（A1）已完成支付！`` and
    ``该订单(A1)已完成支付`` compare equal."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _compile(template: str) -> re.Pattern[str]:
    """A message template as a pattern over normalized text: each {value} matches anything."""
    pieces = PLACEHOLDER.split(template)
    parts = []
    for index, piece in enumerate(pieces):
        if index % 2:
            parts.append(f"(?P<{piece}>.*?)")
        else:
            parts.append(re.escape(normalize(piece)))
    return re.compile("".join(parts))


class Catalogue:
    def __init__(self, entries: list[Entry], codes: dict[int, CodeMeaning]) -> None:
        self.entries = entries
        self.codes = codes
        self.by_id = {entry.id: entry for entry in entries}

    def entry(self, entry_id: str) -> Entry:
        return self.by_id[entry_id]

    def lookup(self, text: str, *, limit: int = 3) -> Lookup:
        """What ``text`` (a code, an entry id, or a message) means; the closest entries when
        nothing matches."""
        query = text.strip()
        if _INTEGER.fullmatch(query):
            return self._lookup_code(query)
        if query in self.by_id:
            return Lookup(query, (Match(self.by_id[query], 1.0, "id"),))
        return Lookup(query, tuple(self.match_message(query, limit=limit)))

    def _lookup_code(self, query: str) -> Lookup:
        """A number: the entries that carry it; one shaped like an HTTP status (500) that is no
        Epay code gets the entries about that status instead."""
        code = int(query)
        matches = tuple(Match(e, 1.0, "code") for e in self.entries if code in e.codes)
        meaning = self.codes.get(code)
        if not matches and meaning is None and 100 <= code <= 599:
            status = f"http{code}"
            matches = tuple(Match(e, 1.0, "http") for e in self.entries
                            if any(status in literal for literal in e.literals))
        return Lookup(query, matches, meaning)

    def match_message(self, message: str, *, limit: int = 3, closest: bool = True) -> list[Match]:
        """Entries for a message, best first: exact or template matches, what people call it
        (an alias), a message found inside a longer text (an HTML page, a prefix), a fragment of
        a message, then — with ``closest`` — the closest guesses."""
        wanted = normalize(message)
        if not wanted:
            return []
        found: list[Match] = []
        for entry in self.entries:
            best = self._match_entry(entry, wanted, message)
            if best:
                found.append(best)
        found.sort(key=lambda m: -m.score)
        if found and found[0].score >= 0.64:
            return [m for m in found if m.score >= 0.64][:limit]
        return self._closest(wanted, limit) if closest else []

    def _match_entry(self, entry: Entry, wanted: str, raw: str) -> Match | None:
        best: Match | None = None
        for pattern, template, literal in zip(entry.patterns, entry.messages, entry.literals,
                                              strict=True):
            full = pattern.fullmatch(wanted)
            if full:
                how = "template" if pattern.groupindex else "exact"
                return Match(entry, 1.0, how, _values(template, raw, full))
            inside = pattern.search(wanted) if len(literal) >= 4 else None
            if inside and (best is None or best.score < 0.9):
                best = Match(entry, 0.9, "contains", _values(template, raw, inside))
            elif len(wanted) >= 4 and (best is None or best.score < PARTIAL_SHARE):
                covered = _covered(wanted, literal)
                if covered >= PARTIAL_SHARE:  # a fragment, perhaps with a value in it
                    best = Match(entry, PARTIAL_SHARE * covered, "partial")
        for alias in entry.aliases:
            name = normalize(alias)
            if name == wanted:
                return Match(entry, 0.95, "alias")
            if len(name) >= 4 and name in wanted and (best is None or best.score < 0.85):
                best = Match(entry, 0.85, "alias")
        return best

    def _closest(self, wanted: str, limit: int) -> list[Match]:
        """The ``limit`` entries most like ``wanted`` (difflib), for a person to look through."""
        from difflib import SequenceMatcher

        wanted = wanted[:CLOSEST_CHARS]
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(wanted)  # difflib caches what it learns about the second sequence
        scored: list[Match] = []
        for entry in self.entries:
            texts = [*entry.literals, normalize(entry.id), normalize(entry.en),
                     *(normalize(a) for a in entry.aliases)]
            floor = scored[limit - 1].score if len(scored) >= limit else 0.0
            ratio = 0.0
            for text in texts:
                if not text:
                    continue
                matcher.set_seq1(text[:CLOSEST_CHARS])
                if matcher.real_quick_ratio() > max(ratio, floor) and \
                        matcher.quick_ratio() > max(ratio, floor):
                    ratio = max(ratio, matcher.ratio())
            scored.append(Match(entry, ratio, "closest"))
            scored.sort(key=lambda m: -m.score)
        return scored[:limit]

    def explain(self, code: object, message: str) -> Entry | None:
        """The entry for an error a gateway answered: by its message, else by a code that
        only one entry carries (1001, 2003), else by what people call it (an alias: a gateway
        that is not Epay's may answer 签名错误). Never guesses: a message it does not know costs
        no fuzzy pass over the catalogue."""
        matches = self.match_message(message, limit=1, closest=False) if message else []
        if matches and matches[0].how != "alias":
            return matches[0].entry
        number = _as_int(code)
        if number is not None:
            carriers = [e for e in self.entries if number in e.codes]
            if len(carriers) == 1:
                return carriers[0]
        return matches[0].entry if matches else None

    def code_meaning(self, code: object) -> CodeMeaning | None:
        number = _as_int(code)
        return None if number is None else self.codes.get(number)


def _covered(wanted: str, literal: str) -> float:
    """How much of ``wanted`` appears, in order, in the message's fixed text (0 when a negation
    is on one side only: 订单号已存在 is the opposite of 订单号不存在, not a fragment of it)."""
    if wanted in literal:
        return 1.0
    if len(wanted) * PARTIAL_SHARE > len(literal) or not _may_cover(wanted, literal):
        return 0.0  # cannot reach the share: spare difflib (most texts end here)
    from difflib import SequenceMatcher

    blocks = [b for b in SequenceMatcher(None, wanted, literal, autojunk=False)
              .get_matching_blocks() if b.size >= 2]
    if not blocks:
        return 0.0
    in_wanted = {i for b in blocks for i in range(b.a, b.a + b.size)}
    in_literal = {j for b in blocks for j in range(b.b, b.b + b.size)}
    left_out = {ch for i, ch in enumerate(wanted) if i not in in_wanted}
    span = range(blocks[0].b, blocks[-1].b + blocks[-1].size)
    skipped = {literal[j] for j in span if j not in in_literal}
    if bool(left_out & _NEGATIONS) != bool(skipped & _NEGATIONS):
        return 0.0
    return len(in_wanted) / len(wanted)


def _may_cover(wanted: str, literal: str) -> bool:
    """An upper bound of ``_covered``, cheap: a character in a shared run of two or more is in
    a pair of neighbours that the literal also has."""
    pairs = {literal[i:i + 2] for i in range(len(literal) - 1)}
    hits = [wanted[i:i + 2] in pairs for i in range(len(wanted) - 1)]
    covered = sum(1 for i in range(len(wanted))
                  if (i < len(hits) and hits[i]) or (i > 0 and hits[i - 1]))
    return covered >= PARTIAL_SHARE * len(wanted)


def _values(template: str, raw: str, match: re.Match[str]) -> dict[str, str]:
    """The interpolated values as the gateway wrote them (``ABC-123``, ``1000.50``), read from
    the raw text with the template's letters and digits as anchors; the normalized ones when
    that fails."""
    normalized = {k: v for k, v in match.groupdict().items() if v}
    if not normalized:
        return {}
    separator = r"[\W_]*"
    parts = []
    for index, piece in enumerate(PLACEHOLDER.split(template)):
        if index % 2:
            parts.append(f"(?P<{piece}>.*?)")
        else:
            parts.append(separator.join(re.escape(ch) for ch in normalize(piece)))
    pattern = separator.join(p for p in parts if p)
    if template.endswith("}"):  # a trailing value runs to the end of the text
        pattern += "$"
    found = re.search(pattern, unicodedata.normalize("NFKC", raw), re.IGNORECASE)
    if not found:
        return normalized
    trimmed = {k: v.strip(" \t()（）:：,，!！。.") for k, v in found.groupdict().items() if v}
    return {k: v for k, v in trimmed.items() if v} or normalized


def _as_int(code: object) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and _INTEGER.fullmatch(code.strip()):
        return int(code.strip())
    return None


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The catalogue shipped with epay (``errors.toml``)."""
    import tomllib

    raw = resources.files(__package__).joinpath("errors.toml").read_text(encoding="utf-8")
    return parse_catalogue(tomllib.loads(raw))


def parse_catalogue(document: dict[str, Any]) -> Catalogue:
    entries = []
    for item in document.get("entry", []):
        messages = tuple(item.get("messages", ()))
        entries.append(Entry(
            id=item["id"], codes=tuple(item.get("codes", ())), messages=messages,
            zh=item["zh"], en=item["en"], cause=item["cause"], fix=item["fix"],
            source=item.get("source", "epay"), where=item.get("where", ""),
            aliases=tuple(item.get("aliases", ())),
            patterns=tuple(_compile(m) for m in messages),
            literals=tuple(normalize(PLACEHOLDER.sub("", m)) for m in messages),
        ))
    codes = {item["code"]: CodeMeaning(item["code"], item["zh"], item["en"],
                                       item.get("source", "epay"))
             for item in document.get("code", [])}
    return Catalogue(entries, codes)


def lookup(text: str, *, limit: int = 3) -> Lookup:
    return catalogue().lookup(text, limit=limit)


def explain(code: object, message: str) -> Entry | None:
    return catalogue().explain(code, message)


def entry(entry_id: str) -> Entry:
    return catalogue().entry(entry_id)
