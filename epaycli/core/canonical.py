"""The string an Epay signature covers (PROTOCOL.md §2), with the server variants explicit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

from .ksort import DEFAULT_VERSION, NUMERIC_START, PhpVersion, ksort_names
from .php import TRIM_CHARS, is_blank
from .words import Joined, Text

# Whitespace-only values: the official V1 SDK and older servers sign them ("keep"); newer
# servers and every RSA signer leave them out ("drop"), as PHP's trim() would empty them.
Blanks = Literal["keep", "drop"]

UNSIGNED_FIELDS = frozenset({"sign", "sign_type"})


def blank_fields(params: Mapping[str, str]) -> list[str]:
    """Names whose value is whitespace-only: where the two server variants sign differently."""
    return [name for name, value in params.items() if value and is_blank(value)]


def has_blank_values(params: Mapping[str, str]) -> bool:
    return any(value and is_blank(value) for value in params.values())


# What was in the array when PHP sorted it; empty values are left out of the string either way.
#   unsigned: everything but sign/sign_type (a signer: the merchant SDK's getSign, a gateway
#             building a notify) — empty values still in the array
#   received: everything, sign and sign_type included (a verifier calling getSign($_GET))
#   signed:   only the fields that get signed (older SDKs filter first, then sort)
SortedArray = Literal["unsigned", "received", "signed"]


class SortOrder(NamedTuple):
    """Which PHP sorted the fields (``ksort``), and what was in the array when it did. For
    ordinary names every one of these is plain byte order."""

    version: PhpVersion = DEFAULT_VERSION
    array: SortedArray = "unsigned"

    @property
    def with_sign(self) -> bool:
        return self.array == "received"

    @property
    def name(self) -> str:
        return self.version.value + {"unsigned": "", "received": "+sign",
                                     "signed": "+filtered"}[self.array]

    @property
    def description(self) -> str:
        return Text(f"order.{self.array}", ORDER_TEXTS[self.array], php=self.version.label)


# How each order is named (``order.<array>``; ``{php}`` is the version, "PHP 8.2+").
ORDER_TEXTS = {
    "unsigned": "{php} ksort order",
    "received": "{php} ksort order with sign and sign_type in the array",
    "signed": "{php} ksort order of the signed fields alone (empty values filtered out first)",
    "names_differ": "{names}: PHP versions order names like these differently; signed in "
                    "{signed}, but a gateway using {others} joins them in another order and will "
                    "reject the sign — names that do not look like numbers avoid this",
    "separator": "; ",
}

SIGNER_ORDER = SortOrder()  # what epay signs with: PHP 8.2+, sorted before sign is added
# Every order a PHP signer or verifier may use, the default first.
SORT_ORDERS = tuple(SortOrder(version, array) for version in PhpVersion
                    for array in ("unsigned", "received", "signed"))


def may_look_numeric(names: Iterable[str]) -> bool:
    """Whether some name might be a number to PHP (then the PHP orders can differ).

    Every character a numeric name can start with sorts before ':' and before any letter."""
    return bool(names) and min(names) < ":"


def php_sorted_names(params: Mapping[str, str], order: SortOrder = SIGNER_ORDER,
                     blanks: Blanks = "keep") -> list[str]:
    """The names in the array ``order`` sorts (see ``SortedArray``; ``blanks`` says which
    values count as empty for "signed"), in arrival order, sorted as its PHP sorts them."""
    if order.array == "received":
        names = list(params)
    elif order.array == "unsigned":
        names = [n for n in params if n not in UNSIGNED_FIELDS]
    else:
        names = [n for n, v in params.items() if n not in UNSIGNED_FIELDS and v != ""
                 and (blanks == "keep" or v.strip(TRIM_CHARS))]
    return ksort_names(names, order.version)


def signed_fields(params: Mapping[str, str], *, blanks: Blanks = "keep",
                  order: SortOrder = SIGNER_ORDER) -> list[tuple[str, str]]:
    """The (name, value) pairs a signature covers, in PHP's ``ksort`` order (byte order for
    every ordinary name)."""
    names = sorted(params)
    # Fast path: after a byte sort, a name PHP could read as a number would come first.
    if names and names[0] < ":":
        names = php_sorted_names(params, order, blanks)
    # Two tight comprehensions rather than one with a flag: this runs on every verify.
    if blanks == "keep":
        return [(name, value) for name in names
                if (value := params[name]) != "" and name not in UNSIGNED_FIELDS]
    return [(name, value) for name in names
            if (value := params[name]).strip(TRIM_CHARS) and name not in UNSIGNED_FIELDS]


def join_fields(fields: list[tuple[str, str]]) -> str:
    """``k1=v1&k2=v2`` with raw values: no URL-encoding, no escaping."""
    return "&".join([f"{name}={value}" for name, value in fields])


def canonical_string(params: Mapping[str, str], *, blanks: Blanks = "keep",
                     order: SortOrder = SIGNER_ORDER) -> str:
    """The signed string without the key: sorted, raw, ``sign``/``sign_type``/empties left out."""
    # signed_fields + join_fields in one pass: this is the MD5 verify hot path.
    names = sorted(params)
    if names and names[0] < ":":
        names = php_sorted_names(params, order, blanks)
    if blanks == "keep":
        return "&".join([f"{name}={value}" for name in names
                         if (value := params[name]) != "" and name not in UNSIGNED_FIELDS])
    return "&".join([f"{name}={value}" for name in names
                     if (value := params[name]).strip(TRIM_CHARS) and name not in UNSIGNED_FIELDS])


def other_orders(params: Mapping[str, str], *, blanks: Blanks = "keep") -> list[SortOrder]:
    """The PHP orders that sign ``params`` differently from ``SIGNER_ORDER`` (first of each
    distinct string): empty for ordinary names."""
    if not may_look_numeric(params):
        return []
    seen = {canonical_string(params, blanks=blanks)}
    differing = []
    for order in SORT_ORDERS[1:]:
        string = canonical_string(params, blanks=blanks, order=order)
        if string not in seen:
            seen.add(string)
            differing.append(order)
    return differing


def order_notes(params: Mapping[str, str], *, blanks: Blanks = "keep") -> list[str]:
    """For a signer: a warning when the names make the PHP orders disagree."""
    differing = other_orders(params, blanks=blanks)
    if not differing:
        return []
    numeric = [n for n in params if n[:1] and n[:1] in NUMERIC_START and n not in UNSIGNED_FIELDS]
    shown = ", ".join(repr(n) for n in numeric[:6]) + (" …" if len(numeric) > 6 else "")
    others = Joined("order.separator", ORDER_TEXTS["separator"],
                    [order.description for order in differing])
    return [Text("order.names_differ", ORDER_TEXTS["names_differ"], names=shown,
                 signed=SIGNER_ORDER.description, others=others)]
