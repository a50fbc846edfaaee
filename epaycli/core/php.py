"""How PHP reads and writes things. Every Epay gateway and SDK is PHP, so what PHP does to a
string before it is signed, stored or sent is the protocol: these rules live here, once.

(PHP's ``ksort`` order for numeric-looking names lives in ``ksort.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, quote_plus

from .patterns import lazy
from .words import Text, Texts

if TYPE_CHECKING:  # decimal costs `epay sign` ~1 ms at start-up, and only money needs it
    from decimal import Decimal

# PHP's trim() strips exactly these: space, tab, LF, CR, NUL and vertical tab (not \f).
TRIM_CHARS = " \t\n\r\0\x0b"


def trim(value: str) -> str:
    return value.strip(TRIM_CHARS)


def is_blank(value: str) -> bool:
    """Empty once trimmed as PHP trims: what newer servers leave out of the signed string."""
    return not value.strip(TRIM_CHARS)


def is_empty(value: str) -> bool:
    """PHP's ``empty()`` on a string: ``""`` and ``"0"``. Why ``param=0`` is never notified."""
    return value in ("", "0")


def urlencode(value: str) -> str:
    """PHP ``urlencode``: like ``quote_plus`` but ``~`` is encoded too."""
    return quote_plus(value, safe="").replace("~", "%7E")


def rawurlencode(value: str) -> str:
    """PHP ``rawurlencode`` (RFC 3986; also what JavaScript's encodeURIComponent nearly is)."""
    return quote(value, safe="")


def http_build_query(params: Mapping[str, str]) -> str:
    """PHP ``http_build_query`` of a flat array: how gateways write a notify's query string."""
    return "&".join(f"{urlencode(k)}={urlencode(v)}" for k, v in params.items())


def htmlspecialchars(value: str) -> str:
    """PHP 8's ``htmlspecialchars`` defaults (ENT_QUOTES): how Epay servers store text fields."""
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def addslashes(value: str) -> str:
    """PHP ``addslashes``: a backslash before ``'``, ``"``, ``\\`` and NUL."""
    return (value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
            .replace("\0", "\\0"))


def stored_form(value: str) -> str:
    """What a real server stores (and later signs in the notify) for name, param and the URLs:
    ``htmlspecialchars(addslashes(x))``."""
    return htmlspecialchars(addslashes(value))


def float_text(value: Decimal) -> str:
    """What PHP prints for ``(float)$money``: how newer servers send ``money`` (1.00 → 1)."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value.normalize():f}"


# ---- parameter names as PHP's request parser files them ($_GET, $_POST, parse_str) -----------


class PhpName(NamedTuple):
    """Where PHP files a received parameter: under ``name`` in ``$_GET``/``$_POST``, as a plain
    value or, for ``a[]``/``a[x]``, inside an array. ``name`` is empty when PHP drops it."""

    name: str
    is_array: bool


def php_name(raw: str) -> PhpName:
    """The top-level name PHP's query parser gives a decoded parameter name.

    PHP cuts the name at a NUL, strips leading spaces, turns ' ' and '.' into '_', and reads
    a '[' as the start of an array index when a ']' follows somewhere; an unmatched '['
    becomes '_' too (and so do ' ', '.', '[' after it)."""
    name = raw.partition("\0")[0].lstrip(" ")
    bracket = name.find("[")
    head = name if bracket < 0 else name[:bracket]
    head = head.replace(" ", "_").replace(".", "_")
    if bracket < 0:
        return PhpName(head, False)
    if not head:
        return PhpName("", False)  # "[x]=1": no variable name at all, PHP drops it
    if "]" in name[bracket + 1:]:
        return PhpName(head, True)
    tail = name[bracket + 1:]
    for char in " .[":
        tail = tail.replace(char, "_")
    return PhpName(head + "_" + tail, False)


def php_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """The top level of ``$_GET``/``$_POST`` that PHP builds from decoded (name, value) pairs,
    in its order: a repeated name keeps its first place and takes the last value; an array
    (``a[]``, ``a[x]``) replaces a plain value, a plain value replaces an array. Arrays are
    shown as the list of values put into them (nesting is not modelled)."""
    fields: dict[str, str | list[str]] = {}
    for raw, value in pairs:
        seen = php_name(raw)
        if not seen.name:
            continue
        if not seen.is_array:
            fields[seen.name] = value
            continue
        current = fields.get(seen.name)
        if isinstance(current, list):
            current.append(value)
        else:
            fields[seen.name] = [value]
    return fields


# Only these characters make PHP file a name elsewhere: a cheap test before the real one,
# since the listener asks for every callback.
_REWRITTEN_CHARS = lazy(r"[ .\[\0]")


def renames_any(names: Iterable[str]) -> bool:
    """Whether PHP may file any of ``names`` elsewhere (one search for all: nearly always no)."""
    return _REWRITTEN_CHARS.search("".join(names)) is not None


def rewritten_names(names: Iterable[str]) -> list[tuple[str, PhpName]]:
    """The names PHP would not file under themselves, with where it files them."""
    names = list(names)
    if not renames_any(names):
        return []
    return [(raw, seen) for raw in names if _REWRITTEN_CHARS.search(raw)
            if (seen := php_name(raw)).is_array or seen.name != raw]


def colliding_names(names: Iterable[str]) -> dict[str, list[str]]:
    """PHP names that several distinct received names end up as: PHP keeps only one value
    for each (the last one; an array replaces a plain value)."""
    names = list(names)
    if not renames_any(names):
        return {}  # distinct names PHP keeps as they are cannot collide
    groups: dict[str, list[str]] = {}
    for raw in names:
        seen = php_name(raw)
        if seen.name:
            groups.setdefault(seen.name, []).append(raw)
    return {name: raws for name, raws in groups.items() if len(raws) > 1}


# What PHP makes of a name (``php.<id>``).
PHP_TEXTS = {
    "dropped": "{raw!r} is dropped by PHP (no name is left of it)",
    "array": "{raw!r} arrives in PHP as an array {name!r} (its sign covers 'Array')",
    "renamed": "{raw!r} arrives in PHP as {name!r}",
    "gateway_rewrites": "{name}: a PHP gateway signs what it sees, so it will reject this sign — "
                        "use letters, digits and '_' in names",
    "collide": "{shown} are all {name!r} to PHP: it keeps only the last one",
}


php_text = Texts("php", PHP_TEXTS)


def describe_php_name(raw: str, seen: PhpName) -> Text:
    """One phrase: what a PHP gateway or handler makes of ``raw``."""
    if not seen.name:
        return php_text("dropped", raw=raw)
    return php_text("array" if seen.is_array else "renamed", raw=raw, name=seen.name)


def name_rewrite_notes(names: Iterable[str]) -> list[str]:
    """For a signer: warnings about names a PHP gateway reads differently than they were
    signed, so that it computes another string and rejects the sign."""
    notes: list[str] = [php_text("gateway_rewrites", name=describe_php_name(raw, seen))
             for raw, seen in rewritten_names(names)]
    for name, raws in colliding_names(names).items():
        shown = ", ".join(repr(r) for r in raws)
        notes.append(php_text("collide", shown=shown, name=name))
    return notes
