"""Why a signature does not match: recompute it under each known mistake and name the one
that reproduces the received sign.

A candidate is one way of turning the received fields into signed bytes: which fields and
values (as received, URL-encoded, HTML-escaped, one field left out …), in which order, where the
key goes (MD5 only) and in which encoding. Candidates with fewer mistakes are tried first, so the
simplest explanation wins; two mistakes at once are still found.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .canonical import (
    UNSIGNED_FIELDS,
    Blanks,
    canonical_string,
    has_blank_values,
    join_fields,
    may_look_numeric,
)
from .ksort import DEFAULT_VERSION, PhpVersion, ksort_names
from .models import SUCCESS_STATUS
from .money import money_renderings
from .php import htmlspecialchars, is_blank, rawurlencode, urlencode
from .signing import constant_time_equal, md5_hex, rsa_verify_message
from .words import Joined, Text, Texts

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

COMMON_TYPES = ("alipay", "wxpay", "qqpay", "bank", "jdpay", "paypal", "tenpay")


@dataclass(frozen=True)
class Mistake:
    id: str
    title: str
    fix: str


MISTAKES = {
    m.id: m
    for m in (
        Mistake("none", "the sign is genuine", "nothing to fix"),
        Mistake(
            "key_as_param",
            "the key was appended as '&key=KEY'",
            "Epay appends the key directly: md5('a=1&b=2' + KEY), with no '&key='",
        ),
        Mistake(
            "key_prepended",
            "the key was put in front of the string",
            "append the key after the string: md5('a=1&b=2' + KEY)",
        ),
        Mistake(
            "url_encoded_values",
            "the values were URL-encoded before signing",
            "sign the decoded, raw values; URL-encode only when building the URL",
        ),
        Mistake(
            "sign_type_included",
            "sign_type was included in the signed string",
            "leave out both sign and sign_type when signing",
        ),
        Mistake(
            "empty_included",
            "empty values were included in the signed string (like 'param=')",
            "leave out every parameter whose value is empty",
        ),
        Mistake(
            "trimmed_values",
            "the values were trimmed of spaces before signing",
            "sign values exactly as sent (a framework's TrimStrings-style filter trims input)",
        ),
        Mistake(
            "uppercase_hex",
            "the sign is uppercase hex",
            "Epay compares exactly and signs lowercase: use strtolower(md5(...)) / .lower()",
        ),
        Mistake(
            "unsorted",
            "the fields were not sorted by name",
            "sort the fields by name in byte order (PHP ksort) before joining",
        ),
        Mistake(
            "byte_order_numeric",
            "the fields were sorted in plain byte order, but PHP sorts names that look like "
            "numbers as numbers (ksort: 9 before 10)",
            "sort as PHP's ksort does (epay sign does), or give your own fields names that do "
            "not look like numbers",
        ),
        Mistake(
            "gbk_bytes",
            "the string was hashed as GBK bytes instead of UTF-8",
            "hash the UTF-8 bytes (save the code as UTF-8; no mb_convert_encoding to GBK)",
        ),
        Mistake(
            "money_reformatted",
            "money was re-formatted between signing and checking",
            "sign and verify money exactly as sent (never cast it to a number in between); "
            "compare amounts numerically only after the signature passes",
        ),
        Mistake(
            "html_escaped",
            "the sign covers HTML-escaped values (&amp; &quot; &#039;), but they arrived plain",
            "verify over the values exactly as received, without escaping or unescaping them",
        ),
        Mistake(
            "html_unescaped",
            "the values arrived HTML-escaped, but the sign covers them plain",
            "something between the gateway and you escaped them (a framework's default "
            "htmlspecialchars filter): verify over the raw request values",
        ),
        Mistake(
            "field_added_after_signing",
            "a field that is not covered by the sign was added after signing",
            "verify over the gateway's fields only: take them from the raw query/body, or "
            "drop the framework's own parameter (like ThinkPHP's route 's') before verifying",
        ),
        Mistake(
            "two_fields_added_after_signing",
            "two fields that are not covered by the sign were added after signing",
            "verify over the gateway's fields only: drop the extra ones before verifying",
        ),
        Mistake(
            "field_missing",
            "a field covered by the sign is missing from what was checked",
            "verify over every received field, including ones your code does not use",
        ),
        Mistake(
            "notify_url_query",
            "the notify_url had its own query string: the gateway stored it HTML-escaped and "
            "sent its fields, unsigned, in front of the signed ones",
            "use a notify_url without '?…' (put data in the path or in 'param'); until then "
            "drop those fields before verifying",
        ),
        Mistake(
            "type0_unsigned",
            "type=0 is not covered by the sign: the order was paid without a payment type, and "
            "the gateway sends type=0 unsigned; every other field is genuinely signed",
            "make sure every order is created with a type; confirm this one with the order "
            "query API (api.php?act=order) before crediting",
        ),
        Mistake(
            "sign_plus_as_space",
            "the sign's '+' characters arrived as spaces: it was sent without URL-encoding",
            "URL-encode the sign when building the query (http_build_query / urlencode do)",
        ),
        Mistake(
            "wrong_key",
            "no known mistake explains this sign: wrong key, or data changed after signing",
            "check the merchant key (商户密钥) in the gateway's panel and that the callback was "
            "pasted whole and unchanged",
        ),
        Mistake(
            "wrong_public_key",
            "no known mistake explains this sign: wrong public key, or data changed after "
            "signing",
            "check the platform public key (平台公钥) in the gateway's panel and that the "
            "callback was pasted whole and unchanged",
        ),
    )
}


# The search is bounded: a callback has a dozen fields, but a hostile one may have thousands,
# and the listener runs this on whatever arrives. Measured here: ~2 µs an MD5 candidate,
# ~40 µs an RSA one.
MAX_MD5_ATTEMPTS = 20_000
MAX_RSA_ATTEMPTS = 2_000
MAX_FIELDS_FOR_PAIRS = 24
MAX_FIELDS = 64  # a real callback has about a dozen; past this, no search at all
# ...and bounded in work, so in time: the characters joined and hashed over all candidates.
# A callback is ~300 bytes (thousands of candidates fit); a 64 KiB one stops within ~100 ms.
MAX_WORK_CHARS = 3_000_000
MAX_SEARCH_CHARS = 64 * 1024  # a callback past this is not searched at all


@dataclass(frozen=True)
class Diagnosis:
    """What made the sign differ. ``mistakes`` lists every mistake that together reproduce it."""

    mistakes: tuple[str, ...]
    detail: str = ""
    signed_string: str = ""  # what the sender really signed, without the key
    expected_string: str = ""  # what the protocol signs for these fields, without the key

    @property
    def mistake(self) -> str:
        return "+".join(self.mistakes)

    @property
    def genuine(self) -> bool:
        return self.mistakes == ("none",)

    @property
    def explained(self) -> bool:
        return not self.genuine and self.mistakes[0] not in ("wrong_key", "wrong_public_key")

    @property
    def title(self) -> str:
        return _listed(self.mistakes, "title")

    @property
    def fix(self) -> str:
        return _listed(self.mistakes, "fix")

    def to_dict(self) -> dict[str, Any]:
        return {
            "mistake": self.mistake,
            "mistakes": list(self.mistakes),
            "title": self.title,
            "fix": self.fix,
            "detail": self.detail,
            "signed_string": self.signed_string,
            "expected_string": self.expected_string,
        }


def _listed(mistakes: tuple[str, ...], part: str) -> str:
    """The title (or fix) of each mistake, as a Text the CLI can word (``verify.mistakes.*``)."""
    texts = [Text(f"verify.mistakes.{m}.{part}", getattr(MISTAKES[m], part)) for m in mistakes]
    return texts[0] if len(texts) == 1 else Joined("verify.mistakes.and", "; and ", texts)


# What a diagnosis adds about the fields it found (``Diagnosis.detail``), by id.
DETAILS = {
    "blanks_dropped": "whitespace-only values left out, as newer servers do",
    "too_many_fields": "{count} fields: too many to search",
    "too_large": "{size} characters: too large to search",
    "search_stopped": "search stopped after {tried} candidates",
    "money_reformatted": "the sign covers money={rendering}, but money={money} arrived",
    "notify_url_query": "unsigned fields in front: {names}",
    "type0_unsigned": "type=0 arrived but is not signed",
    "field_added": "'{name}' is not covered by the sign",
    "two_fields_added": "'{first}' and '{second}' are not covered by the sign",
    "field_missing": "the sign covers {name}={value}, which is missing here",
}


_detail = Texts("verify.details", DETAILS)


Pairs = tuple[tuple[str, str], ...]
Transform = Callable[[str], str]
# (mistakes, string tried, what the sign is compared with) for a choice of fields
Attempts = Callable[["_Fields", int], Iterator[tuple[tuple[str, ...], str, str]]]


@dataclass(frozen=True)
class _Fields:
    """One way of choosing the signed fields and values, and the mistakes it stands for."""

    mistakes: tuple[str, ...]
    detail: str
    fields: Pairs  # in received order
    # How the values were chosen, so two value mistakes can be applied together.
    include_sign_type: bool = False
    include_empty: bool = False
    transform: Callable[[str], str] | None = None


def diagnose_md5(params: Mapping[str, str], key: str) -> Diagnosis:
    sign = params.get("sign", "")
    lowered = sign.lower()
    case_mistakes = ("uppercase_hex",) if lowered != sign else ()

    def attempts(fields: _Fields, allowed: int) -> Iterator[tuple[tuple[str, ...], str, str]]:
        for order_mistake, ordered in _orders(fields.fields, every_php=not fields.mistakes):
            string = join_fields(ordered)
            for key_mistake, keyed in (
                ((), string + key),
                (("key_as_param",), f"{string}&key={key}"),
                (("key_prepended",), key + string),
            ):
                for encoding_mistake, encoding in (((), "utf-8"), (("gbk_bytes",), "gbk")):
                    mistakes = order_mistake + key_mistake + encoding_mistake + case_mistakes
                    if len(mistakes) <= allowed:
                        yield mistakes, string, _digest(keyed, encoding)

    # Constant time here too: the first candidate is the genuine sign itself.
    return _search(params, attempts, lambda digest: constant_time_equal(digest, lowered),
                   "wrong_key", blanks="keep", budget=MAX_MD5_ATTEMPTS)


def diagnose_rsa(params: Mapping[str, str], public_key: RSAPublicKey) -> Diagnosis:
    sign = params.get("sign", "")
    if " " in sign:
        # A base64 sign sent without URL-encoding: its '+' arrive as spaces.
        repaired = sign.replace(" ", "+")
        expected = canonical_string(params, blanks="drop")
        if rsa_verify_message(expected, repaired, public_key):
            return Diagnosis(("sign_plus_as_space",), "", expected, expected)

    def attempts(fields: _Fields, allowed: int) -> Iterator[tuple[tuple[str, ...], str, str]]:
        for order_mistake, ordered in _orders(fields.fields, every_php=not fields.mistakes):
            if len(order_mistake) <= allowed:
                string = join_fields(ordered)
                yield order_mistake, string, string

    return _search(params, attempts,
                   lambda message: rsa_verify_message(message, sign, public_key),
                   "wrong_public_key", blanks="drop", budget=MAX_RSA_ATTEMPTS)


def _search(params: Mapping[str, str], attempts: Attempts, matches: Callable[[str], bool],
            no_match: str, *, blanks: Blanks, budget: int) -> Diagnosis:
    """Try candidates, fewest mistakes first (at most two), within ``budget`` attempts."""
    expected = canonical_string(params, blanks=blanks)
    if len(params) > MAX_FIELDS:
        return Diagnosis((no_match,), _detail("too_many_fields", count=len(params)), "",
                         expected)
    size = sum(len(k) + len(v) for k, v in params.items())
    if size > MAX_SEARCH_CHARS:
        return Diagnosis((no_match,), _detail("too_large", size=size), "", expected)
    best: tuple[int, Diagnosis] | None = None
    tried = 0
    work = 0
    for fields in _field_variants(params, blanks=blanks):
        allowed = 2 - len(fields.mistakes)
        for other_mistakes, string, candidate in attempts(fields, allowed):
            tried += 1
            work += len(string)
            if tried > budget or work > MAX_WORK_CHARS:
                return best[1] if best else Diagnosis(
                    (no_match,), _detail("search_stopped", tried=tried - 1), "", expected)
            if not matches(candidate):
                continue
            mistakes = fields.mistakes + other_mistakes
            found = Diagnosis(mistakes or ("none",), fields.detail, string, expected)
            if len(mistakes) <= 1:
                return found
            if best is None or len(mistakes) < best[0]:
                best = (len(mistakes), found)
    return best[1] if best else Diagnosis((no_match,), "", "", expected)


def _digest(text: str, encoding: str) -> str:
    if encoding == "utf-8":
        return md5_hex(text)
    try:
        return hashlib.md5(text.encode(encoding)).hexdigest()
    except UnicodeEncodeError:  # not representable in GBK: that cannot be the mistake
        return ""


def _orders(fields: Pairs, *,
            every_php: bool = True) -> Iterator[tuple[tuple[str, ...], list[tuple[str, str]]]]:
    """The orders a signer may have joined ``fields`` in: PHP's (each version's, for names
    that look like numbers, when ``every_php``; else PHP 8.2's alone, to keep the search
    fast), then plain byte order, then arrival order."""
    ordered = sorted(fields)
    if not may_look_numeric([name for name, _ in fields]):
        yield (), ordered
        if list(fields) != ordered:
            yield ("unsorted",), list(fields)
        return
    values = dict(fields)
    names = tuple(name for name, _ in fields)
    seen: list[list[tuple[str, str]]] = []
    versions = [DEFAULT_VERSION, *(v for v in PhpVersion if v is not DEFAULT_VERSION)]
    for version in versions if every_php else versions[:1]:
        php = [(name, values[name]) for name in _php_order(names, version)]
        if php not in seen:
            seen.append(php)
            yield (), php
    for mistake, candidate in (("byte_order_numeric", ordered), ("unsorted", list(fields))):
        if candidate not in seen:
            seen.append(candidate)
            yield (mistake,), candidate


@lru_cache(maxsize=256)
def _php_order(names: tuple[str, ...], version: PhpVersion) -> list[str]:
    """Most candidates differ in values only: sort each set of names once."""
    return ksort_names(names, version)


def _field_variants(params: Mapping[str, str], *, blanks: Blanks) -> Iterator[_Fields]:
    """The received fields as the standard rule selects them, then under each known mistake."""
    keep_blanks = blanks == "keep"

    def select(*, include_sign_type: bool = False, include_empty: bool = False,
               transform: Transform | None = None) -> Pairs:
        """Choose the signed pairs as a signer with these habits would."""
        pairs = [(k, v) for k, v in params.items()
                 if k != "sign" and (include_sign_type or k != "sign_type")]
        if transform is not None:
            pairs = [(k, transform(v)) for k, v in pairs]
        if include_empty:
            return tuple(pairs)
        return tuple((k, v) for k, v in pairs if v != "" and (keep_blanks or not is_blank(v)))

    base = select()
    yield _Fields((), "", base)
    if keep_blanks and has_blank_values(params):
        trimmed = tuple((k, v) for k, v in base if not is_blank(v))
        yield _Fields((), _detail("blanks_dropped"), trimmed)

    habits = list(_value_habits(params, base, select))
    yield from habits
    yield from _money_variants(params, base)
    yield from _dropped_fields(params, base)
    yield from _missing_fields(params, base)
    for first, second in itertools.combinations(habits, 2):
        if first.mistakes != second.mistakes:
            yield _Fields(
                first.mistakes + second.mistakes, "",
                select(include_sign_type=first.include_sign_type or second.include_sign_type,
                       include_empty=first.include_empty or second.include_empty,
                       transform=_compose(first.transform, second.transform)),
            )
    if len(base) <= MAX_FIELDS_FOR_PAIRS:
        yield from _dropped_pairs(base)


def _compose(first: Transform | None, second: Transform | None) -> Transform | None:
    """Both transforms, ``second`` applied first: ``_VALUE_TRANSFORMS`` lists URL-encoding (a
    signer's last step) before trimming and unescaping (what a framework does to input)."""
    if first is None or second is None:
        return first or second
    return lambda value: first(second(value))


def _value_habits(params: Mapping[str, str], base: Pairs,
                  select: Callable[..., Pairs]) -> Iterator[_Fields]:
    """Mistakes in how a signer picks or writes every value; each can pair with another."""
    if "sign_type" in params:
        yield _Fields(("sign_type_included",), "", select(include_sign_type=True),
                      include_sign_type=True)
    if any(v == "" for k, v in params.items() if k not in UNSIGNED_FIELDS):
        yield _Fields(("empty_included",), "", select(include_empty=True), include_empty=True)
    for mistake, transform in _VALUE_TRANSFORMS:
        changed = select(transform=transform)
        if changed != base:
            yield _Fields((mistake,), "", changed, transform=transform)


def _money_variants(params: Mapping[str, str], base: Pairs) -> Iterator[_Fields]:
    if "money" in params:
        for rendering in money_renderings(params["money"]):
            changed = tuple((k, rendering if k == "money" else v) for k, v in base)
            detail = _detail("money_reformatted", rendering=rendering, money=params["money"])
            yield _Fields(("money_reformatted",), detail, changed)


def _dropped_fields(params: Mapping[str, str], base: Pairs) -> Iterator[_Fields]:
    names = [k for k, _ in base]
    received = [k for k in params if k not in UNSIGNED_FIELDS]
    if "pid" in names and received.index("pid") > 0:
        # Fields in front of pid are what a notify_url's own query string turns into.
        in_front = set(received[: received.index("pid")]) | {k for k in names
                                                            if k.startswith("amp;")}
        kept = tuple(p for p in base if p[0] not in in_front)
        detail = _detail("notify_url_query", names=", ".join(sorted(in_front)))
        yield _Fields(("notify_url_query",), detail, kept)
    for name, value in base:
        kept = tuple(p for p in base if p[0] != name)
        if name == "type" and value == "0":
            yield _Fields(("type0_unsigned",), _detail("type0_unsigned"), kept)
        else:
            yield _Fields(("field_added_after_signing",),
                          _detail("field_added", name=name), kept)


def _dropped_pairs(base: Pairs) -> Iterator[_Fields]:
    for (first, _), (second, _) in itertools.combinations(base, 2):
        kept = tuple(p for p in base if p[0] not in (first, second))
        yield _Fields(("two_fields_added_after_signing",),
                      _detail("two_fields_added", first=first, second=second), kept)


def _missing_fields(params: Mapping[str, str], base: Pairs) -> Iterator[_Fields]:
    guesses = []
    if "trade_status" not in params and "trade_no" in params:
        guesses.append(("trade_status", SUCCESS_STATUS))
    if "type" not in params and "trade_no" in params:
        guesses.extend(("type", t) for t in COMMON_TYPES)
    for name, value in guesses:
        detail = _detail("field_missing", name=name, value=value)
        yield _Fields(("field_missing",), detail, base + ((name, value),))


def _html_unescape(value: str) -> str:
    import html  # its entity table is large; load it only when diagnosing

    return html.unescape(value)


_VALUE_TRANSFORMS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("url_encoded_values", urlencode),
    ("url_encoded_values", rawurlencode),  # rawurlencode / encodeURIComponent
    ("html_escaped", htmlspecialchars),
    ("html_unescaped", _html_unescape),
    ("trimmed_values", lambda v: v.strip()),
)
